package backtest

import (
	"cmp"
	"math"
	"slices"

	"github.com/leadq/leadq/rules"
)

// Report is the outcome of a backtest. Its JSON tags are the format of
// `leadq backtest --format json`. Rates are fractions (0.385, not 38.5);
// a rate over no rows is 0 and an AUC without both outcomes is null.
type Report struct {
	Ruleset   RulesetRef `json:"ruleset"`
	Data      string     `json:"data"`
	Outcome   string     `json:"outcome"`
	Rows      RowCounts  `json:"rows"`
	Converted int64      `json:"converted"`
	BaseRate  float64    `json:"base_rate"`

	Tiers      []TierStats    `json:"tiers"`       // leads not knocked out, by the tier their score reaches
	KnockedOut TierStats      `json:"knocked_out"` // leads rejected by at least one knockout, whatever their tier
	Qualified  Classification `json:"qualified"`

	AUC         *float64 `json:"auc"`          // ROC AUC of the score, ties counted half
	AUCDecision *float64 `json:"auc_decision"` // the same with knocked-out leads ranked below all others

	Deciles   []Decile        `json:"deciles"` // highest scores first
	Scores    []ScoreBin      `json:"scores"`  // every score reached, lowest first
	Rules     []RuleStats     `json:"rules"`   // score rules, best separating first
	Knockouts []KnockoutStats `json:"knockouts"`
	Fields    []FieldStats    `json:"fields"`
	Errors    []RuleErrors    `json:"rule_errors"`
}

// RulesetRef names the ruleset and its version.
type RulesetRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// RowCounts says what became of the rows read.
type RowCounts struct {
	Read              int64    `json:"read"`       // well-formed rows
	Scored            int64    `json:"scored"`     // with a known outcome, scored
	NoOutcome         int64    `json:"no_outcome"` // skipped: outcome missing or not a known value
	Failed            int64    `json:"failed"`     // refused by the engine (strict mode)
	Malformed         int64    `json:"malformed"`  // skipped: not a valid row
	MalformedExamples []string `json:"malformed_examples,omitempty"`
	FailedExamples    []string `json:"failed_examples,omitempty"`
}

// TierStats is the conversion of one group of leads.
type TierStats struct {
	Name      string  `json:"name"`
	Min       *int    `json:"min,omitempty"`
	Leads     int64   `json:"leads"`
	Converted int64   `json:"converted"`
	Share     float64 `json:"share"` // of scored leads
	Rate      float64 `json:"rate"`
	Lift      float64 `json:"lift"` // rate over the base rate
	// Expected is the rate the ruleset's tier states (its expect, as
	// leadq derive measured it by cross-validation): Rate against it is
	// the ruleset's calibration on this data.
	Expected *float64 `json:"expected,omitempty"`
}

// Classification measures the qualified verdict against the outcome.
type Classification struct {
	Rule      string  `json:"rule"` // the qualify: expression, or the default
	Leads     int64   `json:"leads"`
	Share     float64 `json:"share"`
	TP        int64   `json:"tp"`
	FP        int64   `json:"fp"`
	FN        int64   `json:"fn"`
	TN        int64   `json:"tn"`
	Precision float64 `json:"precision"` // of qualified leads, the share that converted
	Recall    float64 `json:"recall"`    // of converted leads, the share qualified
	F1        float64 `json:"f1"`
	Accuracy  float64 `json:"accuracy"`
}

// Decile is a tenth of the scored leads, ranked by score. Leads with the
// same score that straddle two deciles are shared between them in
// proportion, so Converted is an expected count and may be fractional.
type Decile struct {
	Decile      int     `json:"decile"`
	MinScore    int     `json:"min_score"`
	MaxScore    int     `json:"max_score"`
	Leads       int64   `json:"leads"`
	Converted   float64 `json:"converted"`
	Rate        float64 `json:"rate"`
	Lift        float64 `json:"lift"`
	CumCaptured float64 `json:"cum_captured"` // share of all conversions in this and higher deciles
	CumLift     float64 `json:"cum_lift"`
}

// ScoreBin counts the leads with one score.
type ScoreBin struct {
	Score     int   `json:"score"`
	Leads     int64 `json:"leads"`
	Converted int64 `json:"converted"`
}

// RuleStats is how a score rule's firing relates to the outcome.
type RuleStats struct {
	Rule         string  `json:"rule"`
	Group        string  `json:"group,omitempty"`
	Points       int     `json:"points"`
	Fired        int64   `json:"fired"`
	FiredConv    int64   `json:"fired_converted"`
	NotFired     int64   `json:"not_fired"`
	NotFiredConv int64   `json:"not_fired_converted"`
	RateFired    float64 `json:"rate_fired"`
	RateNotFired float64 `json:"rate_not_fired"`
	Lift         float64 `json:"lift"` // rate when fired over the base rate
	IV           float64 `json:"iv"`   // information value of fired / not fired
	Contradicts  bool    `json:"contradicts"`
}

// KnockoutStats is what a knockout rejected.
type KnockoutStats struct {
	Rule          string  `json:"rule"`
	Rejected      int64   `json:"rejected"`
	Converted     int64   `json:"converted"`
	Only          int64   `json:"only"` // rejected by this knockout alone
	OnlyConverted int64   `json:"only_converted"`
	Rate          float64 `json:"rate"`
	Lift          float64 `json:"lift"`
	Costly        bool    `json:"costly"` // rejects leads converting at or above the base rate
}

// FieldStats is how well the data fed a field.
type FieldStats struct {
	Binding
	Present   int64   `json:"present"`
	Coverage  float64 `json:"coverage"`
	WrongType int64   `json:"wrong_type"`
	Example   string  `json:"wrong_type_example,omitempty"`
}

// RuleErrors counts run-time failures of one rule.
type RuleErrors struct {
	Rule    string `json:"rule"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

func (t *tally) report(rs *rules.Ruleset, b *Binder) *Report {
	r := &Report{
		Ruleset:   RulesetRef{Name: rs.Name, Version: rs.Version},
		Tiers:     []TierStats{},
		Rules:     []RuleStats{},
		Knockouts: []KnockoutStats{},
		Fields:    []FieldStats{},
		Errors:    []RuleErrors{},
	}
	r.Rows.Scored, r.Rows.NoOutcome, r.Rows.Failed = t.scored, t.noOutcome, t.failed
	for _, e := range t.failedEx {
		r.Rows.FailedExamples = append(r.Rows.FailedExamples, e.String())
	}
	n := t.scored
	var pos int64
	for _, c := range t.hist {
		pos += c[1]
	}
	r.Converted = pos
	r.BaseRate = ratio(pos, n)
	stats := func(name string, min *int, c [2]int64) TierStats {
		leads := c[0] + c[1]
		rate := ratio(c[1], leads)
		return TierStats{Name: name, Min: min, Leads: leads, Converted: c[1], Share: ratio(leads, n), Rate: rate, Lift: safeDiv(rate, r.BaseRate)}
	}
	for i, tr := range rs.Tiers {
		ts := stats(tr.Name, tr.Min, t.tiers[i])
		if tr.Expect != nil {
			e := *tr.Expect
			ts.Expected = &e
		}
		r.Tiers = append(r.Tiers, ts)
	}
	r.KnockedOut = stats("knocked out", nil, t.tiers[len(t.tiers)-1])

	q := &r.Qualified
	q.Rule = "the first tier"
	if len(rs.Tiers) > 0 {
		q.Rule = "tier " + rs.Tiers[0].Name
	}
	if rs.Qualify != nil {
		q.Rule = rs.Qualify.Src
	}
	q.TP, q.FP, q.FN, q.TN = t.tp, t.fp, t.fn, t.tn
	q.Leads = t.tp + t.fp
	q.Share = ratio(q.Leads, n)
	q.Precision = ratio(t.tp, t.tp+t.fp)
	q.Recall = ratio(t.tp, t.tp+t.fn)
	q.F1 = safeDiv(2*q.Precision*q.Recall, q.Precision+q.Recall)
	q.Accuracy = ratio(t.tp+t.tn, n)

	bins := sortedBins(t.hist)
	r.AUC = AUC(bins)
	r.AUCDecision = AUC(sortedBins(t.histDecision))
	r.Scores = bins
	if r.Scores == nil {
		r.Scores = []ScoreBin{}
	}
	r.Deciles = Deciles(bins)

	var negTotal = n - pos
	for i, rule := range rs.Rules {
		c := t.rules[i]
		s := RuleStats{Rule: rule.ID, Group: rule.Group, Points: rule.Points,
			Fired: c[1][0] + c[1][1], FiredConv: c[1][1], NotFired: c[0][0] + c[0][1], NotFiredConv: c[0][1]}
		s.RateFired = ratio(s.FiredConv, s.Fired)
		s.RateNotFired = ratio(s.NotFiredConv, s.NotFired)
		s.Lift = safeDiv(s.RateFired, r.BaseRate)
		s.IV = InformationValue([][2]int64{c[0], c[1]}, pos, negTotal)
		s.Contradicts = s.Fired > 0 && s.NotFired > 0 &&
			((rule.Points > 0 && s.RateFired < s.RateNotFired) || (rule.Points < 0 && s.RateFired > s.RateNotFired))
		r.Rules = append(r.Rules, s)
	}
	slices.SortStableFunc(r.Rules, func(a, b RuleStats) int { return cmp.Compare(b.IV, a.IV) })
	for i, rule := range rs.Knockouts {
		c, only := t.kos[i], t.koOnly[i]
		k := KnockoutStats{Rule: rule.ID, Rejected: c[0] + c[1], Converted: c[1], Only: only[0] + only[1], OnlyConverted: only[1]}
		k.Rate = ratio(k.Converted, k.Rejected)
		k.Lift = safeDiv(k.Rate, r.BaseRate)
		k.Costly = k.Rejected > 0 && k.Rate >= r.BaseRate
		r.Knockouts = append(r.Knockouts, k)
	}
	for i, bd := range b.Bindings {
		r.Fields = append(r.Fields, FieldStats{Binding: bd, Present: t.present[i], Coverage: ratio(t.present[i], n),
			WrongType: t.wrong[i], Example: t.wrongEx[i].String()})
	}
	ids := make([]string, 0, len(t.ruleErr))
	for _, rule := range rs.Rules {
		ids = append(ids, rule.ID)
	}
	for _, rule := range rs.Knockouts {
		ids = append(ids, rule.ID)
	}
	ids = append(ids, "qualify")
	for i, c := range t.ruleErr {
		if c > 0 {
			r.Errors = append(r.Errors, RuleErrors{Rule: ids[i], Count: c, Example: t.ruleErrEx[i].String()})
		}
	}
	return r
}

func sortedBins(h map[int]*[2]int64) []ScoreBin {
	var bins []ScoreBin
	for s, c := range h {
		bins = append(bins, ScoreBin{Score: s, Leads: c[0] + c[1], Converted: c[1]})
	}
	slices.SortFunc(bins, func(a, b ScoreBin) int { return cmp.Compare(a.Score, b.Score) })
	return bins
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// AUC is the area under the ROC curve of scores binned by value, lowest
// first: the probability that a random converted lead outscores a random
// other one, ties counted half (the Mann-Whitney U statistic with average
// ranks, divided by the number of pairs). It is nil without both outcomes.
func AUC(bins []ScoreBin) *float64 {
	var pos, neg float64
	for _, b := range bins {
		pos += float64(b.Converted)
		neg += float64(b.Leads - b.Converted)
	}
	if pos == 0 || neg == 0 {
		return nil
	}
	var u, negBelow float64
	for _, b := range bins {
		p, q := float64(b.Converted), float64(b.Leads-b.Converted)
		u += p * (negBelow + q/2)
		negBelow += q
	}
	auc := u / (pos * neg)
	return &auc
}

// Deciles splits leads binned by score into ten equal parts from the highest
// score down. A score shared by leads on both sides of a boundary is split
// in proportion: each part gets its share of that score's conversions.
// With fewer than ten leads some deciles are empty and left out.
func Deciles(bins []ScoreBin) []Decile {
	var total, pos int64
	for _, b := range bins {
		total += b.Leads
		pos += b.Converted
	}
	out := []Decile{}
	if total == 0 {
		return out
	}
	base := float64(pos) / float64(total)
	var cumLeads int64
	var cumConv float64
	for k := range 10 {
		lo, hi := int64(k)*total/10, int64(k+1)*total/10
		if hi == lo {
			continue
		}
		d := Decile{Decile: k + 1, MinScore: math.MaxInt, MaxScore: math.MinInt}
		var start int64 // rank of the first lead of the bin, from the top
		for i := len(bins) - 1; i >= 0; i-- {
			b := bins[i]
			end := start + b.Leads
			if ov := min(hi, end) - max(lo, start); ov > 0 {
				d.Leads += ov
				d.Converted += float64(b.Converted) * float64(ov) / float64(b.Leads)
				d.MinScore = min(d.MinScore, b.Score)
				d.MaxScore = max(d.MaxScore, b.Score)
			}
			start = end
			if start >= hi {
				break
			}
		}
		cumLeads += d.Leads
		cumConv += d.Converted
		d.Rate = d.Converted / float64(d.Leads)
		d.Lift = safeDiv(d.Rate, base)
		if pos > 0 {
			d.CumCaptured = cumConv / float64(pos)
		}
		d.CumLift = safeDiv(cumConv/float64(cumLeads), base)
		out = append(out, d)
	}
	return out
}

// InformationValue measures how well a split of the leads into bins
// separates the outcomes: the sum over bins of (p - q) ln(p/q), where p is
// the bin's share of converted leads and q its share of the others. Counts
// get half a lead added so that an empty side stays finite. Below 0.02 a
// split says nothing, above 0.3 it separates strongly, and above 0.5 it is
// so strong that it may leak the outcome.
func InformationValue(bins [][2]int64, pos, neg int64) float64 {
	var iv float64
	k := float64(len(bins))
	for _, c := range bins {
		p := (float64(c[1]) + 0.5) / (float64(pos) + 0.5*k)
		q := (float64(c[0]) + 0.5) / (float64(neg) + 0.5*k)
		iv += (p - q) * math.Log(p/q)
	}
	return iv
}
