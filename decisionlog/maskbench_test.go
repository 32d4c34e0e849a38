package decisionlog

import (
	"sync"
	"testing"

	"github.com/leadq/leadq/engine"
)

// BenchmarkPrepareMasked is BenchmarkPrepare with --log-mask hash (the
// default fields): what Log costs the scoring goroutine for a decision
// about a new lead when the log masks personal data. Its instructions are
// counted under callgrind.
func BenchmarkPrepareMasked(b *testing.B) {
	for _, detail := range []engine.Detail{engine.Brief, engine.Full} {
		name := map[engine.Detail]string{engine.Brief: "brief", engine.Full: "full"}[detail]
		b.Run(name, func(b *testing.B) {
			entries := leadEntries(b, 1000, detail)
			m, err := ParseMask("hash")
			if err != nil {
				b.Fatal(err)
			}
			m.Key = []byte("a key of sixteen bytes or more")
			l := &Log{cfg: newConfig([]Option{WithMask(m.withMACs())}), scanners: sync.Pool{New: func() any { return &scanner{} }}}
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
		})
	}
}
