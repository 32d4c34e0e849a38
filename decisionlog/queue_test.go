package decisionlog

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/leadq/leadq/engine"
)

// TestQueueMemory bounds the live memory of a full queue at the default
// sizes (queueing): every part filled with brief decisions about the
// example leads, with the writer held, and the writer's compressed copy
// of a part.
func TestQueueMemory(t *testing.T) {
	entries := leadEntries(t, 1000, engine.Brief)
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "decisions.db"), WithOverflow(OverflowDrop))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer holdWriter(l)()

	before := liveHeap()
	n := 0
	for l.Log(ctx, entries[n%len(entries)]) {
		n++
	}
	queued := liveHeap() - before
	runtime.KeepAlive(entries) // live at before: not to be counted as freed
	// The buffer, and the part the writer would be writing meanwhile.
	if want := DefaultBuffer + DefaultBatch; n != want {
		t.Fatalf("the parts took %d entries; want DefaultBuffer and a batch (%d)", n, want)
	}
	if h := l.Health(); h.Queued != n || h.Buffer != n {
		t.Errorf("Health says %d queued, room for %d; want both %d: the parts are full", h.Queued, h.Buffer, n)
	}
	total := queued + uint64(s2.MaxEncodedLen(journalPart+journalPart/8))
	t.Logf("%d entries queued: %d bytes live (%d an entry); with the writer's compressed part: %d", n, queued, queued/uint64(n), total)
	const limit = 8 << 20
	if total > limit {
		t.Errorf("a full queue holds %d bytes; want at most %d", total, limit)
	}
}

// holdWriter holds l's writer between two parts until release is called:
// what Log is given meanwhile waits in parts.
func holdWriter(l *Log) (release func()) {
	held, done := make(chan struct{}), make(chan struct{})
	go l.onWriter(context.Background(), func() { close(held); <-done })
	<-held
	return func() { close(done) }
}

// liveHeap is the heap's live bytes after two collections (the second
// frees what sync.Pools held at the first).
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestLingerEndsWithABatch: the writer, lingering for a part to fill
// once its first entry has come, takes the part as soon as Log has filled
// it (a batch), not when its wait is over (a wait of an hour here): under
// bulk traffic the buffer filled during the wait and callers waited for
// room.
func TestLingerEndsWithABatch(t *testing.T) {
	// The first entry, then ten: the part the first began then holds a
	// batch (8), which must end the linger.
	entries := leadEntries(t, 11, engine.Brief)
	ctx := context.Background()
	hour := func(c *config) { c.linger = time.Hour }
	l, err := Open(ctx, filepath.Join(t.TempDir(), "decisions.db"), WithBatch(8), WithBuffer(64), hour)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Log(ctx, entries[0])
	time.Sleep(10 * time.Millisecond) // most often, the writer lingers by now
	for _, e := range entries[1:] {
		l.Log(ctx, e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.Written() < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after a batch was queued the writer has written %d entries; want a batch (8) at least: it is still lingering", l.Written())
		}
		time.Sleep(time.Millisecond)
	}
	// What is left is less than a batch: the writer lingers for more,
	// and Close ends the wait and writes it.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l.Written() != uint64(len(entries)) {
		t.Errorf("written %d of %d after Close", l.Written(), len(entries))
	}
}
