package derive

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// leakIV is the information value above which a column separates so well
// that it may well be recorded after the outcome. Credit scoring calls 0.5
// suspicious; lead data has honest signals up to about 1 (X Education's
// occupation 0.94, its post-contact Tags 4.7).
const leakIV = 1.0

// leakRows is the fewest training rows for the leak warning: on small
// samples every split looks strong (IV is biased upwards).
const leakRows = 500

func fieldComment(a Attribute, rows int) string {
	s := fmt.Sprintf("column %q; IV %.2f", a.Column, a.IV)
	if a.date {
		s += "; read as days since the date"
	}
	if a.IV > leakIV && rows >= leakRows {
		s += "; suspiciously strong: is it known before the outcome?"
	}
	return s
}

func tierComment(r *backtest.Report, i int, t tierDecl, noun string) string {
	if i >= len(r.Tiers) {
		return ""
	}
	ts := r.Tiers[i]
	return fmt.Sprintf("training: %s %s (%s), %s best, lift %s", backtest.Count(ts.Leads), noun, pct(ts.Share), pct(ts.Rate), lift(ts.Lift))
}

// header explains the proposal: where it comes from, how points and
// knockouts were chosen, how it does on the training rows, and which
// columns were left out and why.
func (s *sample) header(res *Result, opts Options) []string {
	o := s.opts
	h := []string{
		"Proposed by leadq derive from " + displayData(opts.Data) + ".",
	}
	if opts.Command != "" {
		h = append(h, "  "+opts.Command)
	}
	h = append(h, "",
		fmt.Sprintf("Best %s: %s: %s of %s training rows (%s).", opts.Noun, opts.Best, backtest.Count(int64(res.TrainBest)), backtest.Count(int64(res.TrainRows)), pct(s.base)))
	if res.Ties > 0 {
		h = append(h, fmt.Sprintf("  %d more rows tie with the last of the top and count as best too.", res.Ties))
	}
	if res.Unlabelled > 0 {
		h = append(h, fmt.Sprintf("  %s rows with an unknown outcome were left out.", backtest.Count(int64(res.Unlabelled))))
	}
	if res.HoldoutRows > 0 {
		h = append(h, fmt.Sprintf("Held out: %s rows (%s best), %s of each class, seed %d; they are not in the evidence below.",
			backtest.Count(int64(res.HoldoutRows)), backtest.Count(int64(res.HoldoutBest)), pct(opts.Holdout), opts.Seed))
		f := opts.Files
		rulesFile, holdout := orPlaceholder(f.Rules, "THIS_FILE"), orPlaceholder(f.Holdout, "HOLDOUT_FILE")
		if f.Mapping != "" {
			h = append(h, fmt.Sprintf("  Backtest on them: leadq backtest --rules %s --data %s --map %s", rulesFile, holdout, f.Mapping))
		} else {
			h = append(h, fmt.Sprintf("  Backtest on them: leadq backtest --rules %s --data %s --outcome %s=1 --missing %s", rulesFile, holdout, BestColumn, missingFlag(opts.Missing)))
		}
	}
	h = append(h, "",
		"How the rules were chosen (all counts from the training rows):",
		fmt.Sprintf("- a value or numeric band qualifies when at least %d rows have it and its rate of best rows lies %s or more standard deviations from the base rate;", s.support, formatNum(o.MinZ)),
		fmt.Sprintf("- points are its weight of evidence, ln(odds of best with it / odds overall), at %s points per doubling of the odds, after mixing in %d rows at the base rate, rounded to 5 and capped at %d; under %d points makes no rule;", formatNum(o.PDO), priorRows, o.MaxPoints, o.MinPoints),
		fmt.Sprintf("- a knockout is a value at least %d rows have whose rate of best rows is under a tenth of the base rate, with under a %s chance at the base rate;", s.support, formatNum(knockoutP*100)+"%"),
		"- missing values never fire a rule, so they are reported but get no points;",
		"- rules add up like naive Bayes: correlated columns count twice. Backtest before use.",
	)
	if r := res.Train; r != nil {
		h = append(h, "", fmt.Sprintf("On the training rows: ROC AUC %s; %s.", backtest.AUCText(r.AUC), tierLine(r)))
	}
	var leaks []string
	groups := map[string][]string{}
	for _, a := range res.Attributes {
		if (a.Status == StatusRules || a.Status == StatusNoSignal) && a.IV > leakIV && res.TrainRows >= leakRows {
			leaks = append(leaks, fmt.Sprintf("%s (IV %.2f)", a.Column, a.IV))
		}
		switch a.Status {
		case StatusRules:
		case StatusNoSignal:
			groups["No value passed the thresholds"] = append(groups["No value passed the thresholds"], a.Column)
		default:
			groups[a.Status] = append(groups[a.Status], fmt.Sprintf("%s (%s)", a.Column, a.Note))
		}
	}
	if len(leaks) > 0 {
		h = append(h, "", "Warning: these separate suspiciously well; make sure they are known before the outcome:",
			"  "+strings.Join(leaks, ", "))
	}
	if len(res.dropped) > 0 {
		h = append(h, "", "Rules left out because their column is weaker and they fire on (nearly) the same rows as a rule kept, or on the rest:")
		for _, d := range res.dropped {
			h = append(h, "- "+d)
		}
	}
	h = append(h, "", "Columns without rules:")
	for _, st := range []string{StatusRedundant, "No value passed the thresholds", StatusOutcome, StatusExcluded, StatusIdentifier, StatusConstant, StatusEmpty} {
		if cols := groups[st]; len(cols) > 0 {
			h = append(h, fmt.Sprintf("- %s: %s", st, strings.Join(cols, ", ")))
		}
	}
	return h
}

func orPlaceholder(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

func missingFlag(m []string) string {
	if len(m) == 0 {
		return `""`
	}
	return strings.Join(m, ",")
}

func tierLine(r *backtest.Report) string {
	var parts []string
	for _, t := range r.Tiers {
		parts = append(parts, fmt.Sprintf("tier %s %s best (lift %s)", t.Name, pct(t.Rate), lift(t.Lift)))
	}
	if r.KnockedOut.Leads > 0 {
		parts = append(parts, fmt.Sprintf("knocked out %s rows, %s best", backtest.Count(r.KnockedOut.Leads), pct(r.KnockedOut.Rate)))
	}
	return strings.Join(parts, ", ")
}

// tests builds the proposal's own test cases from its rules, not from
// data rows (which stay out of the file): a lead with the value of each
// column's best rule, one with the value of each column's worst rule, and
// the first of those again with a knockout value, which must reject it
// whatever it scores. The decisions are the proposal's own: the cases pin
// its behaviour for whoever edits it next.
func (s *sample) tests(rs *rules.Ruleset, props []*ruleProp) []testCase {
	best, worst := map[*Attribute]*ruleProp{}, map[*Attribute]*ruleProp{}
	var attrs []*Attribute
	var ko *ruleProp
	for _, p := range props {
		if p.knockout {
			if ko == nil {
				ko = p
			}
			continue
		}
		if best[p.attr] == nil && worst[p.attr] == nil {
			attrs = append(attrs, p.attr)
		}
		if p.points > 0 && (best[p.attr] == nil || p.points > best[p.attr].points) {
			best[p.attr] = p
		}
		if p.points < 0 && (worst[p.attr] == nil || p.points < worst[p.attr].points) {
			worst[p.attr] = p
		}
	}
	profile := func(pick map[*Attribute]*ruleProp) map[*Attribute]string {
		out := map[*Attribute]string{}
		for _, a := range attrs {
			if p := pick[a]; p != nil {
				out[a] = s.example(a, p.level)
			}
		}
		return out
	}
	eo := engine.Options{Clock: func() time.Time { return s.opts.Now }}
	scorer := engine.NewRuleset(rs)
	var out []testCase
	add := func(name string, vals map[*Attribute]string) {
		if len(vals) == 0 {
			return
		}
		tc := testCase{name: name, ns: s.opts.Namespace, now: s.opts.Now.Format("2006-01-02")}
		in := engine.Input{Lead: map[string]any{}, Account: map[string]any{}}
		for _, f := range rs.Fields {
			for a, v := range vals {
				if a.Field != f.Name {
					continue
				}
				lit, _ := yamlValue(v, a.typ)
				tc.values = append(tc.values, kv{f.Key, lit})
				if f.Namespace == "account" {
					in.Account[f.Key] = v
				} else {
					in.Lead[f.Key] = v
				}
			}
		}
		d, err := scorer.Score(context.Background(), in, eo)
		if err != nil {
			return
		}
		tc.tier, tc.qual, tc.score = d.Tier, d.Qualified, d.Score
		for _, k := range d.Knockouts {
			tc.kos = append(tc.kos, k.Rule)
		}
		out = append(out, tc)
	}
	one := strings.TrimSuffix(s.opts.Noun, "s")
	article := "a "
	if strings.ContainsAny(one[:min(1, len(one))], "aeiou") {
		article = "an "
	}
	add(article+one+" with the best value of every column", profile(best))
	add(article+one+" with the worst value of every column", profile(worst))
	if ko != nil {
		vals := profile(best)
		vals[ko.attr] = s.example(ko.attr, ko.level)
		add(fmt.Sprintf("the best %s, but %s, is rejected", one, ko.desc), vals)
	}
	return out
}

// example returns a value, as text, that falls in a level: its first value,
// or for a band its lower bound (or the smallest value seen below its upper
// bound); dates as the date that many days before Now.
func (s *sample) example(a *Attribute, l Level) string {
	if a.Kind != "bands" {
		return l.Values[0]
	}
	var v float64
	switch {
	case l.Lo != nil:
		v = *l.Lo
	case a.minimum < *l.Hi:
		v = a.minimum
	default:
		v = *l.Hi - 1
	}
	if a.date {
		return s.opts.Now.AddDate(0, 0, -int(v)).Format("2006-01-02")
	}
	return formatNum(v)
}

// yamlValue writes a raw value as a YAML scalar of the field's type.
func yamlValue(v any, t rulefile.Type) (string, bool) {
	s := strings.TrimSpace(fmt.Sprint(v))
	switch t {
	case rulefile.TypeInt:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) {
			return strconv.FormatFloat(f, 'f', -1, 64), true
		}
		return "", false
	case rulefile.TypeFloat:
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			out := strconv.FormatFloat(f, 'f', -1, 64)
			if !strings.ContainsAny(out, ".e") {
				out += ".0"
			}
			return out, true
		}
		return "", false
	case rulefile.TypeBool:
		b, ok := boolWords[strings.ToLower(s)]
		return strconv.FormatBool(b), ok
	}
	return yamlString(fmt.Sprint(v)), true
}

// WriteHoldout writes the held-out rows with every column and BestColumn:
// CSV with the given delimiter (',' when 0), or JSONL when jsonl is set.
func (r *Result) WriteHoldout(w io.Writer, jsonl bool, delim rune) error {
	if jsonl {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, rec := range r.holdout {
			obj := map[string]any{}
			for _, k := range rec.Keys() {
				v, _ := rec.Get(k)
				obj[k] = v
			}
			if err := enc.Encode(obj); err != nil {
				return err
			}
		}
		return nil
	}
	cw := csv.NewWriter(w)
	if delim != 0 {
		cw.Comma = delim
	}
	if err := cw.Write(r.columns); err != nil {
		return err
	}
	row := make([]string, len(r.columns))
	for _, rec := range r.holdout {
		for i, c := range r.columns {
			row[i] = rec.Text(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// MappingYAML is a mapping file for `leadq backtest --map`: each field's
// column, the values that mean "no data", and the best column as outcome.
func (r *Result) MappingYAML() []byte {
	var b strings.Builder
	b.WriteString("# Mapping for leadq backtest --map, written by leadq derive.\n")
	fmt.Fprintf(&b, "outcome: %s=1\n", BestColumn)
	items := make([]string, len(r.missing))
	for i, m := range r.missing {
		items[i] = strconv.Quote(m)
	}
	fmt.Fprintf(&b, "missing: [%s]\n", strings.Join(items, ", "))
	if len(r.fields) == 0 {
		b.WriteString("fields: {}\n")
		return []byte(b.String())
	}
	b.WriteString("fields:\n")
	names := make([]string, 0, len(r.fields))
	for f := range r.fields {
		names = append(names, f)
	}
	slices.Sort(names)
	for _, f := range names {
		fmt.Fprintf(&b, "  %s: %s\n", f, strconv.Quote(r.fields[f]))
	}
	return []byte(b.String())
}

// WriteReport writes the evidence for people: every column with its
// status, and the levels of the analysed ones.
func (r *Result) WriteReport(w io.Writer) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("Training rows: %s, best %s (%s); held out %s\n", backtest.Count(int64(r.TrainRows)), backtest.Count(int64(r.TrainBest)),
		pct(ratio(r.TrainBest, r.TrainRows)), backtest.Count(int64(r.HoldoutRows)))
	for _, a := range r.Attributes {
		p("\n%s: %s", a.Column, a.Status)
		if a.Note != "" {
			p(" (%s)", a.Note)
		}
		if a.Status != StatusRules && a.Status != StatusNoSignal {
			p("\n")
			continue
		}
		p("; %s, %s; IV %.3f; %s rows with a value\n", a.Field, a.Type, a.IV, backtest.Count(int64(a.Present)))
		width := 5
		for _, l := range a.Levels {
			width = max(width, min(48, len([]rune(l.Label))))
		}
		p("  %-*s  %7s  %7s  %6s  %6s  %6s  %6s  %s\n", width, "value", "rows", "best", "rate", "share", "lift", "z", "proposal")
		for _, l := range a.Levels {
			label := l.Label
			if rs := []rune(label); len(rs) > 48 {
				label = string(rs[:47]) + "…"
			}
			prop := ""
			switch {
			case l.Knockout:
				prop = "knockout"
			case l.Points != 0:
				prop = fmt.Sprintf("%+d", l.Points)
			}
			p("  %-*s  %7s  %7s  %6s  %6s  %6s  %6.1f  %s\n", width, label, backtest.Count(int64(l.Rows)), backtest.Count(int64(l.Best)),
				pct(l.Rate), pct(l.ShareAll), lift(l.Lift), l.Z, prop)
		}
	}
	return err
}
