package derive

import "math"

// zScore is how many standard deviations k best rows out of n lie from what
// the base rate p predicts (the normal approximation of the binomial).
func zScore(k, n int, p float64) float64 {
	if n == 0 || p <= 0 || p >= 1 {
		return 0
	}
	return (float64(k) - float64(n)*p) / math.Sqrt(float64(n)*p*(1-p))
}

// lowerTail is P(X <= k) for X ~ Binomial(n, p): the chance of seeing k or
// fewer best rows among n at the base rate. Summed in log space, so that
// large n neither overflow nor underflow before the end.
func lowerTail(k, n int, p float64) float64 {
	if k >= n {
		return 1
	}
	if p <= 0 {
		return 1
	}
	if p >= 1 {
		return 0
	}
	lp, lq := math.Log(p), math.Log1p(-p)
	lgN, _ := math.Lgamma(float64(n + 1))
	var terms []float64
	maxT := math.Inf(-1)
	for i := 0; i <= k; i++ {
		a, _ := math.Lgamma(float64(i + 1))
		b, _ := math.Lgamma(float64(n - i + 1))
		t := lgN - a - b + float64(i)*lp + float64(n-i)*lq
		terms = append(terms, t)
		maxT = math.Max(maxT, t)
	}
	var s float64
	for _, t := range terms {
		s += math.Exp(t - maxT)
	}
	return math.Min(1, math.Exp(maxT)*s)
}

// priorRows is how many rows at the base rate are mixed into a value's
// counts before its weight of evidence is taken, so that a value seen on a
// few rows cannot claim an extreme rate.
const priorRows = 10

// weightOfEvidence is ln(odds of best among the rows / odds of best
// overall), with the rows' rate shrunk towards the base rate p by
// priorRows pseudo-rows.
func weightOfEvidence(k, n int, p float64) float64 {
	r := (float64(k) + priorRows*p) / (float64(n) + priorRows)
	return math.Log(r/(1-r)) - math.Log(p/(1-p))
}

// points turns a weight of evidence into score points: pdo points per
// doubling of the odds, rounded to a multiple of 5 and capped at ±limit.
func points(woe, pdo float64, limit int) int {
	pts := int(math.Round(pdo*woe/math.Ln2/5)) * 5
	return max(-limit, min(limit, pts))
}
