package derive

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/leadq/leadq/backtest"
)

// lambdas are the ridge penalties cross-validation chooses from.
var lambdas = []float64{300, 100, 30, 10, 3, 1, 0.3, 0.1}

// minBins are the shares of the training rows a range of numbers holds at
// least that cross-validation chooses from when Options.MinBin is not set:
// finer ranges follow the data closer and overfit it more.
var minBins = []float64{0.025, 0.05, 0.1}

// maxCVRows is the most training rows the cross-validation fits on; a
// seeded, stratified sample of them when there are more. The final model
// is fitted on all of them.
const maxCVRows = 60000

// fit chooses the ranges' size, the penalty and what it pulls towards by
// cross-validation, cuts the numbers again at the chosen size, fits the
// final model, turns it into points and cuts the tiers.
//
// Each fold's model sees what derive would have made of the other folds
// alone: numbers cut into ranges from their counts, each bin's weight of
// evidence from their rows. Cut on all rows, the ranges would fit the
// fold they are scored on, and cross-validation would prefer the finest.
func (d *deriver) fit(ctx context.Context, des *design) error {
	opts, res := d.opts, d.res
	n := des.n()
	fold := d.folds(des)
	shares := minBins
	if opts.MinBin > 0 {
		shares = []float64{opts.MinBin}
	}
	// Two penalties compete: ridge towards zero, and ridge towards each
	// bin's own weight of evidence (its log-odds against the base rate, the
	// naive-Bayes answer), which suits small data with many bins.
	const priors = 2
	devs := make([]float64, len(shares)*priors*len(lambdas))
	at := func(s, p, l int) int { return (s*priors+p)*len(lambdas) + l }
	f := make([]int, des.k)
	// run fits one fold's models, calling score for each held-out row.
	run := func(k int, s, p int, ls []int, score func(l, i int, eta float64)) error {
		train := func(i int) bool { return fold[i] != uint8(k) && fold[i] != noFold }
		v := d.foldView(des, shares[s], train)
		if p == 1 {
			v.prior = woe(v, train)
		}
		var warm *model
		for _, l := range ls {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m, err := fitLogit(v, train, lambdas[l], warm)
			if err != nil {
				return err
			}
			warm = m
			for i := range n {
				if fold[i] == uint8(k) {
					v.row(i, f)
					score(l, i, m.eta(f))
				}
			}
		}
		return nil
	}
	all := make([]int, len(lambdas))
	for l := range all {
		all[l] = l
	}
	for k := range opts.Folds {
		for s := range shares {
			for p := range priors {
				err := run(k, s, p, all, func(l, i int, eta float64) { devs[at(s, p, l)] += logLoss(eta, des.y[i]) })
				if err != nil {
					return err
				}
			}
		}
	}
	best := 0
	for j, dev := range devs {
		if dev < devs[best]-1e-9 {
			best = j
		}
	}
	bestS, bestP, bestL := best/(priors*len(lambdas)), best/len(lambdas)%priors, best%len(lambdas)
	res.MinBin, res.Prior, res.Lambda = shares[bestS], bestP == 1, lambdas[bestL]
	// The chosen models' predictions on the rows each fold held out: the
	// tiers' expected rates.
	oof := make([]float64, n)
	for k := range opts.Folds {
		if err := run(k, bestS, bestP, []int{bestL}, func(_, i int, eta float64) { oof[i] = eta }); err != nil {
			return err
		}
	}
	for i := range n {
		if fold[i] != noFold {
			d.oof = append(d.oof, oof[i])
			d.oofBest = append(d.oofBest, des.y[i])
		}
	}
	res.CVRows = len(d.oof)
	res.CVAUC = aucOf(d.oof, d.oofBest)

	d.rebin(res.MinBin)
	des = d.final(des)
	if res.Prior {
		des.prior = woe(des, nil)
	}
	m, err := fitLogit(des, nil, res.Lambda, nil)
	if err != nil {
		return err
	}
	d.model = m
	d.points(des)
	d.tiers(des)
	return nil
}

// foldView is des with its numbers cut again from the rows train keeps, a
// range holding at least share of them.
func (d *deriver) foldView(des *design, share float64, train func(int) bool) *design {
	var rows int
	for i := range des.n() {
		if train(i) {
			rows++
		}
	}
	bn := d.binning(share, rows)
	table := slices.Clone(des.table)
	bins := make([]int, len(d.used))
	for c, col := range d.used {
		bins[c] = len(col.bins)
		if !col.numeric {
			continue // values stand alone by how common they are, not by the outcome
		}
		counts := make([]count, len(col.levels)+1)
		for i := range des.n() {
			if train(i) {
				counts[des.lv[i*des.k+c]].add(des.y[i])
			}
		}
		var vals []numCount
		for l, x := range col.levels {
			if counts[l].rows > 0 {
				vals = append(vals, numCount{x.v, counts[l]})
			}
		}
		cut := &column{typ: col.typ, numeric: true, coarse: col.coarse, pooledMissing: col.pooledMissing}
		bn.numberBins(cut, vals, counts[len(col.levels)])
		table[c], bins[c] = cut.table(col.levels), len(cut.bins)
	}
	return des.with(table, bins)
}

// rebin cuts the numbers again on all training rows, a range holding at
// least share of them.
func (d *deriver) rebin(share float64) {
	bn := d.binning(share, d.res.TrainRows)
	for _, c := range d.used {
		if c.numeric {
			c.bins = nil
			bn.numberBins(c, c.levels, c.missCount)
		}
	}
}

const noFold = 255

// woe is each bin's weight of evidence on the rows keep returns true for
// (all when nil): the log-odds of its rows against all rows', with half a
// row added to each count. Cross-validation computes it without the fold
// it scores, which must not teach the prior its own outcomes.
func woe(des *design, keep func(int) bool) []float64 {
	rows, best := make([]int, des.p), make([]int, des.p)
	var n, nb int
	f := make([]int, des.k)
	for i := range des.n() {
		if keep != nil && !keep(i) {
			continue
		}
		des.row(i, f)
		n++
		for _, j := range f {
			rows[j]++
		}
		if des.y[i] {
			nb++
			for _, j := range f {
				best[j]++
			}
		}
	}
	out := make([]float64, des.p)
	base := math.Log((float64(nb) + 0.5) / (float64(n-nb) + 0.5))
	for j := range out {
		out[j] = math.Log((float64(best[j])+0.5)/(float64(rows[j]-best[j])+0.5)) - base
	}
	return out
}

// minOdds is the least odds ratio between a column's best and worst bins
// that keeps the column's rules.
const minOdds = 1.1

// folds assigns each training row to a fold, stratified by class, from a
// seeded shuffle; rows beyond maxCVRows (a stratified sample is kept) get
// noFold.
func (d *deriver) folds(des *design) []uint8 {
	n := des.n()
	rng := rand.New(rand.NewPCG(d.opts.Seed^0x5eed, d.opts.Seed+1))
	fold := make([]uint8, n)
	keep := min(1, float64(maxCVRows)/float64(n))
	for _, cls := range []bool{true, false} {
		var idx []int
		for i, y := range des.y {
			if y == cls {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		take := int(math.Round(keep * float64(len(idx))))
		for j, i := range idx {
			if j < take {
				fold[i] = uint8(j % d.opts.Folds)
			} else {
				fold[i] = noFold
			}
		}
	}
	return fold
}

func logLoss(eta float64, y bool) float64 {
	l1p := math.Max(eta, 0) + math.Log1p(math.Exp(-math.Abs(eta)))
	if y {
		return l1p - eta
	}
	return l1p
}

// aucOf is the ROC AUC of scores, ties counted half.
func aucOf(scores []float64, best []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[a], scores[b]) })
	var pos, neg, u, negBelow float64
	for i := 0; i < len(idx); {
		j := i
		var p, q float64
		for ; j < len(idx) && scores[idx[j]] == scores[idx[i]]; j++ {
			if best[idx[j]] {
				p++
			} else {
				q++
			}
		}
		u += p * (negBelow + q/2)
		negBelow += q
		pos += p
		neg += q
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return u / (pos * neg)
}

// points turns the model's coefficients into integer points: each bin's
// coefficient less its column's reference bin's, at PDO points per
// doubling of the odds, rounded. Bins no training row holds earn none.
func (d *deriver) points(des *design) {
	scale := d.opts.PDO / math.Ln2
	for c, col := range d.used {
		ref := d.model.beta[des.off[c]+col.ref]
		for b := range col.bins {
			bn := &col.bins[b]
			if bn.rows == 0 || b == col.ref {
				continue
			}
			bn.points = int(math.Round((d.model.beta[des.off[c]+b] - ref) * scale))
		}
		// A column whose bins' odds differ by under a tenth is not needed:
		// its rules would cost readers more than they rank.
		lo, hi := 0, 0
		for _, bn := range col.bins {
			lo, hi = min(lo, bn.points), max(hi, bn.points)
		}
		if float64(hi-lo) < d.opts.PDO*math.Log2(minOdds) {
			for b := range col.bins {
				col.bins[b].points = 0
			}
		}
	}
	d.scores = make([]int, des.n())
	var bins []backtest.ScoreBin
	byScore := map[int]*backtest.ScoreBin{}
	for i := range des.n() {
		s := 0
		for c, col := range d.used {
			s += col.bins[des.bin(i, c)].points
		}
		d.scores[i] = s
		sb := byScore[s]
		if sb == nil {
			sb = &backtest.ScoreBin{Score: s}
			byScore[s] = sb
		}
		sb.Leads++
		if des.y[i] {
			sb.Converted++
		}
	}
	for _, sb := range byScore {
		bins = append(bins, *sb)
	}
	slices.SortFunc(bins, func(a, b backtest.ScoreBin) int { return cmp.Compare(a.Score, b.Score) })
	if a := backtest.AUC(bins); a != nil {
		d.res.AUC = *a
	}
}

// tiers cuts the tiers from the training rows' points and gives each the
// rate cross-validation expects: that of the cross-validated rows ranked
// in the same share of the rows.
func (d *deriver) tiers(des *design) {
	res := d.res
	shares := d.tierShares()
	mins := tierMins(d.scores, shares)
	names := []string{"A", "B", "C", "D", "E", "F"}
	if len(mins)+1 > len(names) {
		names = nil
		for i := range len(mins) + 1 {
			names = append(names, "T"+strconv.Itoa(i+1))
		}
	}
	res.Tiers = nil
	for i := range len(mins) + 1 {
		t := Tier{Name: names[i]}
		if i < len(mins) {
			m := mins[i]
			t.Min = &m
		}
		res.Tiers = append(res.Tiers, t)
	}
	// training counts per tier
	n := len(d.scores)
	best := make([]int, len(res.Tiers))
	for i, s := range d.scores {
		t := len(mins)
		for k, m := range mins {
			if s >= m {
				t = k
				break
			}
		}
		res.Tiers[t].Rows++
		if des.y[i] {
			best[t]++
		}
	}
	// expected rates from the cross-validated ranking
	order := make([]int, len(d.oof))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(d.oof[b], d.oof[a]) })
	m := len(order)
	var cum int
	for t := range res.Tiers {
		res.Tiers[t].Rate = ratio(best[t], res.Tiers[t].Rows)
		from := int(math.Round(float64(cum) / float64(n) * float64(m)))
		cum += res.Tiers[t].Rows
		to := int(math.Round(float64(cum) / float64(n) * float64(m)))
		var k int
		for _, i := range order[from:to] {
			if d.oofBest[i] {
				k++
			}
		}
		res.Tiers[t].Expected = ratio(k, to-from)
	}
}

// tierShares turns Options.Tiers into shares of the rows from the top.
// Target rates are met on the cross-validated ranking: each tier is the
// longest run of the next rows whose expected rate stays at its target
// (and holds at least a bin's worth of rows).
func (d *deriver) tierShares() []float64 {
	t := d.opts.Tiers
	switch {
	case len(t.Capacity) > 0:
		vol := t.Volume
		if vol == 0 {
			vol = d.res.TrainRows + d.res.HoldoutRows
		}
		var out []float64
		var sum float64
		for _, c := range t.Capacity {
			s := float64(c) / float64(vol)
			if sum+s >= 1 {
				break
			}
			sum += s
			out = append(out, s)
		}
		return out
	case len(t.Rates) > 0:
		order := make([]int, len(d.oof))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(d.oof[b], d.oof[a]) })
		m := len(order)
		minRows := max(10, int(d.res.MinBin*float64(m)))
		var out []float64
		start := 0
		for _, target := range t.Rates {
			end, k := start, 0
			for j := start; j < m; j++ {
				if d.oofBest[order[j]] {
					k++
				}
				if j+1-start >= minRows && float64(k) >= target*float64(j+1-start) {
					end = j + 1
				}
			}
			if end == start || end >= m {
				continue // no run of rows reaches it
			}
			out = append(out, float64(end-start)/float64(m))
			start = end
		}
		return out
	}
	return t.Shares
}
