package derive_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
)

// TestMemory derives from LEADQ_DERIVE_MEMORY_ROWS generated rows (the
// issue's bound: 1,000,000 rows in 200 MB) and fails when the memory the
// process holds from the system (Sys less HeapReleased, sampled every
// 20 ms) goes over 200 MB. It takes about a minute for a million rows, so
// it runs only when asked:
//
//	LEADQ_DERIVE_MEMORY_ROWS=1000000 go test -run TestMemory -v ./derive
func TestMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LEADQ_DERIVE_MEMORY_ROWS"))
	if n <= 0 {
		t.Skip("set LEADQ_DERIVE_MEMORY_ROWS to the number of rows, e.g. 1000000")
	}
	const limit = 200 << 20
	open := func() (backtest.Source, error) {
		return backtest.NewReader(&rowGen{left: n, rng: rand.New(rand.NewPCG(1, 2))}, backtest.ReaderOptions{Name: "gen.csv"})
	}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.Sys-m.HeapReleased)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	out, _ := backtest.ParseOutcome("won=1")
	res, err := derive.Derive(context.Background(), open, derive.Options{Best: derive.Best{Outcome: &out}, Now: now, Holdout: 0.3, Seed: 1, HoldOut: discard{}})
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rows (%d training), %d rules, cross-validated AUC %.3f; peak memory from the system %d MB",
		res.Rows, res.TrainRows, len(res.Ruleset.Rules), res.CVAUC, peak>>20)
	if peak > limit {
		t.Errorf("peak memory %d MB for %d rows; want at most %d MB", peak>>20, n, limit>>20)
	}
}

type discard struct{}

func (discard) WriteRow([]string, backtest.Record) error { return nil }

// rowGen writes CSV rows like a lead export: categories, counts, amounts
// with many distinct values (counted coarsely), a date, gaps, and an
// outcome that depends on some of them.
type rowGen struct {
	left   int
	rng    *rand.Rand
	buf    []byte
	header bool
}

var genSources = []string{"web", "referral", "event", "ads", "partner", "email", "phone", "other"}

func (g *rowGen) Read(p []byte) (int, error) {
	for len(g.buf) < len(p) && (g.left > 0 || !g.header) {
		if !g.header {
			g.buf = append(g.buf, "id,source,country,visits,seconds,amount,employees,signed_up,newsletter,score,won\n"...)
			g.header = true
			continue
		}
		r := g.rng
		src := r.IntN(len(genSources))
		visits := r.IntN(40)
		seconds := r.IntN(3000)
		amount := r.ExpFloat64() * 5000
		emp := ""
		if r.IntN(5) > 0 {
			emp = strconv.Itoa(1 + r.IntN(20000))
		}
		eta := -1.5 + float64(src%3)*0.6 + float64(seconds)/1500 + float64(visits)/40
		won := 0
		if r.Float64() < 1/(1+math.Exp(-eta)) {
			won = 1
		}
		g.buf = fmt.Appendf(g.buf, "%d,%s,c%d,%d,%d,%.2f,%s,2026-%02d-%02d,%s,%.4f,%d\n",
			g.left, genSources[src], r.IntN(30), visits, seconds, amount, emp, 1+r.IntN(12), 1+r.IntN(28),
			[]string{"yes", "no"}[r.IntN(2)], r.Float64(), won)
		g.left--
	}
	if len(g.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, g.buf)
	g.buf = g.buf[:copy(g.buf, g.buf[k:])]
	return k, nil
}
