package derive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/backtest"
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
	Keep      []string // columns to use although they look recorded after contact
	Summaries []string // columns summarising joined rows (--join-agg): outcome data, never analysed
	Missing   []string // values that mean "no data" besides the empty value, such as Select
	Noun      string   // what a row is, for comments; default "leads" or "accounts" after the namespace
	// Units gives what a column's numbers count, by column name: seconds,
	// EUR. The field declares it ({type: int, label: ..., unit: seconds})
	// and the rules' descriptions say it (under 240 seconds).
	Units map[string]string
	Now   time.Time

	Holdout float64   // fraction of rows held out of the analysis, 0 <= Holdout < 1
	Seed    uint64    // seeds the holdout split and the cross-validation folds
	HoldOut RowWriter // receives the held-out rows, with BestColumn; nil drops them

	PDO float64 // points that double the odds of being best; default 20
	// MinBin is the smallest share of training rows a range of numbers may
	// hold; 0: cross-validation chooses from 2.5%, 5% (what credit
	// scorecards use) and 10%.
	MinBin float64
	// MinValue is the smallest share of training rows on which a value (or
	// the rows without one) is a bin of its own; default 0.02. Rarer
	// values are pooled.
	MinValue float64
	Folds    int   // cross-validation folds; default 5
	Tiers    Tiers // default: shares 15%, 25%, 30% and the rest
}

// RowWriter receives rows one at a time: the held-out rows while Derive
// reads them, so that they are never all in memory.
type RowWriter interface {
	WriteRow(cols []string, rec backtest.Record) error
}

// Tiers says how to cut tiers: by the share of leads in each from the top,
// by a target conversion rate for each, or by how many leads sales can
// take out of a volume. Exactly one of Shares, Rates and Capacity is set.
type Tiers struct {
	Shares   []float64 // e.g. 0.15, 0.25, 0.3: the rest go to a last tier
	Rates    []float64 // e.g. 0.85, 0.5: each tier as large as keeps its expected rate at least this
	Capacity []int     // e.g. 300, 1000 leads out of Volume
	Volume   int       // leads the capacities are out of; default the rows of the data
}

// ParseTiers reads --tiers: percentages of leads (15,25,30), target
// conversion rates (rate:85,50), or capacities out of a volume of leads
// (capacity:300,1000/5000; without /VOLUME, out of the data's rows).
func ParseTiers(s string) (Tiers, error) {
	s = strings.TrimSpace(s)
	kind, list := "share", s
	if k, rest, ok := strings.Cut(s, ":"); ok {
		kind, list = strings.TrimSpace(k), rest
	}
	var t Tiers
	if kind == "capacity" {
		if l, v, ok := strings.Cut(list, "/"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return Tiers{}, fmt.Errorf("%q: the volume after / must be a positive whole number", s)
			}
			list, t.Volume = l, n
		}
	}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%"))
		switch kind {
		case "share", "rate":
			p, err := strconv.ParseFloat(f, 64)
			if err != nil || p <= 0 || p >= 100 {
				return Tiers{}, fmt.Errorf("%q: %q is not a percentage between 0 and 100", s, f)
			}
			if kind == "share" {
				t.Shares = append(t.Shares, p/100)
			} else {
				t.Rates = append(t.Rates, p/100)
			}
		case "capacity":
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				return Tiers{}, fmt.Errorf("%q: %q is not a positive whole number of leads", s, f)
			}
			t.Capacity = append(t.Capacity, n)
		default:
			return Tiers{}, fmt.Errorf("%q: use percentages (15,25,30), rate:85,50 or capacity:300,1000/5000", s)
		}
	}
	return t, t.check()
}

func (t Tiers) check() error {
	n := 0
	for _, l := range []int{len(t.Shares), len(t.Rates), len(t.Capacity)} {
		if l > 0 {
			n++
		}
	}
	if n != 1 {
		return errors.New("tiers: give one of shares, rates and capacities")
	}
	var sum float64
	for _, s := range t.Shares {
		if s <= 0 {
			return fmt.Errorf("tier shares %v: each must be above 0", t.Shares)
		}
		sum += s
	}
	if sum >= 1 || len(t.Shares)+len(t.Rates)+len(t.Capacity) > 25 {
		return errors.New("tiers: the shares must add up to less than 1, leaving a last tier, and there may be at most 25")
	}
	for i := 1; i < len(t.Rates); i++ {
		if t.Rates[i] >= t.Rates[i-1] {
			return fmt.Errorf("tier rates %v: each must be below the one before", t.Rates)
		}
	}
	return nil
}

// String writes tiers as --tiers reads them.
func (t Tiers) String() string {
	var parts []string
	switch {
	case len(t.Rates) > 0:
		for _, r := range t.Rates {
			parts = append(parts, formatNum(roundSig(r*100, 6)))
		}
		return "rate:" + strings.Join(parts, ",")
	case len(t.Capacity) > 0:
		for _, c := range t.Capacity {
			parts = append(parts, strconv.Itoa(c))
		}
		s := "capacity:" + strings.Join(parts, ",")
		if t.Volume > 0 {
			s += "/" + strconv.Itoa(t.Volume)
		}
		return s
	}
	for _, r := range t.Shares {
		parts = append(parts, formatNum(roundSig(r*100, 6)))
	}
	return strings.Join(parts, ",")
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
	if o.PDO == 0 {
		o.PDO = 20
	}
	if o.PDO < 0 {
		return fmt.Errorf("pdo %v: must be above 0", o.PDO)
	}
	if o.MinBin < 0 || o.MinBin >= 0.5 {
		return fmt.Errorf("min bin %v: give a share of the rows above 0 and under 0.5", o.MinBin)
	}
	if o.MinValue == 0 {
		o.MinValue = 0.02
	}
	if o.MinValue < 0 || o.MinValue >= 0.5 {
		return fmt.Errorf("min value %v: give a share of the rows above 0 and under 0.5", o.MinValue)
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Folds < 2 {
		return fmt.Errorf("folds %d: need at least 2", o.Folds)
	}
	if len(o.Tiers.Shares)+len(o.Tiers.Rates)+len(o.Tiers.Capacity) == 0 {
		o.Tiers = Tiers{Shares: []float64{0.15, 0.25, 0.3}}
	}
	if err := o.Tiers.check(); err != nil {
		return err
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
	YAML       []byte         // the rule file, commented
	Ruleset    *rules.Ruleset // YAML compiled
	Attributes []Attribute    // every column, those with rules first

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

	MinBin   float64  // the smallest share of rows a range of numbers holds, as given or chosen by cross-validation
	Lambda   float64  // the ridge penalty cross-validation chose
	Prior    bool     // the penalty pulls towards each bin's weight of evidence, not zero
	CVAUC    float64  // ROC AUC of the fitted model on the rows each fold held out
	CVRows   int      // training rows in the cross-validation
	AUC      float64  // ROC AUC of the integer points on the training rows
	Tiers    []Tier   // from the top, with their training and expected rates
	Leaks    []string // columns left out as recorded after contact, with why
	Warnings []string // columns used that separate suspiciously well
	columns  []string // of the rows, BestColumn included
	fields   map[string]string
	missing  []string
}

// Tier is one tier of the proposal.
type Tier struct {
	Name     string  `json:"name"`
	Min      *int    `json:"min,omitempty"`
	Rows     int     `json:"rows"`     // training rows in the tier
	Rate     float64 `json:"rate"`     // their rate of best rows, scored with the final points
	Expected float64 `json:"expected"` // the rate cross-validation expects on new rows
}

// Columns returns the columns of the held-out rows: the data's, then
// BestColumn.
func (r *Result) Columns() []string { return r.columns }

// Derive reads the rows twice: first to label them, hold some out and
// count each column's values on the training rows, then to put every
// training row into the bins cut from those counts. It fits a ridge
// logistic regression on the bins (the penalty chosen by cross-validation
// on the training rows), turns the coefficients into integer points,
// cuts tiers and writes a ruleset with one rule per bin that earns points.
// open must return the same rows each time. Memory grows with the number
// of training rows by two bytes per used column and row, plus the
// distinct values of each column (at most maxDistinct of them).
func Derive(ctx context.Context, open func() (backtest.Source, error), opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	d := &deriver{opts: &opts, res: &Result{}, missing: map[string]bool{"": true}}
	for _, m := range opts.Missing {
		d.missing[strings.TrimSpace(m)] = true
	}
	d.res.missing = append([]string{""}, opts.Missing...)
	if err := d.first(ctx, open); err != nil {
		return nil, err
	}
	res := d.res
	if err := d.checkUnits(); err != nil {
		return nil, err
	}
	if res.TrainBest == 0 || res.TrainBest == res.TrainRows {
		return nil, fmt.Errorf("%s of %s training rows are best: need both best and other rows to compare", backtest.Count(int64(res.TrainBest)), backtest.Count(int64(res.TrainRows)))
	}
	d.base = ratio(res.TrainBest, res.TrainRows)
	d.analyse()
	des, err := d.second(ctx, open)
	if err != nil {
		return nil, err
	}
	if err := d.fit(ctx, des); err != nil {
		return nil, err
	}
	return d.write()
}

// deriver holds one derivation's state between its stages.
type deriver struct {
	opts    *Options
	res     *Result
	missing map[string]bool
	base    float64

	cols     []string
	complete bool
	refs     []string    // columns that define "best"
	stats    []*colStats // by column
	class    []int8      // per row read: -1 unlabelled, 0/1 training label, 2/3 held out
	used     []*column   // the columns the model fits, in data order
	unused   []*column   // cut into bins but not fitted: no signal
	attrs    []*Attribute
	scores   []int     // training rows' points
	oof      []float64 // cross-validated log-odds of the CV rows
	oofBest  []bool
	model    *model
}

func (d *deriver) text(rec backtest.Record, col string) string {
	t := strings.TrimSpace(rec.Text(col))
	if d.missing[t] {
		return ""
	}
	return t
}

// first is the first pass: labels, the split, the held-out rows written,
// and each column's values counted on the training rows.
func (d *deriver) first(ctx context.Context, open func() (backtest.Source, error)) error {
	opts, res := d.opts, d.res
	var cut float64
	if b := opts.Best; b.Top > 0 || b.TopPct > 0 {
		var err error
		if cut, err = d.topCut(open); err != nil {
			return err
		}
	}
	src, err := open()
	if err != nil {
		return err
	}
	d.cols, d.complete = src.Columns()
	d.cols = slices.Clone(d.cols)
	var label func(backtest.Record) int
	switch b := opts.Best; {
	case b.Outcome != nil:
		if d.complete && !slices.Contains(d.cols, b.Outcome.Column) {
			return fmt.Errorf("no outcome column %q in the data%s", b.Outcome.Column, rulefile.DidYouMean(b.Outcome.Column, d.cols))
		}
		d.refs = []string{b.Outcome.Column}
		label = func(r backtest.Record) int { return b.Outcome.Label(r) }
	case b.Top > 0 || b.TopPct > 0:
		d.refs = []string{b.Column}
		label = func(r backtest.Record) int {
			if f, ok := parseNum(r.Text(b.Column)); ok && f >= cut {
				return 1
			}
			return 0
		}
	default:
		e, err := backtest.CompileRowExpr(b.Expr, d.cols, d.complete)
		if err != nil {
			return &BestError{err}
		}
		d.refs = e.Columns()
		label = func(r backtest.Record) int {
			ok, err := e.Match(r)
			if err != nil {
				res.ExprErrors++
			}
			if ok {
				return 1
			}
			return 0
		}
	}
	ext := backtest.NewExtender(d.cols, BestColumn)
	res.columns = ext.Columns()
	for range d.cols {
		d.stats = append(d.stats, &colStats{vals: map[string]*count{}})
	}
	known := map[string]bool{}
	for _, c := range d.cols {
		known[c] = true
	}
	sp := newSplitter(opts.Holdout, opts.Seed)
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
			return err
		}
		if res.Rows%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		res.Rows++
		if !d.complete { // JSONL: a key first seen now was missing before
			for _, k := range rec.Keys() {
				if !known[k] {
					known[k] = true
					d.addColumn(k)
				}
			}
		}
		l := label(rec)
		if l < 0 {
			res.Unlabelled++
			d.class = append(d.class, -1)
			continue
		}
		if sp.hold(l) {
			d.class = append(d.class, int8(2+l))
			res.HoldoutRows++
			res.HoldoutBest += l
			if opts.HoldOut != nil {
				if err := opts.HoldOut.WriteRow(res.columns, ext.Apply(rec, strconv.Itoa(l))); err != nil {
					return err
				}
			}
			continue
		}
		d.class = append(d.class, int8(l))
		row := res.TrainRows
		res.TrainRows++
		res.TrainBest += l
		for c, col := range d.cols {
			d.stats[c].add(row, d.text(rec, col), l == 1)
		}
	}
	if res.Rows == 0 {
		return errors.New("no rows to derive from")
	}
	return nil
}

// checkUnits reports a unit given for a column the data does not have.
func (d *deriver) checkUnits() error {
	names := slices.Sorted(maps.Keys(d.opts.Units))
	for _, name := range names {
		if strings.TrimSpace(d.opts.Units[name]) == "" {
			return fmt.Errorf("unit of %q: empty (give what its numbers count, like seconds)", name)
		}
		found := false
		for _, c := range d.cols {
			if c == name || backtest.Normalise(c) == backtest.Normalise(name) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("unit of %q: no such column in the data%s", name, rulefile.DidYouMean(name, d.cols))
		}
	}
	return nil
}

// addColumn starts counting a JSONL key first seen after some training
// rows, which lacked it.
func (d *deriver) addColumn(k string) {
	s := &colStats{vals: map[string]*count{}}
	n := d.res.TrainRows
	s.missing = count{n, d.res.TrainBest}
	s.miss = make([]uint64, (n+63)/64)
	for i := range n {
		s.miss[i/64] |= 1 << (i % 64)
	}
	d.cols = append(d.cols, k)
	d.stats = append(d.stats, s)
	d.res.columns = append(slices.Clone(d.cols), BestColumn)
}

// topCut reads the ranking column of every row: the value the top rows
// reach.
func (d *deriver) topCut(open func() (backtest.Source, error)) (float64, error) {
	b := d.opts.Best
	src, err := open()
	if err != nil {
		return 0, err
	}
	if cols, complete := src.Columns(); complete && !slices.Contains(cols, b.Column) {
		return 0, fmt.Errorf("no column %q to rank by%s", b.Column, rulefile.DidYouMean(b.Column, cols))
	}
	var vals []float64
	for {
		rec, err := src.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if _, ok := err.(*backtest.RowError); ok {
			continue
		}
		if err != nil {
			return 0, err
		}
		f, ok := parseNum(rec.Text(b.Column))
		if !ok {
			f = math.Inf(-1)
		}
		vals = append(vals, f)
	}
	if len(vals) == 0 {
		return 0, errors.New("no rows to derive from")
	}
	top := b.Top
	if b.TopPct > 0 {
		top = max(1, int(math.Round(b.TopPct*float64(len(vals)))))
	}
	slices.SortFunc(vals, func(x, y float64) int { return cmp.Compare(y, x) })
	top = min(top, len(vals))
	cut := vals[top-1]
	if math.IsInf(cut, -1) {
		cut = math.Inf(1) // fewer numbers than the top asked for: only they are best
		for _, v := range vals {
			if !math.IsInf(v, -1) {
				cut = min(cut, v)
			}
		}
	}
	n := 0
	for _, v := range vals {
		if v >= cut {
			n++
		}
	}
	d.res.Ties = max(0, n-top)
	return cut, nil
}

func parseNum(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// splitter holds out a share of each class as the rows stream by: in
// every block of splitBlock rows of a class exactly round(frac*splitBlock)
// are held out, at places a seeded shuffle picks. The same rows in the
// same order and the same seed give the same split.
type splitter struct {
	frac  float64
	rng   *rand.Rand
	block [2][]bool
	pos   [2]int
}

const splitBlock = 100

func newSplitter(frac float64, seed uint64) *splitter {
	return &splitter{frac: frac, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s *splitter) hold(label int) bool {
	if s.frac == 0 {
		return false
	}
	if s.pos[label] == len(s.block[label]) {
		b := make([]bool, splitBlock)
		for i := range int(math.Round(s.frac * splitBlock)) {
			b[i] = true
		}
		s.rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		s.block[label], s.pos[label] = b, 0
	}
	h := s.block[label][s.pos[label]]
	s.pos[label]++
	return h
}

// second is the second pass: every training row into its bins.
func (d *deriver) second(ctx context.Context, open func() (backtest.Source, error)) (*design, error) {
	des := &design{k: len(d.used)}
	des.lv = make([]uint16, 0, d.res.TrainRows*des.k)
	des.y = make([]bool, 0, d.res.TrainRows)
	src, err := open()
	if err != nil {
		return nil, err
	}
	days := d.days
	i := 0
	for {
		rec, err := src.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if _, ok := err.(*backtest.RowError); ok {
			continue
		}
		if err != nil {
			return nil, err
		}
		if i >= len(d.class) {
			return nil, errors.New("the data changed between derive's two passes over it")
		}
		cls := d.class[i]
		i++
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if cls != 0 && cls != 1 {
			continue
		}
		for _, c := range d.used {
			des.lv = append(des.lv, c.level(d.text(rec, c.attr.Column), days))
		}
		des.y = append(des.y, cls == 1)
	}
	if i != len(d.class) {
		return nil, errors.New("the data changed between derive's two passes over it")
	}
	return d.final(des), nil
}

// final returns the rows seen through the columns' current bins, whose
// counts it sets as the rules will see them: cut points moved to round
// numbers carry a few rows across.
func (d *deriver) final(des *design) *design {
	table := make([][]uint8, len(d.used))
	bins := make([]int, len(d.used))
	for c, col := range d.used {
		table[c], bins[c] = col.table(col.levels), len(col.bins)
	}
	v := des.with(table, bins)
	for c, col := range d.used {
		for b := range col.bins {
			col.bins[b].count = count{}
		}
		for r := range v.n() {
			col.bins[v.bin(r, c)].add(v.y[r])
		}
		col.attr.IV = binsIV(col.bins)
	}
	return v
}

// days reads a date as whole days before Options.Now.
func (d *deriver) days(t string) (float64, bool) {
	tm, err := rulefile.ParseDate(t)
	if err != nil {
		return 0, false
	}
	return float64(int(d.opts.Now.Sub(tm).Hours() / 24)), true
}

// tierMins cuts tiers from scores: for each cumulative share the score
// whose "this score or more" share comes closest, each strictly below the
// last. A tier that would be empty, or hold less than a third of its share
// (ties make scores lumpy), is left out and its rows go to the next.
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

// nowOr returns t, or today at midnight UTC when t is zero.
func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		y, m, d := time.Now().UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
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
