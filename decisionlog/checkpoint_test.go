package decisionlog_test

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// walState reads SQLite's WAL index (the -shm file, as
// https://sqlite.org/walformat.html lays it out): how many frames the
// write-ahead log holds (mxFrame, in the index header at offset 16) and how
// many of them a checkpoint has copied into the database file (nBackfill,
// in the checkpoint information at offset 96). Both are native-endian
// 32-bit words.
func walState(t *testing.T, path string) (frames, backfilled uint32) {
	t.Helper()
	shm, err := os.ReadFile(path + "-shm")
	if err != nil {
		t.Fatal(err)
	}
	if len(shm) < 100 {
		t.Fatalf("%s-shm: %d bytes, not a WAL index", path, len(shm))
	}
	return binary.NativeEndian.Uint32(shm[16:]), binary.NativeEndian.Uint32(shm[96:])
}

// TestCheckpointWhenIdle: a burst of entries is appended to the
// write-ahead log without copying it back into the database file (a
// checkpoint on the writer goroutine as the burst goes costs as much CPU
// as the appends); once the writer is idle, has indexed the journal and
// checkpointed, every frame is in the database file, so that the next
// burst starts with an empty write-ahead log.
func TestCheckpointWhenIdle(t *testing.T) {
	entries := distinctEntriesOf(t, 600, engine.Brief)
	// A transaction an entry: more frames than SQLite's default bound
	// (1,000) with a few entries.
	l, path := open(t, decisionlog.WithIndexing(time.Hour, 1<<30), decisionlog.WithBatch(1))
	ctx := context.Background()
	for _, e := range entries {
		l.Log(ctx, e)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	frames, backfilled := walState(t, path)
	t.Logf("after the burst: %d frames, %d checkpointed", frames, backfilled)
	if frames <= 1000 || backfilled != 0 {
		t.Fatalf("after the burst: %d frames in the write-ahead log, %d checkpointed; want more than 1,000, none", frames, backfilled)
	}

	l2, path2 := open(t, decisionlog.WithIndexing(10*time.Millisecond, 1<<30))
	for _, e := range entries {
		l2.Log(ctx, e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		frames, backfilled := walState(t, path2)
		if l2.Health().Unindexed == 0 && frames > 0 && backfilled == frames {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle for 30 s: %d unindexed, %d frames in the write-ahead log, %d checkpointed; want 0 and all", l2.Health().Unindexed, frames, backfilled)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
