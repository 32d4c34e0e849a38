package derive

import (
	"cmp"
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

// ruleProp is one proposed score rule, with its evidence.
type ruleProp struct {
	id       string
	points   int
	when     string
	evidence []string
	reason   string
	desc     string
	col      *column
	bin      *bin
}

// write lays out the proposal, compiles it, adds its tests and returns it.
func (d *deriver) write() (*Result, error) {
	opts, res := d.opts, d.res
	ids := map[string]bool{}
	d.res.fields = map[string]string{}
	type colRules struct {
		col    *column
		rules  []*ruleProp
		spread int
	}
	var groups []colRules
	for _, c := range d.used {
		g := colRules{col: c}
		lo, hi := 0, 0
		for b := range c.bins {
			bn := &c.bins[b]
			lo, hi = min(lo, bn.points), max(hi, bn.points)
			if bn.points == 0 {
				continue
			}
			g.rules = append(g.rules, d.rule(c, bn, ids))
		}
		g.spread = hi - lo
		if len(g.rules) == 0 {
			c.attr.Status = StatusNoSignal
			continue
		}
		c.attr.Status = StatusRules
		d.res.fields[c.attr.Field] = c.attr.Column
		groups = append(groups, g)
	}
	slices.SortStableFunc(groups, func(x, y colRules) int { return cmp.Compare(y.spread, x.spread) })
	dc := &doc{name: opts.Name}
	dc.description = fmt.Sprintf("Proposed by leadq derive from %s: points fitted on %s %s (%s best, %s)", displayData(opts.Data),
		backtest.Count(int64(res.TrainRows)), opts.Noun, backtest.Count(int64(res.TrainBest)), opts.Best)
	for _, g := range groups {
		a := g.col.attr
		label := a.Column // the name the team knows the data by
		if label == a.Field || label == a.Field[strings.IndexByte(a.Field, '.')+1:] {
			label = "" // the field's own name says it already
		}
		dc.fields = append(dc.fields, fieldDecl{name: a.Field, typ: a.Type, label: label, unit: g.col.unit, comment: d.fieldComment(g.col)})
		dc.score = append(dc.score, g.rules...)
	}
	slices.SortFunc(dc.fields, func(x, y fieldDecl) int { return cmp.Compare(x.name, y.name) })
	for _, t := range res.Tiers {
		dc.tiers = append(dc.tiers, tierDecl{name: t.Name, min: t.Min, expect: t.Expected,
			comment: fmt.Sprintf("training: %s %s (%s), %s best; expected %s", backtest.Count(int64(t.Rows)), opts.Noun, pct(ratio(t.Rows, res.TrainRows)), pct(t.Rate), pct(t.Expected))})
	}
	// Qualified: the tiers expected to convert at twice the base rate, the
	// first tier at least.
	var q []string
	for i, t := range res.Tiers {
		if i == 0 || t.Expected >= 2*d.base && len(q) == i {
			q = append(q, strconv.Quote(t.Name))
		}
	}
	switch {
	case len(res.Tiers) == 1:
		dc.qualify = "false" // one score for everyone: nothing to tell leads apart
	case len(q) == 1:
		dc.qualify = "tier == " + q[0]
	default:
		dc.qualify = "tier in [" + strings.Join(q, ", ") + "]"
	}
	rs, err := compile(opts.Name, dc.bytes())
	if err != nil {
		return nil, err
	}
	dc.tests = d.tests(rs, len(groups) > 0)
	d.sortAttributes()
	dc.header = d.header()
	res.YAML = dc.bytes()
	if res.Ruleset, err = compile(opts.Name, res.YAML); err != nil {
		return nil, err
	}
	if rep := engine.RunTests(res.Ruleset, engine.TestOptions{}); rep.Failed() > 0 {
		return nil, fmt.Errorf("internal error: %d of the proposal's own tests fail", rep.Failed())
	}
	return res, nil
}

// sortAttributes fills each attribute's bins for the report and puts the
// columns with rules first, strongest first.
func (d *deriver) sortAttributes() {
	for _, c := range append(slices.Clone(d.used), d.unused...) {
		d.binReport(c)
	}
	res := d.res
	res.Attributes = res.Attributes[:0]
	for _, a := range d.attrs {
		res.Attributes = append(res.Attributes, *a)
	}
	rank := func(s string) int {
		return slices.Index([]string{StatusRules, StatusNoSignal, StatusLeak, StatusOutcome, StatusExcluded, StatusIdentifier, StatusConstant, StatusEmpty}, s)
	}
	slices.SortStableFunc(res.Attributes, func(x, y Attribute) int {
		return cmp.Or(cmp.Compare(rank(x.Status), rank(y.Status)), cmp.Compare(y.IV, x.IV))
	})
}

func (d *deriver) binReport(c *column) {
	c.attr.Bins = nil
	for i, b := range c.bins {
		if b.rows == 0 {
			continue
		}
		c.attr.Bins = append(c.attr.Bins, Bin{Label: c.label(b), Rows: b.rows, Best: b.best, Rate: b.rate(), Points: b.points, Ref: i == c.ref})
	}
}

// label is a bin as a short condition on the column, for the report.
func (c *column) label(b bin) string {
	switch {
	case b.missing:
		return "(missing)"
	case b.other:
		return fmt.Sprintf("(%d other values)", len(b.values))
	case b.eq != nil:
		return "== " + formatNum(*b.eq)
	case c.numeric && b.lo == nil && b.hi == nil:
		return "(any)"
	case c.numeric && b.lo == nil:
		return "< " + formatNum(*b.hi)
	case c.numeric && b.hi == nil:
		return ">= " + formatNum(*b.lo)
	case c.numeric:
		return fmt.Sprintf(">= %s and < %s", formatNum(*b.lo), formatNum(*b.hi))
	}
	return b.values[0]
}

// rule writes the rule of one bin that earns points.
func (d *deriver) rule(c *column, b *bin, ids map[string]bool) *ruleProp {
	opts := d.opts
	a := c.attr
	f := a.Field
	x := f
	if c.typ == rulefile.TypeDate {
		x = "days_since(" + f + ")"
	}
	r := &ruleProp{points: b.points, col: c, bin: b}
	var tail string
	switch {
	case b.missing:
		r.when = f + " == nil"
		tail = "missing"
	case b.eq != nil:
		r.when = x + " == " + formatNum(*b.eq)
		tail = numSlug(*b.eq)
	case b.other:
		var listed []string
		for _, o := range c.bins {
			if !o.other && !o.missing {
				lit, _ := yamlValue(o.values[0], c.typ)
				listed = append(listed, lit)
			}
		}
		r.when = fmt.Sprintf("%s != nil && %s not in [%s]", f, f, strings.Join(listed, ", "))
		tail = "other"
	case c.numeric && b.lo != nil && b.hi != nil:
		r.when = fmt.Sprintf("%s >= %s && %s < %s", x, formatNum(*b.lo), x, formatNum(*b.hi))
		tail = numSlug(*b.lo) + "-to-" + numSlug(*b.hi)
	case c.numeric && b.lo != nil:
		r.when = x + " >= " + formatNum(*b.lo)
		tail = numSlug(*b.lo) + "-plus"
	case c.numeric && b.hi != nil:
		r.when = x + " < " + formatNum(*b.hi)
		tail = "under-" + numSlug(*b.hi)
	default:
		lit, _ := yamlValue(b.values[0], c.typ)
		r.when = f + " == " + lit
		tail = slug(b.values[0])
	}
	id := kebab(a.Column) + "-" + tail
	if k := kebab(a.Column); k == "" {
		id = "column-" + tail
	}
	r.id = id
	for n := 2; ids[r.id]; n++ {
		r.id = fmt.Sprintf("%s-%d", id, n)
	}
	ids[r.id] = true
	unit := c.unit
	if c.typ == rulefile.TypeDate {
		unit = "days ago" // the rule reads days_since(field)
	}
	r.desc = c.describe(*b, unit)
	if b.missing {
		r.desc += ": no value, which itself tells something"
	}
	r.reason = r.desc
	odds := math.Exp2(float64(b.points) / opts.PDO)
	r.evidence = []string{
		fmt.Sprintf("training: %s %s (%s), %s best (%s overall)", backtest.Count(int64(b.rows)), opts.Noun, pct(ratio(b.rows, d.res.TrainRows)), pct(b.rate()), pct(d.base)),
		fmt.Sprintf("fitted with the other rules: odds x%s against %s, %+d points", strconv.FormatFloat(odds, 'f', 2, 64), c.refPhrase(), b.points),
	}
	return r
}

// refPhrase names the reference bin of a column, the one without a rule.
func (c *column) refPhrase() string {
	b := c.bins[c.ref]
	switch {
	case b.other:
		return "its other values"
	case b.missing:
		return "no value"
	}
	return c.label(b)
}

func numSlug(v float64) string {
	s := formatNum(v + 0)
	if v < 0 {
		s = "minus-" + s[1:]
	}
	return strings.ReplaceAll(s, ".", "-")
}

// slug turns a value into the kebab-case tail of a rule id.
func slug(s string) string {
	k := kebab(s)
	if len(k) > 40 {
		k = strings.TrimRight(k[:40], "-")
	}
	if k == "" {
		k = "value"
	}
	return k
}

func (d *deriver) fieldComment(c *column) string {
	s := fmt.Sprintf("column %q; IV %.2f", c.attr.Column, c.attr.IV)
	if c.typ == rulefile.TypeDate {
		s += "; read as days since the date"
	}
	return s
}

// header explains the proposal: where it comes from, how the points were
// fitted, how it does, and which columns were left out and why.
func (d *deriver) header() []string {
	opts, res := d.opts, d.res
	h := []string{"Proposed by leadq derive from " + displayData(opts.Data) + "."}
	if opts.Command != "" {
		h = append(h, "  "+opts.Command)
	}
	h = append(h, "",
		fmt.Sprintf("Best %s: %s: %s of %s training rows (%s).", opts.Noun, opts.Best, backtest.Count(int64(res.TrainBest)), backtest.Count(int64(res.TrainRows)), pct(d.base)))
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
	cv := "on a sample of " + backtest.Count(int64(res.CVRows)) + " of them"
	if res.CVRows == res.TrainRows {
		cv = "on the training rows"
	}
	h = append(h, "",
		"How the points were fitted (a scorecard, as credit-risk teams build them):",
		fmt.Sprintf("- each column is cut into bins: numbers into ranges of at least %s of the rows%s whose rate of best rows rises or falls steadily where the data allow (a value at an end that a tenth of the rows hold is a bin of its own), values on under %s of the rows pooled, and rows without a value a bin of their own, which can earn points;",
			percent(res.MinBin), minBinPhrase(opts.MinBin), percent(opts.MinValue)),
		fmt.Sprintf("- a logistic regression on the bins, all columns at once, so that correlated columns do not count twice; its ridge penalty (%s, pulling towards %s) was chosen by %d-fold cross-validation %s (cross-validated ROC AUC %.3f);", formatNum(res.Lambda), priorPhrase(res.Prior), opts.Folds, cv, res.CVAUC),
		fmt.Sprintf("- points are each bin's fitted log-odds against its column's reference bin (which has no rule), at %s points per doubling of the odds, rounded; a bin that rounds to 0 has no rule;", formatNum(opts.PDO)),
		fmt.Sprintf("- tiers: %s; each tier's expect is the rate of best rows cross-validation saw in the same share of rows, what to expect of new ones.", tierPhrase(opts.Tiers)),
		"",
		fmt.Sprintf("On the training rows: ROC AUC %.3f; %s.", res.AUC, d.tierLine()),
	)
	if len(res.Leaks) > 0 {
		h = append(h, "", "Warning: these look recorded after contact; left out unless --keep names them:")
		for _, l := range res.Leaks {
			h = append(h, "- "+l)
		}
	}
	if len(res.Warnings) > 0 {
		h = append(h, "", "Warning: make sure these are known before contact:")
		for _, l := range res.Warnings {
			h = append(h, "- "+l)
		}
	}
	groups := map[string][]string{}
	for _, a := range res.Attributes {
		switch a.Status {
		case StatusRules:
		case StatusNoSignal:
			groups[a.Status] = append(groups[a.Status], a.Column)
		default:
			groups[a.Status] = append(groups[a.Status], fmt.Sprintf("%s (%s)", a.Column, a.Note))
		}
	}
	h = append(h, "", "Columns without rules:")
	for _, st := range []string{StatusNoSignal, StatusLeak, StatusOutcome, StatusExcluded, StatusIdentifier, StatusConstant, StatusEmpty} {
		if cols := groups[st]; len(cols) > 0 {
			h = append(h, fmt.Sprintf("- %s: %s", st, strings.Join(cols, ", ")))
		}
	}
	return h
}

// percent writes a share as a percentage with up to three digits.
func percent(f float64) string { return formatNum(roundSig(f*100, 3)) + "%" }

func minBinPhrase(given float64) string {
	if given > 0 {
		return ""
	}
	var s []string
	for _, m := range minBins {
		s = append(s, percent(m))
	}
	return " (chosen by cross-validation from " + strings.Join(s, ", ") + ")"
}

func priorPhrase(woe bool) string {
	if woe {
		return "each bin's own weight of evidence"
	}
	return "zero"
}

func tierPhrase(t Tiers) string {
	switch {
	case len(t.Rates) > 0:
		return "each as large as keeps its expected rate at " + t.String()[len("rate:"):] + "%"
	case len(t.Capacity) > 0:
		return "by capacity, " + t.String()
	}
	return "shares " + t.String() + "% of the training rows from the top, the rest in the last"
}

func (d *deriver) tierLine() string {
	var parts []string
	for _, t := range d.res.Tiers {
		parts = append(parts, fmt.Sprintf("tier %s %s of rows, %s best", t.Name, pct(ratio(t.Rows, d.res.TrainRows)), pct(t.Rate)))
	}
	return strings.Join(parts, ", ")
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

// tests builds the proposal's own test cases from its rules, not from
// data rows: a lead in the best-scoring bin of every column and one in the
// worst. The decisions are the proposal's own: the cases pin its behaviour
// for whoever edits it next.
func (d *deriver) tests(rs *rules.Ruleset, hasRules bool) []testCase {
	eo := engine.Options{Clock: func() time.Time { return d.opts.Now }}
	scorer := engine.NewRuleset(rs)
	var out []testCase
	add := func(name string, pick func(a, b int) bool) {
		tc := testCase{name: name, ns: d.opts.Namespace, now: d.opts.Now.Format("2006-01-02")}
		in := engine.Input{Lead: map[string]any{}, Account: map[string]any{}}
		for _, f := range rs.Fields {
			for _, c := range d.used {
				if c.attr.Field != f.Name || c.attr.Status != StatusRules {
					continue
				}
				var chosen *bin
				for b := range c.bins {
					bn := &c.bins[b]
					if bn.rows > 0 && (chosen == nil || pick(bn.points, chosen.points)) {
						chosen = bn
					}
				}
				v, ok := d.example(c, *chosen)
				if !ok {
					continue // a missing value: the field is left out
				}
				lit, _ := yamlValue(v, c.typ)
				tc.values = append(tc.values, kv{f.Key, lit})
				if f.Namespace == "account" {
					in.Account[f.Key] = v
				} else {
					in.Lead[f.Key] = v
				}
			}
		}
		dec, err := scorer.Score(context.Background(), in, eo)
		if err != nil {
			return
		}
		tc.tier, tc.qual, tc.score = dec.Tier, dec.Qualified, dec.Score
		out = append(out, tc)
	}
	one := strings.TrimSuffix(d.opts.Noun, "s")
	article := "a "
	if strings.ContainsAny(one[:min(1, len(one))], "aeiou") {
		article = "an "
	}
	if !hasRules {
		return nil
	}
	add(article+one+" in the best bin of every column", func(a, b int) bool { return a > b })
	add(article+one+" in the worst bin of every column", func(a, b int) bool { return a < b })
	return out
}

// example returns a value, as text, that falls in a bin; ok is false for
// the missing bin.
func (d *deriver) example(c *column, b bin) (string, bool) {
	var v float64
	switch {
	case b.missing:
		return "", false
	case !c.numeric:
		return b.values[0], true
	case b.eq != nil:
		v = *b.eq
	case b.lo != nil:
		v = *b.lo
	case b.hi != nil:
		v = *b.hi - 1
	}
	if c.typ == rulefile.TypeDate {
		return d.opts.Now.AddDate(0, 0, -int(v)).Format("2006-01-02"), true
	}
	return formatNum(v), true
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

// NewRowWriter returns a RowWriter for Options.HoldOut: CSV with the given
// delimiter (',' when 0), the header first, or JSON Lines when jsonl is
// set. Call Flush at the end.
func NewRowWriter(w io.Writer, jsonl bool, delim rune) *RowWriterTo {
	rw := &RowWriterTo{jsonl: jsonl}
	if jsonl {
		rw.enc = json.NewEncoder(w)
		rw.enc.SetEscapeHTML(false)
		return rw
	}
	rw.csv = csv.NewWriter(w)
	if delim != 0 {
		rw.csv.Comma = delim
	}
	return rw
}

// RowWriterTo writes rows to an io.Writer as CSV or JSON Lines.
type RowWriterTo struct {
	jsonl  bool
	enc    *json.Encoder
	csv    *csv.Writer
	header bool
	row    []string
}

// WriteRow writes one row; the first call writes a CSV header.
func (w *RowWriterTo) WriteRow(cols []string, rec backtest.Record) error {
	if w.jsonl {
		obj := map[string]any{}
		for _, k := range rec.Keys() {
			v, _ := rec.Get(k)
			obj[k] = v
		}
		if len(obj) == 0 {
			for _, c := range cols {
				if v, ok := rec.Get(c); ok {
					obj[c] = v
				}
			}
		}
		return w.enc.Encode(obj)
	}
	if !w.header {
		w.header = true
		if err := w.csv.Write(cols); err != nil {
			return err
		}
	}
	w.row = w.row[:0]
	for _, c := range cols {
		w.row = append(w.row, rec.Text(c))
	}
	return w.csv.Write(w.row)
}

// Flush writes what CSV buffered and returns the first write error.
func (w *RowWriterTo) Flush() error {
	if w.csv == nil {
		return nil
	}
	w.csv.Flush()
	return w.csv.Error()
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
// status, and the bins of the fitted ones with their points.
func (r *Result) WriteReport(w io.Writer) error {
	var err error
	p := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, args...)
		}
	}
	p("Training rows: %s, best %s (%s); held out %s\n", backtest.Count(int64(r.TrainRows)), backtest.Count(int64(r.TrainBest)),
		pct(ratio(r.TrainBest, r.TrainRows)), backtest.Count(int64(r.HoldoutRows)))
	p("Ranges of numbers of at least %s of the rows; ridge penalty %s towards %s; cross-validated ROC AUC %.3f; on the training rows %.3f\n", percent(r.MinBin), formatNum(r.Lambda), priorPhrase(r.Prior), r.CVAUC, r.AUC)
	for _, a := range r.Attributes {
		p("\n%s: %s", a.Column, a.Status)
		if a.Note != "" {
			p(" (%s)", a.Note)
		}
		if len(a.Bins) == 0 {
			p("\n")
			continue
		}
		p("; %s, %s; IV %.3f; %s rows with a value\n", a.Field, a.Type, a.IV, backtest.Count(int64(a.Present)))
		width := 5
		for _, b := range a.Bins {
			width = max(width, min(48, len([]rune(b.Label))))
		}
		p("  %-*s  %7s  %7s  %6s  %s\n", width, "bin", "rows", "best", "rate", "points")
		for _, b := range a.Bins {
			label := b.Label
			if rs := []rune(label); len(rs) > 48 {
				label = string(rs[:47]) + "…"
			}
			pts := fmt.Sprintf("%+d", b.Points)
			if b.Ref {
				pts = "reference"
			} else if b.Points == 0 {
				pts = "0 (no rule)"
			}
			p("  %-*s  %7s  %7s  %6s  %s\n", width, label, backtest.Count(int64(b.Rows)), backtest.Count(int64(b.Best)), pct(b.Rate), pts)
		}
	}
	return err
}
