package backtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: the outcome, tiers, the
// qualified verdict, ranking quality, deciles, rules, knockouts and fields.
func WriteText(w io.Writer, r *Report) error {
	p := &printer{w: w}
	p.f("Backtest of ruleset %s %s on %s\n", r.Ruleset.Name, shortVersion(r.Ruleset.Version), r.Data)
	p.f("Rows: %s scored", Count(r.Rows.Scored))
	if r.Rows.NoOutcome > 0 {
		p.f(", %s without an outcome (skipped)", Count(r.Rows.NoOutcome))
	}
	if r.Rows.Failed > 0 {
		p.f(", %s refused by the engine", Count(r.Rows.Failed))
	}
	if r.Rows.Malformed > 0 {
		p.f(", %s malformed (skipped)", Count(r.Rows.Malformed))
	}
	p.f("\n")
	for _, ex := range r.Rows.MalformedExamples {
		p.f("  malformed: %s\n", ex)
	}
	for _, ex := range r.Rows.FailedExamples {
		p.f("  refused: %s\n", ex)
	}
	p.f("Outcome %s: %s of %s converted, base rate %s\n", r.Outcome, Count(r.Converted), Count(r.Rows.Scored), Pct(r.BaseRate))
	if r.Rows.Scored == 0 {
		return p.err
	}

	p.f("\nTiers (knocked-out leads apart, whatever their score)\n")
	tw := p.table(1)
	calibrated := slices.ContainsFunc(r.Tiers, func(t TierStats) bool { return t.Expected != nil })
	if calibrated {
		tw.row("tier", "min score", "leads", "share", "converted", "rate", "expected", "lift")
	} else {
		tw.row("tier", "min score", "leads", "share", "converted", "rate", "lift")
	}
	for _, t := range append(append([]TierStats{}, r.Tiers...), r.KnockedOut) {
		min := ""
		if t.Min != nil {
			min = strconv.Itoa(*t.Min)
		}
		if !calibrated {
			tw.row(t.Name, min, Count(t.Leads), Pct(t.Share), Count(t.Converted), Pct(t.Rate), Lift(t.Lift))
			continue
		}
		exp := ""
		if t.Expected != nil {
			exp = Pct(*t.Expected)
		}
		tw.row(t.Name, min, Count(t.Leads), Pct(t.Share), Count(t.Converted), Pct(t.Rate), exp, Lift(t.Lift))
	}
	p.flush(tw)
	if calibrated {
		p.f("%s\n", calibration(r.Tiers))
	}

	q := r.Qualified
	p.f("\nQualified (%s): %s leads, %s of all\n", q.Rule, Count(q.Leads), Pct(q.Share))
	p.f("  precision %s  recall %s  F1 %.3f  accuracy %s\n", Pct(q.Precision), Pct(q.Recall), q.F1, Pct(q.Accuracy))
	p.f("  converted and qualified %s, qualified but not converted %s, converted but not qualified %s, neither %s\n",
		Count(q.TP), Count(q.FP), Count(q.FN), Count(q.TN))

	p.f("\nRanking: ROC AUC %s by score; %s with knocked-out leads ranked last\n", AUCText(r.AUC), AUCText(r.AUCDecision))

	p.f("\nScore deciles (highest scores first; leads with one score across a boundary are shared)\n")
	tw = p.table(1)
	tw.row("decile", "scores", "leads", "converted", "rate", "lift", "captured", "cum. lift")
	for _, d := range r.Deciles {
		scores := strconv.Itoa(d.MinScore)
		if d.MaxScore != d.MinScore {
			scores += ".." + strconv.Itoa(d.MaxScore)
		}
		tw.row(strconv.Itoa(d.Decile), scores, Count(d.Leads), fmt.Sprintf("%.1f", d.Converted), Pct(d.Rate), Lift(d.Lift), Pct(d.CumCaptured), Lift(d.CumLift))
	}
	p.flush(tw)

	if len(r.Rules) > 0 {
		p.f("\nScore rules, best separating first (IV: information value of fired vs not fired)\n")
		tw = p.table(1)
		tw.row("rule", "points", "fired", "rate fired", "rate not fired", "lift", "IV")
		contradicts := false
		for _, s := range r.Rules {
			flag := ""
			if s.Contradicts {
				flag, contradicts = " !", true
			}
			tw.row(s.Rule+flag, fmt.Sprintf("%+d", s.Points), Count(s.Fired), Pct(s.RateFired), Pct(s.RateNotFired), Lift(s.Lift), fmt.Sprintf("%.3f", s.IV))
		}
		p.flush(tw)
		if contradicts {
			p.f("  ! converts the other way from what its points say\n")
		}
	}

	if len(r.Knockouts) > 0 {
		p.f("\nKnockouts: leads rejected, and how many of them converted\n")
		tw = p.table(1)
		tw.row("knockout", "rejected", "only this one", "converted", "rate", "lift")
		costly := false
		for _, k := range r.Knockouts {
			flag := ""
			if k.Costly {
				flag, costly = " !", true
			}
			tw.row(k.Rule+flag, Count(k.Rejected), Count(k.Only), Count(k.Converted), Pct(k.Rate), Lift(k.Lift))
		}
		p.flush(tw)
		if costly {
			p.f("  ! rejects leads that convert at or above the base rate: it throws away good leads\n")
		}
	}

	p.f("\nFields: the column feeding each, and how often it held a usable value\n")
	tw = p.table(3)
	tw.row("field", "type", "column", "present", "wrong type")
	var examples []string
	for _, f := range r.Fields {
		col := "(none: rules reading it never fire)"
		if f.Column != "" {
			col = fmt.Sprintf("%q", f.Column)
			if f.By == "mapping" {
				col += " (mapped)"
			}
		}
		tw.row(f.Field, f.Type, col, Pct(f.Coverage), Count(f.WrongType))
		if f.Example != "" {
			examples = append(examples, fmt.Sprintf("  %s: %s", f.Field, f.Example))
		}
	}
	p.flush(tw)
	for _, ex := range examples {
		p.f("%s\n", ex)
	}
	if len(r.Errors) > 0 {
		p.f("\nRules that failed at run time (they did not fire on those rows)\n")
		for _, e := range r.Errors {
			p.f("  %s: %s rows, first at %s\n", e.Rule, Count(e.Count), e.Example)
		}
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// table collects rows and prints them in columns: the first `left`
// columns aligned left, the others (numbers) right.
type table struct {
	left int
	rows [][]string
}

func (p *printer) table(left int) *table { return &table{left: left} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (p *printer) flush(t *table) {
	var widths []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for _, r := range t.rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < t.left {
				b.WriteString(c)
				if i < len(r)-1 {
					b.WriteString(pad)
				}
			} else {
				b.WriteString(pad + c)
			}
		}
		p.f("%s\n", b.String())
	}
}

// Count formats a count with thousands separators: 1234567 -> "1,234,567".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Pct formats a fraction as a percentage with one decimal: 0.3853 -> "38.5%".
func Pct(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

// Lift formats a ratio with two decimals.
func Lift(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// AUCText formats an AUC with three decimals, or "n/a" when undefined.
func AUCText(a *float64) string {
	if a == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*a, 'f', 3, 64)
}

func shortVersion(v string) string {
	if len(v) > len("sha256:")+12 {
		return v[:len("sha256:")+12]
	}
	return v
}

// calibration says whether each tier converted as its expect said, within
// three standard errors of a binomial rate at the expected rate.
func calibration(tiers []TierStats) string {
	var off []string
	n := 0
	for _, t := range tiers {
		if t.Expected == nil || t.Leads == 0 {
			continue
		}
		n++
		e := *t.Expected
		// the binomial's spread at the expected rate, kept off 0 and 1 so
		// that a tier expected never to convert may still see one in n
		n := float64(t.Leads)
		p := min(max(e, 1/n), 1-1/n)
		se := math.Sqrt(p * (1 - p) / n)
		switch {
		case t.Rate < e-3*se-1e-9:
			off = append(off, fmt.Sprintf("tier %s converted less than expected (%s, expected %s)", t.Name, Pct(t.Rate), Pct(e)))
		case t.Rate > e+3*se+1e-9:
			off = append(off, fmt.Sprintf("tier %s converted more than expected (%s, expected %s)", t.Name, Pct(t.Rate), Pct(e)))
		}
	}
	if len(off) == 0 {
		return fmt.Sprintf("Calibration: every tier with leads (%d) converted within three standard errors of its expected rate", n)
	}
	return "Calibration: " + strings.Join(off, "; ") + "; beyond three standard errors: the tiers' expect may be stale"
}
