package derive_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
)

// FuzzDerive feeds arbitrary CSV to Derive with a fixed best column. Derive
// may refuse the data, but whatever it proposes must compile without
// warnings and pass its own tests: values with quotes, backslashes,
// braces or odd Unicode must not break the generated YAML or expressions.
func FuzzDerive(f *testing.F) {
	if data, err := os.ReadFile("testdata/industry.csv"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("best,v\n1,\"a'b\"\n0,c\\\\d\n1,\"a'b\"\n0,{{x}}\n1,\"a'b\"\n0,é\n"))
	f.Add([]byte("best,n,d\n1,1.5,2020-01-01\n0,-3,2021-02-03\n1,1.5,2020-01-01\n0,1e3,1999-12-31\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		open := func() (backtest.Source, error) {
			return backtest.NewReader(bytes.NewReader(data), backtest.ReaderOptions{Format: backtest.FormatCSV})
		}
		rd, err := open()
		if err != nil {
			return
		}
		cols, _ := rd.Columns()
		if len(cols) == 0 || cols[0] != "best" {
			return
		}
		out, _ := backtest.ParseOutcome("best=1")
		var buf bytes.Buffer
		w := derive.NewRowWriter(&buf, false, ',')
		res, err := derive.Derive(context.Background(), open, derive.Options{
			Best: derive.Best{Outcome: &out}, Now: now, MinBin: 0.01, Folds: 2, Holdout: 0.25, Seed: 3, HoldOut: w,
		})
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		if rs := compileChecked(t, res.YAML); len(rs.Tiers) == 0 {
			t.Fatal("the proposal has no tiers")
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if _, err := backtest.ParseMapping("map.yaml", res.MappingYAML()); err != nil {
			t.Fatalf("the mapping does not parse: %v\n%s", err, res.MappingYAML())
		}
	})
}
