package derive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// BestColumn is the column Derive adds to every row: 1 for the best rows,
// 0 for the others. The held-out rows carry it, so that
// `leadq backtest --outcome leadq_best=1` measures the proposal on them
// whatever defined "best".
const BestColumn = "leadq_best"

// Options configure Derive. The zero value of each tuning field means its
// default.
type Options struct {
	Best      Best
	Namespace string   // "lead" (default) or "account": where the fields go
	Name      string   // ruleset name, kebab-case; default "derived"
	Data      string   // the data's name, for comments
	Command   string   // the command line, for the header comment
	Files     Files    // where the caller writes the outputs, for the header comment
	Include   []string // only these columns (names or path.Match globs); empty: all
	Exclude   []string // never these columns (names or globs), such as ones that leak the outcome
	Summaries []string // columns summarising joined rows (--join-agg): outcome data, never analysed
	Missing   []string // values that mean "no data" besides the empty value, such as Select
	Noun      string   // what a row is, for comments; default "leads" or "accounts" after the namespace
	Now       time.Time

	Holdout float64 // fraction of rows held out of the analysis, 0 <= Holdout < 1
	Seed    uint64  // seeds the holdout split

	Bands      int       // quantile bands per numeric column; default 5
	MinSupport int       // rows a value needs for a rule; default max(10, 0.5% of the training rows)
	MinZ       float64   // how far (standard deviations) a value's rate must lie from the base rate; default 1.96
	PDO        float64   // points that double the odds of being best; default 20
	MaxPoints  int       // the most points one rule may give or take; default 50
	MinPoints  int       // the fewest points worth a rule; default 10 (odds 1.4 times or 0.7 times the base)
	TierShares []float64 // the share of training rows in each tier from the top; default 0.2, 0.3, 0.3 (the rest in the last)
}

func (o *Options) defaults() error {
	if o.Namespace == "" {
		o.Namespace = "lead"
	}
	if o.Namespace != "lead" && o.Namespace != "account" {
		return fmt.Errorf("namespace %q: use lead or account", o.Namespace)
	}
	if o.Name == "" {
		o.Name = "derived"
	}
	if o.Noun == "" {
		o.Noun = o.Namespace + "s"
	}
	if o.Holdout < 0 || o.Holdout >= 1 {
		return fmt.Errorf("holdout %v: give a fraction from 0 up to (not including) 1", o.Holdout)
	}
	if o.Bands == 0 {
		o.Bands = 5
	}
	if o.Bands < 2 {
		return fmt.Errorf("bands %d: need at least 2", o.Bands)
	}
	if o.MinZ == 0 {
		o.MinZ = 1.96
	}
	if o.PDO == 0 {
		o.PDO = 20
	}
	if o.MaxPoints == 0 {
		o.MaxPoints = 50
	}
	if o.MinPoints == 0 {
		o.MinPoints = 10
	}
	if o.MinPoints > o.MaxPoints {
		return fmt.Errorf("min points %d above max points %d", o.MinPoints, o.MaxPoints)
	}
	if o.TierShares == nil {
		o.TierShares = []float64{0.2, 0.3, 0.3}
	}
	var sum float64
	for _, s := range o.TierShares {
		if s <= 0 {
			return fmt.Errorf("tier shares %v: each must be above 0", o.TierShares)
		}
		sum += s
	}
	if sum >= 1 || len(o.TierShares) > 25 {
		return fmt.Errorf("tier shares %v: they must add up to less than 1, leaving a last tier", o.TierShares)
	}
	o.Now = nowOr(o.Now)
	return nil
}

// Files names the files a caller writes, so that the proposal's header can
// give the exact backtest command. Empty names are left as placeholders.
type Files struct {
	Rules, Holdout, Mapping string
}

// Best says which rows are the best: those matching an expression over the
// columns, those whose outcome is positive, or the top rows by a column.
type Best struct {
	Expr    string            // a backtest.RowExpr, like Converted == "1"
	Outcome *backtest.Outcome // COLUMN=VALUE; rows with an unknown outcome are left out
	Top     int               // the Top rows with the highest Column
	TopPct  float64           // or this fraction of the rows
	Column  string
}

// ParseBest reads --best: top:N:COLUMN, top:P%:COLUMN, or an expression.
func ParseBest(s string) (Best, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "top:"); ok {
		n, col, ok := strings.Cut(rest, ":")
		if !ok || strings.TrimSpace(col) == "" {
			return Best{}, fmt.Errorf("%q: expected top:N:COLUMN or top:P%%:COLUMN, like top:20:close_value", s)
		}
		b := Best{Column: strings.TrimSpace(col)}
		if p, ok := strings.CutSuffix(n, "%"); ok {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil || f <= 0 || f >= 100 {
				return Best{}, fmt.Errorf("%q: %s is not a percentage between 0 and 100", s, n)
			}
			b.TopPct = f / 100
			return b, nil
		}
		top, err := strconv.Atoi(n)
		if err != nil || top < 1 {
			return Best{}, fmt.Errorf("%q: %s is not a positive whole number", s, n)
		}
		b.Top = top
		return b, nil
	}
	if s == "" {
		return Best{}, errors.New("empty: give an expression like 'Converted == \"1\"' or top:20:close_value")
	}
	return Best{Expr: s}, nil
}

// BestError is a --best expression that does not compile against the
// data's columns.
type BestError struct{ Err error }

func (e *BestError) Error() string { return "--best: " + e.Err.Error() }
func (e *BestError) Unwrap() error { return e.Err }

// String describes the rule in the words of the command line.
func (b Best) String() string {
	switch {
	case b.Outcome != nil:
		return b.Outcome.String()
	case b.Top > 0:
		return fmt.Sprintf("top %d by %s", b.Top, b.Column)
	case b.TopPct > 0:
		return fmt.Sprintf("top %s by %s", formatNum(b.TopPct*100)+"%", b.Column)
	}
	return b.Expr
}

// Result is a proposed ruleset with its evidence.
type Result struct {
	YAML       []byte           // the rule file, commented
	Ruleset    *rules.Ruleset   // YAML compiled
	Attributes []Attribute      // every column, best separating first
	Train      *backtest.Report // the proposal backtested on the training rows

	Rows              int // well-formed rows read
	Malformed         int
	MalformedExamples []string
	Unlabelled        int // rows left out: outcome unknown
	ExprErrors        int // rows on which --best failed (counted as not best)
	TrainRows         int
	TrainBest         int
	HoldoutRows       int
	HoldoutBest       int
	Ties              int // rows beyond Top that tie with the last one and count as best

	columns  []string // of every row, BestColumn included
	complete bool
	holdout  []backtest.Record
	dropped  []string          // rules left out as double counting, with why
	fields   map[string]string // field -> column
	missing  []string
}

// Derive reads every row of src, labels the best, holds some rows out, and
// compares the best with all rows of the training split column by column.
// From the evidence it proposes a ruleset that compiles, with a comment on
// every rule stating its evidence, tiers cut from the score distribution of
// the training rows, and tests taken from them. It holds the rows in
// memory: deriving is for best-customer lists and history of up to a few
// million rows, unlike backtest.Run.
func Derive(ctx context.Context, src backtest.Source, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	res := &Result{}
	var rows []backtest.Record
	for {
		rec, err := src.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *backtest.RowError
		if errors.As(err, &re) {
			res.Malformed++
			if len(res.MalformedExamples) < 5 {
				res.MalformedExamples = append(res.MalformedExamples, re.Error())
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(rows)%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rows = append(rows, rec)
	}
	res.Rows = len(rows)
	cols, complete := src.Columns()
	if !complete { // JSONL: every key seen
		seen := map[string]bool{}
		for _, c := range cols {
			seen[c] = true
		}
		for _, r := range rows {
			for _, k := range r.Keys() {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil, errors.New("no rows to derive from")
	}

	labels, refs, err := label(rows, cols, complete, opts.Best, res)
	if err != nil {
		return nil, err
	}
	ext := backtest.NewExtender(cols, BestColumn)
	res.columns, res.complete = ext.Columns(), complete
	hold := split(labels, opts.Holdout, opts.Seed)
	s := &sample{opts: &opts, missing: map[string]bool{"": true}}
	for _, m := range opts.Missing {
		s.missing[strings.TrimSpace(m)] = true
	}
	res.missing = append([]string{""}, opts.Missing...)
	for i, rec := range rows {
		if labels[i] < 0 {
			continue
		}
		rec = ext.Apply(rec, strconv.Itoa(labels[i]))
		if hold[i] {
			res.holdout = append(res.holdout, rec)
			res.HoldoutRows++
			res.HoldoutBest += labels[i]
			continue
		}
		s.rows = append(s.rows, rec)
		s.best = append(s.best, labels[i] == 1)
		s.nBest += labels[i]
	}
	res.TrainRows, res.TrainBest = len(s.rows), s.nBest
	if s.nBest == 0 || s.nBest == len(s.rows) {
		return nil, fmt.Errorf("%s of %s training rows are best: need both best and other rows to compare", backtest.Count(int64(s.nBest)), backtest.Count(int64(len(s.rows))))
	}
	s.base = float64(s.nBest) / float64(len(s.rows))
	s.support = opts.MinSupport
	if s.support == 0 {
		s.support = max(10, int(math.Ceil(0.005*float64(len(s.rows)))))
	}

	// Analyse every column.
	keys := map[string]bool{}
	for _, col := range cols {
		a := Attribute{Column: col}
		switch {
		case slices.Contains(refs, col) || col == BestColumn:
			a.Status, a.Note = StatusOutcome, "defines the best rows"
		case len(opts.Include) > 0 && !matchAny(opts.Include, col):
			a.Status, a.Note = StatusExcluded, "not in --include"
		case matchAny(opts.Exclude, col):
			a.Status, a.Note = StatusExcluded, "--exclude"
		case !utf8.ValidString(col):
			a.Status, a.Note = StatusExcluded, "the name is not valid UTF-8, which rule files cannot hold"
		case slices.Contains(opts.Summaries, col) && !matchAny(opts.Include, col):
			a.Status, a.Note = StatusExcluded, "a summary of the joined rows; --include it to use it"
		}
		if a.Status == "" {
			s.analyse(&a)
		}
		if a.Status == "" {
			// lead.x and account.x columns (flattened JSONL input) keep their key.
			base := backtest.Normalise(strings.TrimPrefix(strings.TrimPrefix(col, "lead."), "account."))
			if base == "" {
				base = "column"
			}
			key := base
			for n := 2; keys[key]; n++ {
				key = fmt.Sprintf("%s_%d", base, n)
			}
			keys[key] = true
			a.Field = opts.Namespace + "." + key
			a.date = a.typ == rulefile.TypeDate
		}
		res.Attributes = append(res.Attributes, a)
	}

	// Propose rules, strongest attributes first.
	order := make([]int, 0, len(res.Attributes))
	for i := range res.Attributes {
		if res.Attributes[i].Status == "" {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(res.Attributes[y].IV, res.Attributes[x].IV) })
	var ids idSet
	var props []*ruleProp
	for _, i := range order {
		a := &res.Attributes[i]
		rs := s.propose(a, &ids)
		if len(rs) == 0 {
			a.Status = StatusNoSignal
			continue
		}
		props = append(props, rs...)
	}
	eo := engine.Options{Clock: func() time.Time { return opts.Now }}
	if props, err = s.dedupe(props, res, eo); err != nil {
		return nil, err
	}
	res.fields = map[string]string{}
	for _, p := range props {
		p.attr.Status = StatusRules
		res.fields[p.attr.Field] = p.attr.Column
	}
	for i := range res.Attributes {
		if a := &res.Attributes[i]; a.Status == "" {
			a.Status = StatusRedundant
		}
	}

	// A first compile with one tier gives the scores the tiers are cut from.
	d := s.doc(props)
	d.tiers = []tierDecl{{name: "D", comment: "placeholder"}}
	draft, err := compile(opts.Name, d.bytes())
	if err != nil {
		return nil, err
	}
	bind, err := backtest.NewBinder(draft, res.columns, complete, res.mapping())
	if err != nil {
		return nil, err
	}
	var scores []int
	scorer := engine.NewRuleset(draft)
	for _, rec := range s.rows {
		dec, err := scorer.Score(context.Background(), bind.Input(rec), eo)
		if err == nil && len(dec.Knockouts) == 0 {
			scores = append(scores, dec.Score)
		}
	}
	mins := tierMins(scores, opts.TierShares)
	d.tiers = nil
	names := []string{"A", "B", "C", "D", "E", "F"}
	if len(mins)+1 > len(names) {
		names = nil
		for i := range len(mins) + 1 {
			names = append(names, fmt.Sprintf("T%d", i+1))
		}
	}
	for i, m := range mins {
		d.tiers = append(d.tiers, tierDecl{name: names[i], min: &m})
	}
	d.tiers = append(d.tiers, tierDecl{name: names[len(mins)]})
	switch {
	case len(d.tiers) >= 3:
		d.qualify = fmt.Sprintf(`tier in ["%s", "%s"]`, d.tiers[0].name, d.tiers[1].name)
	case len(d.tiers) == 1:
		d.qualify = "false" // one score for everyone: nothing to tell leads apart
	}
	tiered, err := compile(opts.Name, d.bytes())
	if err != nil {
		return nil, err
	}
	d.tests = s.tests(tiered, props)

	// The final file: header with the training backtest, tier comments.
	rs, err := compile(opts.Name, d.bytes())
	if err != nil {
		return nil, err
	}
	train, err := backtest.Run(ctx, rs, &backtest.Records{Cols: res.columns, Complete: complete, Rows: s.rows},
		backtest.Options{Binder: mustBinder(rs, res), Outcome: backtest.Outcome{Column: BestColumn, Positive: []string{"1"}}, Now: opts.Now, Data: "training rows"})
	if err != nil {
		return nil, err
	}
	res.Train = train
	for i := range d.tiers {
		d.tiers[i].comment = tierComment(train, i, d.tiers[i], opts.Noun)
	}
	// Rules point into Attributes: sort them only now that the rules are text.
	slices.SortStableFunc(res.Attributes, func(x, y Attribute) int {
		return cmp.Or(cmp.Compare(statusRank(x.Status), statusRank(y.Status)), cmp.Compare(y.IV, x.IV))
	})
	d.header = s.header(res, opts)
	res.YAML = d.bytes()
	if res.Ruleset, err = compile(opts.Name, res.YAML); err != nil {
		return nil, err
	}
	if rep := engine.RunTests(res.Ruleset, engine.TestOptions{}); rep.Failed() > 0 {
		return nil, fmt.Errorf("internal error: %d of the proposal's own tests fail", rep.Failed())
	}
	return res, nil
}

func mustBinder(rs *rules.Ruleset, res *Result) *backtest.Binder {
	b, err := backtest.NewBinder(rs, res.columns, res.complete, res.mapping())
	if err != nil {
		panic(err) // the fields were made from these columns
	}
	return b
}

// compile parses and compiles a proposal. An error is a bug in derive: its
// output must always compile.
func compile(name string, src []byte) (*rules.Ruleset, error) {
	f, err := rules.Parse(name+".yaml", src)
	if err != nil {
		return nil, fmt.Errorf("internal error: the proposal does not parse: %w\n%s", err, src)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		return nil, fmt.Errorf("internal error: the proposal does not compile: %w\n%s", err, src)
	}
	return rs, nil
}

func statusRank(s string) int {
	return slices.Index([]string{StatusRules, StatusRedundant, StatusNoSignal, StatusOutcome, StatusExcluded, StatusIdentifier, StatusConstant, StatusEmpty}, s)
}

func matchAny(patterns []string, col string) bool {
	for _, p := range patterns {
		if p == col || backtest.Normalise(p) == backtest.Normalise(col) {
			return true
		}
		if ok, err := path.Match(p, col); err == nil && ok {
			return true
		}
	}
	return false
}

func displayData(s string) string {
	if s == "" {
		return "the data"
	}
	return s
}

// label marks each row 1 (best), 0 (rest) or -1 (unknown outcome) and
// returns the columns that define "best", which the analysis leaves out.
func label(rows []backtest.Record, cols []string, complete bool, best Best, res *Result) ([]int, []string, error) {
	labels := make([]int, len(rows))
	switch {
	case best.Outcome != nil:
		if complete && !slices.Contains(cols, best.Outcome.Column) {
			return nil, nil, fmt.Errorf("no outcome column %q in the data%s", best.Outcome.Column, suggest(best.Outcome.Column, cols))
		}
		for i, r := range rows {
			labels[i] = best.Outcome.Label(r)
			if labels[i] < 0 {
				res.Unlabelled++
			}
		}
		return labels, []string{best.Outcome.Column}, nil
	case best.Top > 0 || best.TopPct > 0:
		if complete && !slices.Contains(cols, best.Column) {
			return nil, nil, fmt.Errorf("no column %q to rank by%s", best.Column, suggest(best.Column, cols))
		}
		vals := make([]float64, len(rows))
		for i, r := range rows {
			f, err := strconv.ParseFloat(strings.TrimSpace(r.Text(best.Column)), 64)
			if err != nil || math.IsNaN(f) {
				f = math.Inf(-1)
			}
			vals[i] = f
		}
		top := best.Top
		if best.TopPct > 0 {
			top = max(1, int(math.Round(best.TopPct*float64(len(rows)))))
		}
		sorted := slices.Clone(vals)
		slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
		if top > len(sorted) {
			top = len(sorted)
		}
		cut := sorted[top-1]
		n := 0
		for i, v := range vals {
			if v >= cut && !math.IsInf(v, -1) {
				labels[i] = 1
				n++
			}
		}
		res.Ties = max(0, n-top)
		return labels, []string{best.Column}, nil
	}
	e, err := backtest.CompileRowExpr(best.Expr, cols, complete)
	if err != nil {
		return nil, nil, &BestError{err}
	}
	for i, r := range rows {
		ok, err := e.Match(r)
		if err != nil {
			res.ExprErrors++
		}
		if ok {
			labels[i] = 1
		}
	}
	return labels, e.Columns(), nil
}

func suggest(s string, cols []string) string {
	best, bestD := "", 3
	for _, c := range cols {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

// split marks the rows to hold out: frac of the best rows and frac of the
// others (stratified, so that small best lists split evenly), chosen by a
// permutation seeded with seed. The same data and seed give the same split.
func split(labels []int, frac float64, seed uint64) []bool {
	hold := make([]bool, len(labels))
	if frac == 0 {
		return hold
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for _, want := range []int{1, 0} {
		var idx []int
		for i, l := range labels {
			if l == want {
				idx = append(idx, i)
			}
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:int(math.Round(frac*float64(len(idx))))] {
			hold[i] = true
		}
	}
	return hold
}

// tierMins cuts tiers from scores: for each cumulative share (0.2, 0.5,
// 0.8 by default) the score whose "this score or more" share comes
// closest, each strictly below the last. A tier that would be empty, or
// hold less than a third of its share (ties make scores lumpy), is left
// out and its rows go to the next.
func tierMins(scores []int, shares []float64) []int {
	if len(scores) == 0 {
		return nil
	}
	sorted := slices.Clone(scores)
	slices.SortFunc(sorted, func(a, b int) int { return cmp.Compare(b, a) })
	n := float64(len(sorted))
	type cut struct {
		score int
		share float64 // rows with this score or more
	}
	var cuts []cut
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		cuts = append(cuts, cut{sorted[i], float64(j) / n})
		i = j
	}
	cuts = cuts[:len(cuts)-1] // the lowest score belongs to the last tier
	var mins []int
	var cum, lastShare float64
	for _, s := range shares {
		cum += s
		best := -1
		for k, c := range cuts {
			if c.share <= lastShare || (len(mins) > 0 && c.score >= mins[len(mins)-1]) {
				continue
			}
			if best < 0 || math.Abs(c.share-cum) < math.Abs(cuts[best].share-cum) {
				best = k
			}
		}
		if best < 0 {
			break
		}
		if cuts[best].share-lastShare < s/3 {
			continue // a sliver of a tier: fold it into the next
		}
		mins = append(mins, cuts[best].score)
		lastShare = cuts[best].share
	}
	return mins
}

// mapping is the backtest mapping for the proposal: every field from its
// column, the missing values, and the best column as the outcome.
func (r *Result) mapping() *backtest.Mapping {
	return &backtest.Mapping{Fields: r.fields, Missing: r.missing, Outcome: BestColumn + "=1"}
}

// doc lays out a proposal: the fields its rules read, knockouts, and score
// rules from most points to fewest. Tiers come later.
func (s *sample) doc(props []*ruleProp) *doc {
	opts := s.opts
	d := &doc{name: opts.Name}
	d.description = fmt.Sprintf("Proposed by leadq derive from %s: %s best %s (%s) against all %s", displayData(opts.Data),
		backtest.Count(int64(s.nBest)), opts.Noun, opts.Best, backtest.Count(int64(len(s.rows))))
	seen := map[*Attribute]bool{}
	for _, p := range props {
		if !seen[p.attr] {
			seen[p.attr] = true
			d.fields = append(d.fields, fieldDecl{name: p.attr.Field, typ: p.attr.Type, comment: fieldComment(*p.attr, len(s.rows))})
		}
		if p.knockout {
			d.knockouts = append(d.knockouts, p)
		} else {
			d.score = append(d.score, p)
		}
	}
	slices.SortFunc(d.fields, func(x, y fieldDecl) int { return cmp.Compare(x.name, y.name) })
	slices.SortStableFunc(d.score, func(x, y *ruleProp) int { return cmp.Compare(y.points, x.points) })
	return d
}

// dedupe drops rules that fire on (nearly) the same training rows as a rule
// kept before them, or on (nearly) all the others: one fact counted twice,
// like "previous >= 1" beside "pdays >= 1". Rules come strongest column
// first, so the stronger column keeps its rules. "Nearly" is a Jaccard
// overlap of 90% or more.
func (s *sample) dedupe(props []*ruleProp, res *Result, eo engine.Options) ([]*ruleProp, error) {
	if len(props) < 2 {
		return props, nil
	}
	d := s.doc(props)
	d.tiers = []tierDecl{{name: "D"}}
	fields := map[string]string{}
	for _, p := range props {
		fields[p.attr.Field] = p.attr.Column
	}
	rs, err := compile(s.opts.Name, d.bytes())
	if err != nil {
		return nil, err
	}
	b, err := backtest.NewBinder(rs, res.columns, res.complete, &backtest.Mapping{Fields: fields, Missing: res.missing})
	if err != nil {
		return nil, err
	}
	n := len(s.rows)
	fired := map[string][]uint64{}
	for _, p := range props {
		fired[p.id] = make([]uint64, (n+63)/64)
	}
	scorer := engine.NewRuleset(rs)
	for i, rec := range s.rows {
		dec, err := scorer.Score(context.Background(), b.Input(rec), eo)
		if err != nil {
			continue
		}
		for _, h := range append(dec.Matched, dec.Knockouts...) {
			if set, ok := fired[h.Rule]; ok {
				set[i/64] |= 1 << (i % 64)
			}
		}
	}
	var kept []*ruleProp
	for _, p := range props {
		dup := ""
		for _, k := range kept {
			if k.attr == p.attr {
				continue
			}
			if same, other := jaccard(fired[p.id], fired[k.id], n); same >= 0.9 || other >= 0.9 {
				dup = k.id
				break
			}
		}
		if dup == "" {
			kept = append(kept, p)
			continue
		}
		note := fmt.Sprintf("%s would count the rows of %s again", p.id, dup)
		res.dropped = append(res.dropped, note)
		if p.attr.Note != "" {
			note = p.attr.Note + "; " + note
		}
		p.attr.Note = note
		for i := range p.attr.Levels {
			if l := &p.attr.Levels[i]; covers(p.level, *l) {
				l.Points, l.Knockout = 0, false
			}
		}
	}
	return kept, nil
}

// jaccard returns |a and b| / |a or b|, and the same for a and not b,
// over the first n bits.
func jaccard(a, b []uint64, n int) (same, other float64) {
	var and, or, andNot, orNot int
	for w := range a {
		mask := ^uint64(0)
		if rest := n - w*64; rest < 64 {
			mask = 1<<rest - 1
		}
		x, y := a[w]&mask, b[w]&mask
		and += bits.OnesCount64(x & y)
		or += bits.OnesCount64(x | y)
		andNot += bits.OnesCount64(x &^ y)
		orNot += bits.OnesCount64((x | ^y) & mask)
	}
	if or > 0 {
		same = float64(and) / float64(or)
	}
	if orNot > 0 {
		other = float64(andNot) / float64(orNot)
	}
	return same, other
}

// covers reports whether a rule's merged level includes level l, so that
// the evidence report can take the rule's points off l.
func covers(merged, l Level) bool {
	switch {
	case l.Missing || l.Pooled:
		return false
	case merged.Hi == nil && merged.Lo == nil || l.Lo == nil && l.Hi == nil:
		// value levels: by value
		for _, v := range l.Values {
			if slices.Contains(merged.Values, v) {
				return true
			}
		}
		return false
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if merged.Lo != nil {
		lo = *merged.Lo
	}
	if merged.Hi != nil {
		hi = *merged.Hi
	} else if merged.Values != nil {
		hi = *merged.Lo + 1
	}
	v := math.Inf(-1)
	if l.Lo != nil {
		v = *l.Lo
	}
	return v >= lo && v < hi
}
