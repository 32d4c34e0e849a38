package backtest_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/leadq/leadq/backtest"
)

// BenchmarkRun backtests testdata/tiny.yaml on 10,000 generated rows:
// reading, mapping, scoring and aggregating, as `leadq backtest` does.
func BenchmarkRun(b *testing.B) {
	rs := loadRuleset(b, "testdata/tiny.yaml")
	var data bytes.Buffer
	data.WriteString("id;Industry;Employees;Country;Converted\n")
	industries := []string{"software", "retail", "fintech", "Select"}
	countries := []string{"US", "CA", "DE"}
	for i := range 10000 {
		fmt.Fprintf(&data, "%d;%s;%d;%s;%d\n", i, industries[i%4], (i*37)%700, countries[i%3], (i/3)%2)
	}
	m := &backtest.Mapping{Missing: []string{"", "Select"}}
	out, _ := backtest.ParseOutcome("Converted=1")
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		rd, err := backtest.NewReader(bytes.NewReader(data.Bytes()), backtest.ReaderOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cols, complete := rd.Columns()
		bd, err := backtest.NewBinder(rs, cols, complete, m)
		if err != nil {
			b.Fatal(err)
		}
		r, err := backtest.Run(context.Background(), rs, rd, backtest.Options{Binder: bd, Outcome: out, Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil || r.Rows.Scored != 10000 {
			b.Fatalf("Run: %v, %d scored", err, r.Rows.Scored)
		}
	}
}
