package backtest_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules"
)

// FuzzReader feeds arbitrary bytes to the CSV and JSONL readers: no panic,
// no endless loop, and every record and row error points at a line of the
// input.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"testdata/tiny.csv", "testdata/rows.jsonl"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data, name == "testdata/rows.jsonl")
		}
	}
	f.Add([]byte("a,b\n\"1,2\n"), false)
	f.Add([]byte("a;b\n1;\"x\"\"y\"\n2\n"), false)
	f.Add([]byte("{\"lead\": {\"x\": 1}}\n{]\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		format := backtest.FormatCSV
		if jsonl {
			format = backtest.FormatJSONL
		}
		rd, err := backtest.NewReader(bytes.NewReader(data), backtest.ReaderOptions{Format: format})
		if err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > len(data)+2 {
				t.Fatalf("more reads than bytes: the reader does not advance")
			}
			rec, err := rd.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			var re *backtest.RowError
			switch {
			case errors.As(err, &re):
				if re.Line < 1 || re.Line > lines {
					t.Fatalf("row error on line %d; the input has %d lines", re.Line, lines)
				}
			case err != nil:
				return // an I/O-level error ends the stream
			default:
				if rec.Line < 1 || rec.Line > lines {
					t.Fatalf("record on line %d; the input has %d lines", rec.Line, lines)
				}
				cols, _ := rd.Columns()
				for _, c := range cols {
					_ = rec.Text(c)
				}
			}
		}
	})
}

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
