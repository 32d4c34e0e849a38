package decisionlog

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/engine"
)

// leadEntries are n decisions about n different leads of the example
// leads (id, email and company numbered), with a UUIDv7 id each, as a
// server logs them (Decided).
func leadEntries(t testing.TB, n int, detail engine.Detail) []Entry {
	t.Helper()
	rs := B2BSaaS(t)
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
		doc, _ := DistinctLead(docs[i%len(docs)], i)
		input, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		d, err := rs.ScoreJSON(context.Background(), input, engine.Options{Clock: func() time.Time { return at }, Detail: detail, MaxDepth: DecidedDepth})
		if err != nil {
			t.Fatal(err)
		}
		d.ID = uuid.Must(uuid.NewV7()).String()
		out[i] = Entry{Time: at, Decision: d, Ruleset: rs, Input: input, Decided: true}
	}
	return out
}

// BenchmarkPrepare is what Log costs the scoring goroutine for a brief
// decision about a new lead, short of the append to a part: the row, its
// encoding (without a mask) in Log's scratch space and its filter keys,
// with the email the engine read (as the server logs it; without it, Log
// reads it from the request). Its instructions are counted under
// callgrind.
func BenchmarkPrepare(b *testing.B) {
	entries := leadEntries(b, 1000, engine.Brief)
	for i := range entries {
		var d engine.Decision
		email, err := entries[i].Ruleset.ScoreJSONEmail(context.Background(), entries[i].Input, engine.Options{Detail: engine.Brief, MaxDepth: DecidedDepth}, &d)
		if err != nil || email == "" {
			b.Fatalf("entry %d: email %q (%v)", i, email, err)
		}
		entries[i].Email = email
	}
	preparing(b, &Log{cfg: newConfig(nil)}, entries)
}

// preparing times l.prepare on the entries in turn, in one scratch space,
// as Log calls it.
func preparing(b *testing.B, l *Log, entries []Entry) {
	s := &scratch{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := entries[i%len(entries)] // Log's copy
		var r row
		l.prepare(&e, &r, s)
		s.keep(&r)
		i++
	}
}

// FuzzDecidedIsRawObject holds the engine to what Entry.Decided tells
// Log: a request ScoreJSON decides with Options.MaxDepth up to
// DecidedDepth is one JSON object as rawObject reads it.
func FuzzDecidedIsRawObject(f *testing.F) {
	entries := leadEntries(f, 7, engine.Brief)
	for _, e := range entries {
		f.Add(e.Input)
	}
	nested := func(n int) string { return `{"a": ` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}` }
	for _, s := range []string{`{}`, ` {"lead": {}} `, `{"id": "x"} {}`, `{"id": 1}}`, `{"id": 1}]`, `{"a": [[[[1]]]]}`,
		`{"lead": {"email": "a@b.example", "x": {"y": [1, 2, {"z": null}]}}}`, `{"employees": 1e400}`, "{\"title\": \"\xff\"}",
		`{"a": "\ud800"}`, `{"a": 01}`, `{"a": -}`, `{"a": tru}`, `{"a" : [1,]}`, "{\"a\": \"\t\"}", `{"a": 1,}`,
		nested(DecidedDepth), nested(DecidedDepth + 1), `{"lead": ` + nested(DecidedDepth-1) + `}`} {
		f.Add([]byte(s))
	}
	rs := entries[0].Ruleset
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, depth := range []int{DecidedDepth, 4} {
			if _, err := rs.ScoreJSON(context.Background(), data, engine.Options{MaxDepth: depth}); err == nil && !rawObject(data) {
				t.Errorf("ScoreJSON(%q) with MaxDepth %d decided it; rawObject = false", data, depth)
			}
		}
	})
}
