package derive

import (
	"errors"
	"math"
)

// design is the training rows as a scorecard sees them: every row is in
// exactly one bin of every column, so a row is k small numbers, and the
// model's features are the bins (feature off[c]+bin). A row stores each
// column's level (two bytes; 1M rows of 40 columns take 80 MB), and a
// table per column turns levels into bins: cross-validation cuts the
// numbers again for every fold by swapping tables, never the rows.
type design struct {
	prior []float64 // the betas the penalty pulls towards; nil: zeros
	k, p  int       // columns, features (bins of all columns)
	off   []int     // first feature of each column
	table [][]uint8 // per column: level -> bin
	lv    []uint16  // n*k levels
	y     []bool
}

func (d *design) n() int { return len(d.y) }

// row returns the features of row i into f (len k).
func (d *design) row(i int, f []int) {
	lv := d.lv[i*d.k : (i+1)*d.k]
	for c, l := range lv {
		f[c] = d.off[c] + int(d.table[c][l])
	}
}

// bin returns row i's bin of column c.
func (d *design) bin(i, c int) int { return int(d.table[c][d.lv[i*d.k+c]]) }

// with returns the same rows seen through other tables, each column with
// bins[c] bins.
func (d *design) with(table [][]uint8, bins []int) *design {
	v := &design{k: d.k, table: table, lv: d.lv, y: d.y, off: make([]int, d.k)}
	for c, b := range bins {
		v.off[c] = v.p
		v.p += b
	}
	return v
}

// model is a fitted logistic regression on a design's features.
type model struct {
	b0   float64
	beta []float64
}

func (m *model) eta(f []int) float64 {
	e := m.b0
	for _, j := range f {
		e += m.beta[j]
	}
	return e
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// fitLogit fits P(best) = sigmoid(b0 + sum of the row's beta) to the rows
// whose index keep returns true (all when keep is nil) by maximising the
// log-likelihood minus lambda/2 times the sum of squared betas (ridge; the
// intercept is not penalised), the objective of scikit-learn's
// LogisticRegression(C=1/lambda). Newton's method (iteratively reweighted
// least squares) from start (nil: zeros), halving a step that does not
// improve the objective. The Hessian is dense, (p+1)^2: scorecards have at
// most a few hundred bins.
func fitLogit(d *design, keep func(int) bool, lambda float64, start *model) (*model, error) {
	p := d.p
	m := &model{beta: make([]float64, p)}
	if start != nil {
		m.b0 = start.b0
		copy(m.beta, start.beta)
	}
	f := make([]int, d.k)
	objective := func(m *model) float64 {
		var ll float64
		for i := range d.n() {
			if keep != nil && !keep(i) {
				continue
			}
			d.row(i, f)
			e := m.eta(f)
			// log(1+exp(e)) without overflow
			l1p := math.Max(e, 0) + math.Log1p(math.Exp(-math.Abs(e)))
			if d.y[i] {
				ll += e - l1p
			} else {
				ll -= l1p
			}
		}
		var pen float64
		for j, b := range m.beta {
			if d.prior != nil {
				b -= d.prior[j]
			}
			pen += b * b
		}
		return ll - lambda/2*pen
	}
	q := p + 1 // the intercept is feature p
	h := make([]float64, q*q)
	g := make([]float64, q)
	obj := objective(m)
	for iter := 0; iter < 50; iter++ {
		clear(h)
		clear(g)
		for i := range d.n() {
			if keep != nil && !keep(i) {
				continue
			}
			d.row(i, f)
			mu := sigmoid(m.eta(f))
			w := mu * (1 - mu)
			r := -mu
			if d.y[i] {
				r = 1 - mu
			}
			g[p] += r
			h[p*q+p] += w
			for a, fa := range f {
				g[fa] += r
				h[fa*q+p] += w
				for _, fb := range f[:a+1] {
					h[fa*q+fb] += w
				}
			}
		}
		for j := range p {
			dev := m.beta[j]
			if d.prior != nil {
				dev -= d.prior[j]
			}
			g[j] -= lambda * dev
			h[j*q+j] += lambda
		}
		// cholSolve reads the lower triangle: the bins' pairs are there
		// (a row's features increase), the intercept's row is copied in.
		for a := range p {
			h[p*q+a] = h[a*q+p]
		}
		step, err := cholSolve(h, g, q)
		if err != nil {
			return nil, err
		}
		next := &model{b0: m.b0 + step[p], beta: make([]float64, p)}
		for j := range p {
			next.beta[j] = m.beta[j] + step[j]
		}
		nobj := objective(next)
		for t := 0; nobj < obj-1e-12 && t < 30; t++ { // halve the step until it helps
			for j := range step {
				step[j] /= 2
			}
			next.b0 = m.b0 + step[p]
			for j := range p {
				next.beta[j] = m.beta[j] + step[j]
			}
			nobj = objective(next)
		}
		var most float64
		for _, s := range step {
			most = math.Max(most, math.Abs(s))
		}
		m, obj = next, nobj
		if most < 1e-7 {
			break
		}
	}
	return m, nil
}

// cholSolve solves A x = b for a symmetric positive definite A (n*n, row
// major), which it overwrites with its Cholesky factor.
func cholSolve(a, b []float64, n int) ([]float64, error) {
	for j := range n {
		s := a[j*n+j]
		for k := range j {
			s -= a[j*n+k] * a[j*n+k]
		}
		if s <= 0 {
			return nil, errors.New("logistic regression: the Hessian is not positive definite")
		}
		a[j*n+j] = math.Sqrt(s)
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := range j {
				s -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = s / a[j*n+j]
		}
	}
	x := make([]float64, n)
	for i := range n { // L y = b
		s := b[i]
		for k := range i {
			s -= a[i*n+k] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	for i := n - 1; i >= 0; i-- { // L' x = y
		s := x[i]
		for k := i + 1; k < n; k++ {
			s -= a[k*n+i] * x[k]
		}
		x[i] = s / a[i*n+i]
	}
	return x, nil
}
