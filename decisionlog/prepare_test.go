package decisionlog

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// leadEntries are n decisions about n different leads of the example
// leads (id, email and company numbered), with a UUIDv7 id each, as a
// stream logs them.
func leadEntries(t testing.TB, n int, detail engine.Detail) []Entry {
	t.Helper()
	sets, err := rules.LoadPaths("../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	var rs *engine.Ruleset
	for _, s := range sets {
		if s.Name == "b2b-saas" {
			rs = engine.NewRuleset(s)
		}
	}
	files, _ := filepath.Glob("../examples/leads/*.json")
	var docs []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc)
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	out := make([]Entry, n)
	for i := range out {
		doc := cloneMap(docs[i%len(docs)])
		lead := doc
		if l, ok := doc["lead"].(map[string]any); ok {
			lead = cloneMap(l)
			doc["lead"] = lead
		}
		doc["id"] = fmt.Sprintf("00Q%08d", i)
		lead["email"] = fmt.Sprintf("lead.%d@company%d.example", i, i/10)
		lead["company"] = fmt.Sprintf("Company %d Holdings", i/10)
		input, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := rs.ScoreJSON(context.Background(), input, engine.Options{Clock: func() time.Time { return at }, Detail: detail})
		if err != nil {
			t.Fatal(err)
		}
		d.ID = uuid.Must(uuid.NewV7()).String()
		out[i] = Entry{Time: at, Decision: d, Ruleset: rs, Input: input}
	}
	return out
}

// BenchmarkPrepare is what Log costs the scoring goroutine for a brief
// decision about a new lead, short of the send: the row and its encoding
// (without a mask), and the writer's recycling of the row. Its
// instructions are counted under callgrind.
func BenchmarkPrepare(b *testing.B) {
	entries := leadEntries(b, 1000, engine.Brief)
	l := &Log{cfg: newConfig(nil)}
	kept := make([]*row, 64) // rows in flight to the writer, who recycles them
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(kept)
		if kept[k] != nil {
			l.recycle(kept[k])
		}
		kept[k] = l.newRow()
		l.prepare(entries[i%len(entries)], kept[k])
		i++
	}
}
