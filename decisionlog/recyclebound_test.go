package decisionlog

import "testing"

// TestRecycleBound: the rows the writer gives back to Log (recycle) keep
// buffers of at most maxRecycled: a row whose request outgrew it is left
// to the collector whole, and a decision's JSON (extra) that outgrew it
// is not kept as the row's buffer. Rows within the bound are kept,
// emptied. sync.Pool may drop what it was given, never hand back what it
// was not: the test looks at everything the pool holds after each
// recycle, and a kept row need only show up once in many rounds.
func TestRecycleBound(t *testing.T) {
	l := &Log{}
	rows := []struct {
		name string
		row  func() *row
	}{
		{"huge request", func() *row { return &row{input: make([]byte, maxRecycled+1), rules: []byte{1}} }},
		{"huge extra", func() *row {
			return &row{input: make([]byte, 100), extra: make([]byte, maxRecycled+1), extraBuf: make([]byte, 0, 100)}
		}},
		{"huge extra, no buffer", func() *row { return &row{input: make([]byte, 100), extra: make([]byte, maxRecycled+1)} }},
		{"small", func() *row {
			return &row{input: make([]byte, 100), extra: make([]byte, 200), email: "a@b.example", raw: true}
		}},
	}
	kept := 0
	for range 20 {
		for _, tc := range rows {
			l.recycle(tc.row())
			for {
				r, ok := l.rows.Get().(*row)
				if !ok {
					break
				}
				kept++
				if cap(r.input) > maxRecycled || cap(r.extraBuf) > maxRecycled {
					t.Fatalf("%s: the pool keeps a row with buffers of %d and %d bytes; want at most %d", tc.name, cap(r.input), cap(r.extraBuf), maxRecycled)
				}
				if len(r.input) != 0 || r.extra != nil || r.email != "" || r.raw {
					t.Fatalf("%s: the pool keeps a row that is not empty: %+v", tc.name, r)
				}
			}
		}
	}
	if kept == 0 {
		t.Error("no row was kept for the next decision")
	}
}
