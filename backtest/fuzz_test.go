package backtest_test

import (
	"errors"
	"os"
	"testing"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules"
)

// FuzzParseMapping: no panic, and every error points inside the input.
func FuzzParseMapping(f *testing.F) {
	if data, err := os.ReadFile("testdata/tiny.map.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("fields:\n  lead.x: X\n  lead.x: Y\nmissing: [a, [b]]\n"))
	f.Add([]byte("outcome: {a: 1}\nid: [x]\nbogus: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := backtest.ParseMapping("m.yaml", data)
		if err == nil {
			if m == nil {
				t.Fatal("ParseMapping returned neither a mapping nor an error")
			}
			return
		}
		var list rules.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("error %T is not a rules.ErrorList", err)
		}
		lines := 1 // as YAML counts them: \n, \r\n and a lone \r end a line
		for i, c := range data {
			if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
				lines++
			}
		}
		for _, e := range list {
			if e.Pos.File != "m.yaml" || e.Pos.Line < 1 || e.Pos.Line > lines {
				t.Fatalf("error %q points outside the input (%d lines)", e, lines)
			}
		}
	})
}
