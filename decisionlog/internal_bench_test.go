package decisionlog

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
)

// BenchmarkLogDraining is Log against a writer that drains the channel and
// discards the batches, so that the measure is the send, not SQLite
// (BenchmarkWrite measures the writer). A loop of nothing but Log outruns
// even that writer, so the result mixes accepted sends (contending with the
// writer for the channel) and drops: dropped/op says the share of drops.
func BenchmarkLogDraining(b *testing.B) {
	l, err := Open(context.Background(), filepath.Join(b.TempDir(), "decisions.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.store = func([]Entry) error { return nil } // before any Log: the writer reads it after receiving
	e := Entry{Time: time.Now(), Decision: engine.Decision{LeadID: "00Q5e00001AbCdE", Tier: "A"}, Input: []byte(`{"id": "00Q5e00001AbCdE"}`)}
	b.Run("serial", func(b *testing.B) {
		before := l.Dropped()
		b.ReportAllocs()
		for b.Loop() {
			l.Log(e)
		}
		b.ReportMetric(float64(l.Dropped()-before)/float64(b.N), "dropped/op")
	})
	b.Run("parallel", func(b *testing.B) {
		before := l.Dropped()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Log(e)
			}
		})
		b.ReportMetric(float64(l.Dropped()-before)/float64(b.N), "dropped/op")
	})
}

// BenchmarkLogAccepted is the cost of an accepted Log in steady state: a
// warm buffer with room, and a writer parked on a batch (as when it is
// inside a transaction). Between rounds the writer drains the buffer, off
// the clock.
func BenchmarkLogAccepted(b *testing.B) {
	const buffer, round = 4096, 3000 // the writer may hold a batch of 512 in hand
	l, err := Open(context.Background(), filepath.Join(b.TempDir(), "decisions.db"), WithBuffer(buffer))
	if err != nil {
		b.Fatal(err)
	}
	gate := make(chan struct{})
	l.store = func([]Entry) error { <-gate; return nil } // before any Log: the writer reads it after receiving
	defer func() { close(gate); l.Close() }()
	e := Entry{Time: time.Now(), Decision: engine.Decision{LeadID: "00Q5e00001AbCdE", Tier: "A"}, Input: []byte(`{"id": "00Q5e00001AbCdE"}`)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%round == round-1 {
			b.StopTimer()
			done := make(chan struct{})
			go func() { l.Flush(context.Background()); close(done) }()
		drain:
			for {
				select {
				case gate <- struct{}{}:
				case <-done:
					break drain
				}
			}
			b.StartTimer()
		}
		if !l.Log(e) {
			b.Fatal("Log dropped with room in the buffer")
		}
	}
}
