package derive

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBandEdges(t *testing.T) {
	// 30 zeros, then 1..70: quintile cut points at ranks 20, 40, 60, 80 are
	// 0, 11, 31, 51; zero holds 30% (over a fifth) so it gets a band of its
	// own, ending at the next value, 1. Edges at the minimum are dropped.
	var vals []float64
	for range 30 {
		vals = append(vals, 0)
	}
	for v := 1; v <= 70; v++ {
		vals = append(vals, float64(v))
	}
	if got, want := bandEdges(vals, 5, false), []float64{1, 11, 31, 51}; !cmp.Equal(got, want) {
		t.Errorf("bandEdges(zeros + 1..70, 5) = %v; want %v", got, want)
	}
	// Floats: quantiles rounded to 3 significant digits.
	floats := []float64{0.1234, 0.2345, 1.23456, 2.34567, 3.45678, 4.56789, 5.6789, 6.7891, 7.8912, 8.9123}
	if got, want := bandEdges(floats, 2, true), []float64{4.57}; !cmp.Equal(got, want) {
		t.Errorf("bandEdges(floats, 2) = %v; want %v", got, want)
	}
	// A float mass: 2.5 holds 60%; its band ends at a round number above it
	// and not above the next value, 2.56789: 2.56.
	mass := []float64{1, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.56789, 3, 4}
	if got, want := bandEdges(mass, 5, true), []float64{2.5, 2.56, 3}; !cmp.Equal(got, want) {
		t.Errorf("bandEdges(mass at 2.5) = %v; want %v", got, want)
	}
	if got := bandEdges([]float64{7, 7, 7}, 5, false); len(got) != 0 {
		t.Errorf("bandEdges(one value) = %v; want none", got)
	}
}

func TestTierMins(t *testing.T) {
	var scores []int
	for s := range 100 {
		scores = append(scores, s)
	}
	// 0..99 once each: 20% score 80 or more, 50% 50 or more, 80% 20 or more.
	if got, want := tierMins(scores, []float64{0.2, 0.3, 0.3}), []int{80, 50, 20}; !cmp.Equal(got, want) {
		t.Errorf("tierMins(0..99) = %v; want %v", got, want)
	}
	// Lumpy scores: 65 x22, 30 x38, 0 x1, -35 x29. A takes 65 (22%), B 30
	// (cumulative 67%); C would hold one row (1%), under a third of its 30%,
	// so it is left out.
	var lumpy []int
	for _, g := range []struct{ s, n int }{{65, 22}, {30, 38}, {0, 1}, {-35, 29}} {
		for range g.n {
			lumpy = append(lumpy, g.s)
		}
	}
	if got, want := tierMins(lumpy, []float64{0.2, 0.3, 0.3}), []int{65, 30}; !cmp.Equal(got, want) {
		t.Errorf("tierMins(lumpy) = %v; want %v", got, want)
	}
	if got := tierMins([]int{5, 5, 5}, []float64{0.2, 0.3}); len(got) != 0 {
		t.Errorf("tierMins(all equal) = %v; want no tiers above the last", got)
	}
}

func TestStats(t *testing.T) {
	if got, want := lowerTail(0, 20, 0.5), math.Pow(0.5, 20); math.Abs(got-want) > 1e-15 {
		t.Errorf("lowerTail(0, 20, .5) = %v; want %v", got, want)
	}
	if got := lowerTail(1, 3, 0.5); math.Abs(got-0.5) > 1e-12 { // (1 + 3) / 8
		t.Errorf("lowerTail(1, 3, .5) = %v; want 0.5", got)
	}
	// sum over i <= 5 of C(100, i) .4^i .6^(100-i), computed exactly elsewhere.
	if got := lowerTail(5, 100, 0.4); math.Abs(got-7.016085171150642e-16)/7.016085171150642e-16 > 1e-9 {
		t.Errorf("lowerTail(5, 100, .4) = %v; want 7.016085171150642e-16", got)
	}
	if got := lowerTail(2, 2000, 0.4); got < 0 || got > 1e-300 {
		t.Errorf("lowerTail(2, 2000, .4) = %v; want 0 or nearly", got)
	}
	if got := zScore(30, 100, 0.5); math.Abs(got+4) > 1e-12 { // (30-50)/5
		t.Errorf("zScore(30, 100, .5) = %v; want -4", got)
	}
	// Odds twice the base's are 20 points at 20 points per doubling.
	if got := points(math.Ln2, 20, 50); got != 20 {
		t.Errorf("points(ln 2) = %d; want 20", got)
	}
	if got := points(-10, 20, 50); got != -50 {
		t.Errorf("points(-10) = %d; want the cap, -50", got)
	}
	// 24 of 30 at a base of 51/110, shrunk by 10 pseudo-rows: 30 points
	// (worked out in derive_test.go).
	if got := points(weightOfEvidence(24, 30, 51.0/110), 20, 50); got != 30 {
		t.Errorf("points(24 of 30) = %d; want 30", got)
	}
}

func TestSplit(t *testing.T) {
	labels := make([]int, 110)
	for i := range 51 {
		labels[i*2] = 1
	}
	hold := split(labels, 0.2, 7)
	var best, rest int
	for i, h := range hold {
		if h && labels[i] == 1 {
			best++
		} else if h {
			rest++
		}
	}
	// round(0.2 * 51) = 10 best, round(0.2 * 59) = 12 others.
	if best != 10 || rest != 12 {
		t.Errorf("split held out %d best and %d others; want 10 and 12", best, rest)
	}
	if again := split(labels, 0.2, 7); !cmp.Equal(hold, again) {
		t.Error("split with the same seed differs")
	}
	if other := split(labels, 0.2, 8); cmp.Equal(hold, other) {
		t.Error("split with another seed is the same")
	}
}
