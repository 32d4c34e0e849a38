package decisionlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadq/leadq/decisionlog"
)

// BenchmarkLog is the cost Log adds to scoring: a non-blocking send. The
// buffer is large and the writer keeps draining it; entries it drops are
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
			m, err := decisionlog.ParseMask(mask)
			if err != nil {
				b.Fatal(err)
			}
			m.Key = []byte("a key of sixteen bytes or more")
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
