package decisionlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// The writer gives the parts it has written back to Log, which fills them
// with later decisions, and Log encodes each entry in buffers it keeps for
// the next (parts.go): a decision must never be stored with anything of an
// earlier one. Thousands of distinct decisions (brief and full, inputs of
// every length, some above the size Log's buffers keep, some stored whole
// without their version, some Decided) are logged from several goroutines
// through a small buffer, so that parts and buffers go round many times,
// and each is read back exactly, from the journal and from the indexed
// tables.
func TestReusedBuffersKeepNothing(t *testing.T) { backends(t, testReusedBuffersKeepNothing) }

func testReusedBuffersKeepNothing(t *testing.T, target string) {
	n := 1000
	if testing.Short() {
		n = 400
	}
	s := newScorer(t)
	docs := exampleDocs(t)
	ctx := context.Background()
	entries := make([]decisionlog.Entry, n)
	answers := make([][]byte, n) // as read back: brief decisions are rebuilt in full
	for i := range entries {
		doc, lead := decisionlog.DistinctLead(docs[i%len(docs)], i)
		lead["notes"] = strings.Repeat("n", i*37%500) // unread: inputs of every length
		if i%97 == 0 {
			lead["notes"] = strings.Repeat("large ", 4000) // larger than Log's buffers keep
		}
		input, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		id := uuid.Must(uuid.NewV7())
		sec, nsec := id.Time().UnixTime()
		opts := engine.Options{Clock: func() time.Time { return time.Unix(sec, nsec) }}
		full, err := s.rs.ScoreJSON(ctx, input, opts)
		if err != nil {
			t.Fatal(err)
		}
		full.ID = id.String()
		d := full
		if i%2 == 1 {
			opts.Detail = engine.Brief
			if d, err = s.rs.ScoreJSON(ctx, input, opts); err != nil {
				t.Fatal(err)
			}
			d.ID = id.String()
		}
		answers[i] = full.AppendJSON(nil)
		e := decisionlog.Entry{Time: t0, Decision: d, Ruleset: s.rs, Input: input}
		if i%7 == 3 && i%2 == 0 { // full: a brief decision stored whole reads back with empty lists
			e.Ruleset = nil // stored whole: prepare's other path, which replaces the row's input
			answers[i] = d.AppendJSON(nil)
		}
		if i%5 == 2 {
			e.Email = fmt.Sprintf("given.%d@x.example", i)
		}
		e.Decided = i%3 == 0 // ScoreJSON decided it: stored as it came, unscanned
		entries[i] = e
	}
	l, _ := openAt(t, target, decisionlog.WithBuffer(32), decisionlog.WithBatch(8), decisionlog.WithIndexing(time.Hour, 1<<30))
	var wg sync.WaitGroup
	const callers = 4
	for c := range callers {
		wg.Go(func() {
			for i := c; i < n; i += callers {
				// The caller's buffer is reused, as a stream reuses its
				// line's: Log must be done with it when it returns.
				e := entries[i]
				e.Input = bytes.Clone(e.Input)
				if !l.Log(ctx, e) {
					t.Errorf("Log(%s) = false; want true", e.Decision.LeadID)
				}
				clear(e.Input)
			}
		})
	}
	wg.Wait()
	check := func(where string) {
		t.Helper()
		for i, e := range entries {
			got, err := l.Get(ctx, e.Decision.ID)
			if err != nil {
				t.Fatalf("%s: Get(%s) of entry %d: %v", where, e.Decision.ID, i, err)
			}
			if g, w := got.Decision.AppendJSON(nil), answers[i]; !bytes.Equal(g, w) {
				t.Fatalf("%s: entry %d read back as\n%s\nwant\n%s", where, i, g, w)
			}
			want := e.Email
			if want == "" {
				want = fmt.Sprintf("lead.%d@company%d.example", i, i/10)
			}
			if got.Email != want || got.LeadID != e.Decision.LeadID {
				t.Fatalf("%s: entry %d stored with lead %q, email %q; want %q, %q", where, i, got.LeadID, got.Email, e.Decision.LeadID, want)
			}
			if e.Ruleset != nil {
				var doc, sent map[string]any
				if err := json.Unmarshal(got.Input, &doc); err != nil {
					t.Fatalf("%s: entry %d: stored input %s: %v", where, i, got.Input, err)
				}
				json.Unmarshal(e.Input, &sent)
				if g, w := leadOf(doc)["notes"], leadOf(sent)["notes"]; g != w {
					t.Fatalf("%s: entry %d stored with notes of %d bytes; want %d", where, i, len(fmt.Sprint(g)), len(fmt.Sprint(w)))
				}
			}
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("journal")
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	check("indexed")
	if got := l.Written(); got != uint64(n) {
		t.Errorf("Written() = %d; want %d", got, n)
	}
}

// leadOf is the lead of a request, enveloped or bare.
func leadOf(doc map[string]any) map[string]any {
	if l, ok := doc["lead"].(map[string]any); ok {
		return l
	}
	return doc
}
