package derive

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// leakIV is the information value above which a column separates so well
// that it may well be recorded after the outcome. Credit scoring calls 0.5
// suspicious; lead data has honest signals up to about 1 (X Education's
// occupation 0.94, its post-contact Tags 4.7).
const leakIV = 1.0

func fieldComment(a Attribute) string {
	s := fmt.Sprintf("column %q; IV %.2f", a.Column, a.IV)
	if a.date {
		s += "; read as days since the date"
	}
	if a.IV > leakIV {
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
		if (a.Status == StatusRules || a.Status == StatusNoSignal) && a.IV > leakIV {
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
	h = append(h, "", "Columns without rules:")
	for _, st := range []string{"No value passed the thresholds", StatusOutcome, StatusExcluded, StatusIdentifier, StatusConstant, StatusEmpty} {
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

// tests picks training rows as the proposal's own test cases: the highest
// scoring best row, the lowest scoring row, and a knocked-out row. They
// pin the proposal's behaviour for whoever edits it next.
func (s *sample) tests(rs *rules.Ruleset, b *backtest.Binder, eo engine.EvalOptions, res *Result) []testCase {
	type scored struct {
		i int
		d engine.Decision
	}
	var top, low, ko *scored
	for i, rec := range s.rows {
		d, err := engine.Evaluate(rs, b.Input(rec), eo)
		if err != nil {
			continue
		}
		sc := &scored{i, d}
		switch {
		case len(d.Knockouts) > 0:
			if ko == nil {
				ko = sc
			}
		default:
			if s.best[i] && (top == nil || d.Score > top.d.Score) {
				top = sc
			}
			if low == nil || d.Score < low.d.Score {
				low = sc
			}
		}
	}
	var out []testCase
	for _, c := range []struct {
		sc   *scored
		what string
	}{{top, "the highest-scoring best row"}, {low, "the lowest-scoring row"}, {ko, "a knocked-out row"}} {
		if c.sc == nil {
			continue
		}
		rec := s.rows[c.sc.i]
		in := b.Input(rec)
		tc := testCase{ns: s.opts.Namespace, now: s.opts.Now.Format("2006-01-02"), tier: c.sc.d.Tier, qual: c.sc.d.Qualified, score: c.sc.d.Score}
		vals := in.Lead
		if tc.ns == "account" {
			vals = in.Account
		}
		for _, f := range rs.Fields {
			if v, ok := vals[f.Key]; ok {
				if lit, ok := yamlValue(v, f.Type); ok {
					tc.values = append(tc.values, kv{f.Key, lit})
				}
			}
		}
		for _, k := range c.sc.d.Knockouts {
			tc.kos = append(tc.kos, k.Rule)
		}
		bestWord := "not best"
		if s.best[c.sc.i] {
			bestWord = "best"
		}
		tc.name = fmt.Sprintf("training row at line %d (%s) is tier %s", rec.Line, bestWord, tc.tier)
		if len(tc.kos) > 0 {
			tc.name = fmt.Sprintf("training row at line %d (%s) is knocked out", rec.Line, bestWord)
		}
		tc.comment = c.what
		out = append(out, tc)
	}
	return out
}

// yamlValue writes a raw value as a YAML scalar of the field's type.
func yamlValue(v any, t rules.Type) (string, bool) {
	s := strings.TrimSpace(fmt.Sprint(v))
	switch t {
	case rules.TypeInt:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10), true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) {
			return strconv.FormatFloat(f, 'f', -1, 64), true
		}
		return "", false
	case rules.TypeFloat:
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			out := strconv.FormatFloat(f, 'f', -1, 64)
			if !strings.ContainsAny(out, ".e") {
				out += ".0"
			}
			return out, true
		}
		return "", false
	case rules.TypeBool:
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
