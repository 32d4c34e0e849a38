package decisionlog_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/pgtest"
)

// BenchmarkLog is the cost Log adds to scoring: masking and encoding the
// entry, then a non-blocking send. The buffer is large and the writer keeps draining it; entries it drops are
// reported, since a drop is also cheap.
func BenchmarkLog(b *testing.B) {
	s := newScorer(b)
	l, _ := open(b, decisionlog.WithBuffer(1<<16))
	e := s.entry(b, t0, readExample(b, "vp-fintech.json"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(ctx, e)
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkLogParallel is BenchmarkLog from every core at once, as a busy
// server calls it.
func BenchmarkLogParallel(b *testing.B) {
	s := newScorer(b)
	l, _ := open(b, decisionlog.WithBuffer(1<<16))
	e := s.entry(b, t0, readExample(b, "vp-fintech.json"))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Log(ctx, e)
		}
	})
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkWrite is the writer's throughput: entries logged and flushed to
// the file (masking off), reported as inserts/s.
func BenchmarkWrite(b *testing.B) {
	for _, mask := range []string{"none", "hash"} {
		b.Run("mask="+mask, func(b *testing.B) {
			m := benchMask(b, mask)
			s := newScorer(b)
			l, _ := open(b, decisionlog.WithBuffer(1<<16), decisionlog.WithMask(m))
			e := s.entry(b, t0, readExample(b, "vp-fintech.json"))
			ctx := context.Background()
			start := time.Now()
			n := 0
			for b.Loop() {
				for !l.Log(ctx, e) {
					l.Flush(ctx) // the buffer is full: wait for the writer
				}
				n++
			}
			if err := l.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "inserts/s")
		})
	}
}

// distinctEntries are n decisions about n different leads (the example
// leads with their id, email and company numbered; ten leads a company),
// as a stream of new leads logs them: each with a UUIDv7 id, its email and
// Decided, as the server gives them.
func distinctEntries(b *testing.B, n int) []decisionlog.Entry {
	return distinctEntriesOf(b, n, engine.Full)
}

func distinctEntriesOf(b testing.TB, n int, detail engine.Detail) []decisionlog.Entry {
	b.Helper()
	s := newScorer(b)
	docs := exampleDocs(b)
	out := make([]decisionlog.Entry, n)
	for i := range out {
		doc, _ := decisionlog.DistinctLead(docs[i%len(docs)], i)
		input, err := json.Marshal(doc)
		if err != nil {
			b.Fatal(err)
		}
		at := t0.Add(time.Duration(i) * time.Millisecond)
		// As the server decides and logs: the email the decoder read, and
		// Decided (the depth it checked is the one Log relies on).
		var d engine.Decision
		opts := engine.Options{Clock: clock, Detail: detail, MaxDepth: decisionlog.DecidedDepth}
		email, err := s.rs.ScoreJSONEmail(context.Background(), input, opts, &d)
		if err != nil {
			b.Fatal(err)
		}
		d.ID = uuid.Must(uuid.NewV7()).String()
		out[i] = decisionlog.Entry{Time: at, Decision: d, Ruleset: s.rs, Input: input, Email: email, Decided: true}
	}
	return out
}

// BenchmarkLogLeads is what Log costs the scoring goroutine a brief
// decision about a new lead (the stream's case), as cpu-µs/decision: Log's
// own time, its entries prepared beforehand and the buffer large enough
// that it never waits; the writer runs beside it (on SQLite) and is not
// counted.
func BenchmarkLogLeads(b *testing.B) {
	for _, mask := range []string{"none", "hash"} {
		b.Run("mask="+mask, func(b *testing.B) {
			m := benchMask(b, mask)
			entries := distinctEntriesOf(b, b.N, engine.Brief)
			l, _ := open(b, decisionlog.WithMask(m), decisionlog.WithIndexing(time.Hour, 1<<30))
			ctx := context.Background()
			runtime.GC()
			b.ResetTimer()
			for _, e := range entries {
				l.Log(ctx, e)
			}
			b.StopTimer()
			if err := l.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkWriteLeads is the writer's cost a decision about a new lead:
// the CPU time of the whole process (writer, driver, garbage collector;
// not a PostgreSQL server's) while it stores b.N decisions prepared
// beforehand in the journal, as cpu-µs/decision, and its pace as
// decisions/s, at the default buffer (Log waits for the writer, as under
// bulk traffic; a buffer of b.N would have Log fill a fresh part of
// journalPart for each batch, the page faults of which the server does
// not pay); then the indexer's, moving them into the indexed tables
// (Index), as index-cpu-µs/decision. Brief decisions are the stream's
// case (detail=brief); they store the same input, and a masked one keeps
// a shorter decision aside.
func BenchmarkWriteLeads(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, mask := range []string{"none", "hash"} {
			for _, detail := range []struct {
				name   string
				detail engine.Detail
			}{{"full", engine.Full}, {"brief", engine.Brief}} {
				b.Run(backend+"/mask="+mask+"/detail="+detail.name, func(b *testing.B) {
					writeLeads(b, backend, mask, detail.detail)
				})
			}
		}
	}
}

func writeLeads(b *testing.B, backend, mask string, detail engine.Detail) {
	target := filepath.Join(b.TempDir(), "decisions.db")
	if backend == "postgres" {
		target = pgtest.Database(b)
	}
	m := benchMask(b, mask)
	entries := distinctEntriesOf(b, b.N, detail)
	l, _ := openAt(b, target, decisionlog.WithMask(m), decisionlog.WithIndexing(time.Hour, 1<<30))
	ctx := context.Background()
	runtime.GC()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for _, e := range entries {
		l.Log(ctx, e)
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/decision")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
	cpu0 = cpuTime()
	if err := l.Index(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "index-cpu-µs/decision")
	if got := l.Written(); got != uint64(b.N) {
		b.Fatalf("written %d of %d", got, b.N)
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchMask is the mask a benchmark names (none, hash, drop), with a key.
func benchMask(b testing.TB, name string) decisionlog.Mask {
	b.Helper()
	m, err := decisionlog.ParseMask(name)
	if err != nil {
		b.Fatal(err)
	}
	m.Key = []byte("a key of sixteen bytes or more")
	return m
}
