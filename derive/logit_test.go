package derive

import (
	"math"
	"testing"
)

// identity returns tables whose levels are the bins, columns of n bins.
func identity(n ...int) [][]uint8 {
	t := make([][]uint8, len(n))
	for c, k := range n {
		for b := range k {
			t[c] = append(t[c], uint8(b))
		}
	}
	return t
}

// lcgRows is the small data set of TestFitLogitMatchesScikitLearn: three
// columns of 2, 3 and 4 bins and an outcome drawn from a known logistic
// model, from a linear congruential generator that a Python script can
// repeat.
func lcgRows() *design {
	d := (&design{k: 3}).with(identity(2, 3, 4), []int{2, 3, 4})
	x := 12345
	next := func(k int) int {
		x = (x*1103515245 + 12345) % (1 << 31)
		return (x >> 16) % k
	}
	for range 300 {
		a, b, c := next(2), next(3), next(4)
		u := float64(next(1000)) / 1000
		eta := -0.5 + 1.2*float64(a) + 0.4*float64(c)
		if b == 2 {
			eta -= 0.8
		}
		d.lv = append(d.lv, uint16(a), uint16(b), uint16(c))
		d.y = append(d.y, u < 1/(1+math.Exp(-eta)))
	}
	return d
}

// TestFitLogitMatchesScikitLearn: the ridge fit agrees with scikit-learn
// 1.2.1's LogisticRegression(C=1/lambda) on one-hot bins, to 1e-6. The
// expected values were printed by this script (lbfgs, the default solver,
// stops 5e-5 short at any tolerance; newton-cg converges):
//
//	X = one-hot of (a, b, c) from the same generator; for lam in (1, 10):
//	LogisticRegression(C=1/lam, solver="newton-cg", tol=1e-14).fit(X, y)
func TestFitLogitMatchesScikitLearn(t *testing.T) {
	d := lcgRows()
	var best int
	for _, y := range d.y {
		if y {
			best++
		}
	}
	if best != 183 {
		t.Fatalf("the generator gives %d best rows; the script's gives 183", best)
	}
	for _, tc := range []struct {
		lambda float64
		b0     float64
		beta   []float64
	}{
		{1, 0.5286236753835635, []float64{-0.6268422, 0.6268422, 0.3974759, 0.0871367, -0.4846127, -0.0854427, -0.2888304, -0.1968168, 0.5710899}},
		{10, 0.4940556362792543, []float64{-0.4784195, 0.4784195, 0.2630413, 0.0830124, -0.3460537, -0.0257257, -0.2057969, -0.1262017, 0.3577243}},
	} {
		m, err := fitLogit(d, nil, tc.lambda, nil)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.b0-tc.b0) > 1e-6 {
			t.Errorf("lambda %v: intercept %v; want %v", tc.lambda, m.b0, tc.b0)
		}
		for j, want := range tc.beta {
			if math.Abs(m.beta[j]-want) > 1e-6 {
				t.Errorf("lambda %v: beta[%d] = %v; want %v", tc.lambda, j, m.beta[j], want)
			}
		}
	}
}

// TestFitLogitSaturated: without a penalty, one two-bin column fits each
// bin's log-odds exactly (the maximum-likelihood answer in closed form).
func TestFitLogitSaturated(t *testing.T) {
	d := (&design{k: 1}).with(identity(2), []int{2})
	add := func(bin uint16, best, rest int) {
		for range best {
			d.lv, d.y = append(d.lv, bin), append(d.y, true)
		}
		for range rest {
			d.lv, d.y = append(d.lv, bin), append(d.y, false)
		}
	}
	add(0, 30, 70) // log(30/70)
	add(1, 60, 40) // log(60/40)
	m, err := fitLogit(d, nil, 1e-9, nil)
	if err != nil {
		t.Fatal(err)
	}
	for bin, want := range []float64{math.Log(30.0 / 70), math.Log(60.0 / 40)} {
		if got := m.b0 + m.beta[bin]; math.Abs(got-want) > 1e-6 {
			t.Errorf("bin %d: log-odds %v; want %v", bin, got, want)
		}
	}
	// the odds ratio does not depend on how the intercept and bins share it
	if got, want := m.beta[1]-m.beta[0], math.Log(60.0/40)-math.Log(30.0/70); math.Abs(got-want) > 1e-6 {
		t.Errorf("log odds ratio %v; want %v", got, want)
	}
}

func TestRoundCut(t *testing.T) {
	for _, tc := range []struct{ a, b, want float64 }{
		{148, 152, 150},
		{0, 1, 1},
		{-1, 1, 0},
		{7, 8, 8},
		{1.23, 1.31, 1.3},
		{199, 1200, 1000},
		{0.5, 0.53, 0.52},
		{-30, -12, -20},
	} {
		if got := roundCut(tc.a, tc.b); got != tc.want {
			t.Errorf("roundCut(%v, %v) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestPAVA: pooling adjacent violators leaves rates that only rise.
func TestPAVA(t *testing.T) {
	segs := []segment{
		{first: 0, last: 1, count: count{100, 10}},
		{first: 2, last: 3, count: count{100, 30}},
		{first: 4, last: 5, count: count{100, 20}}, // a dip: merged with the one before
		{first: 6, last: 7, count: count{100, 60}},
	}
	got := pava(segs, true)
	if len(got) != 3 || got[1].first != 2 || got[1].last != 5 || got[1].rows != 200 || got[1].best != 50 {
		t.Fatalf("pava = %+v; want the second and third segments merged", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].logit() < got[i-1].logit() {
			t.Errorf("pava: segment %d falls", i)
		}
	}
}

// TestSplitter: each block of 100 rows of a class holds out exactly 30,
// the same ones for the same seed.
func TestSplitter(t *testing.T) {
	run := func(seed uint64) []bool {
		s := newSplitter(0.3, seed)
		var out []bool
		for i := range 1000 {
			out = append(out, s.hold(i%2))
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	held := 0
	same := true
	for i := range a {
		if a[i] {
			held++
		}
		if a[i] != b[i] {
			t.Fatalf("seed 1 twice: row %d differs", i)
		}
		same = same && a[i] == c[i]
	}
	if held != 300 {
		t.Errorf("held out %d of 1,000; want 300", held)
	}
	if same {
		t.Error("seeds 1 and 2 give the same split")
	}
}
