package decisionlog

import "testing"

// TestScratchBound: Log keeps the buffers prepare filled for the next
// entry (scratch.keep), emptied, but not one a rare large entry grew past
// maxScratch, and never a raw row's input, which is the caller's.
func TestScratchBound(t *testing.T) {
	caller := make([]byte, 100)
	for _, tc := range []struct {
		name                string
		row                 row
		input, rules, extra bool // kept
	}{
		{"small", row{input: make([]byte, 100), rules: []byte{1}, extra: make([]byte, 200)}, true, true, true},
		{"raw", row{input: caller, rules: []byte{1}, raw: true}, false, true, false},
		{"huge request", row{input: make([]byte, maxScratch+1), rules: []byte{1}}, false, true, false},
		{"huge extra", row{input: make([]byte, 100), extra: make([]byte, maxScratch+1)}, true, false, false},
	} {
		var s scratch
		s.keep(&tc.row)
		for _, b := range []struct {
			name      string
			got, from []byte
			want      bool
		}{{"input", s.input, tc.row.input, tc.input}, {"rules", s.rules, tc.row.rules, tc.rules}, {"extra", s.extra, tc.row.extra, tc.extra}} {
			kept := cap(b.got) > 0 && &b.got[:1][0] == &b.from[:1][0]
			if kept != b.want {
				t.Errorf("%s: %s kept = %v; want %v", tc.name, b.name, kept, b.want)
			}
			if len(b.got) != 0 {
				t.Errorf("%s: %s kept with %d bytes in it; want it empty", tc.name, b.name, len(b.got))
			}
		}
	}
}

// TestPartBound: a part the writer gives back keeps its buffer for the
// next entries, emptied, unless a rare large entry grew it past
// maxPartCap.
func TestPartBound(t *testing.T) {
	l := &Log{free: make(chan *part, 2)}
	small := &part{data: make([]byte, 10, journalPart), n: 3, versions: []partVersion{{}}}
	huge := &part{data: make([]byte, maxPartCap+1), n: 1}
	l.reuse(small)
	l.reuse(huge)
	if p := <-l.free; cap(p.data) != journalPart || p.n != 0 || p.versions != nil {
		t.Errorf("a part within the bound came back with %d bytes of room, %d rows, versions %v; want its buffer, no rows, no versions", cap(p.data), p.n, p.versions)
	}
	if p := <-l.free; p.data != nil || p.n != 0 {
		t.Errorf("a part past the bound came back with %d bytes of room and %d rows; want no buffer, no rows", cap(p.data), p.n)
	}
}
