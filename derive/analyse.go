package derive

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules/rulefile"
)

// Attribute is one column of the data: how derive read it, and its bins
// with their evidence and points.
type Attribute struct {
	Column  string  `json:"column"`
	Field   string  `json:"field,omitempty"` // the field it feeds, lead.key
	Type    string  `json:"type,omitempty"`  // the field's type
	Kind    string  `json:"kind,omitempty"`  // "values" or "numbers"
	Status  string  `json:"status"`          // see the Status constants
	Note    string  `json:"note,omitempty"`  // why, for the statuses that leave a column out
	Present int     `json:"present"`         // training rows with a value
	IV      float64 `json:"iv"`              // information value of the bins
	Bins    []Bin   `json:"bins,omitempty"`
}

// Bin is one bin of an attribute with its evidence on the training rows.
type Bin struct {
	Label  string  `json:"label"`
	Rows   int     `json:"rows"`
	Best   int     `json:"best"`
	Rate   float64 `json:"rate"`
	Points int     `json:"points"` // 0: no rule (the column's reference, or not needed)
	Ref    bool    `json:"reference,omitempty"`
}

// Statuses of an attribute.
const (
	StatusRules      = "rules"      // at least one bin earns points
	StatusNoSignal   = "no signal"  // fitted; no bin earns a point
	StatusLeak       = "leak"       // looks recorded after contact; left out unless kept
	StatusExcluded   = "excluded"   // --exclude, or not in --include
	StatusOutcome    = "outcome"    // defines the best rows
	StatusIdentifier = "identifier" // nearly one value per row
	StatusConstant   = "constant"   // one value
	StatusEmpty      = "empty"      // no values
)

// idNameRe matches column names of numeric identifiers: Lead Number,
// customer_id, Account No.
var idNameRe = regexp.MustCompile(`(?i)(^|[^a-z])(id|number|no|num|key|code|uuid)([^a-z]|$)`)

// maxCodes is the most distinct whole numbers a column may hold and still be
// read value by value (codes like Region 1, 2, 3) rather than as numbers.
const maxCodes = 10

var boolWords = map[string]bool{"yes": true, "no": false, "true": true, "false": false, "y": true, "n": false}

// afterContactRe matches values that record what happened after a lead
// was contacted: call outcomes, replies, a rep's verdict. A column whose
// values are mostly such words was filled in after contact, when the
// outcome was on its way, and must not score new leads.
var afterContactRe = regexp.MustCompile(`(?i)\b(call(ed|back)?|phone|rang|ringing|busy|unreachable|switched off|voicemail|revert(ed)?|repl(y|ied)|interested|lost|won|closed|converted|sms sent|email (opened|bounced|link clicked)|unsubscribed|meeting|demo|follow[- ]?up|not sure|might be|worst|relevance|potential|qualified|junk)\b`)

// afterContactShare is the share of a column's values that must read like
// an outcome for the column to count as recorded after contact.
const afterContactShare = 0.2

// minIV is the information value under which a column is not fitted:
// credit scoring calls a characteristic under 0.02 not predictive. Fitted
// with the others, such a column gets a few points of noise either way.
const minIV = 0.02

// leakIV is the information value above which derive warns that a column
// separates suspiciously well. Credit scoring calls 0.5 suspicious; lead
// data has honest signals up to about 1 (X Education's occupation 0.94).
const leakIV = 1.0

// inferType picks the narrowest type every value fits: bool (yes/no,
// true/false), int, float, date, else string.
func inferType(vals map[string]*count) rulefile.Type {
	isBool, isInt, isFloat, isDate := true, true, true, true
	for v := range vals {
		if _, ok := boolWords[strings.ToLower(v)]; !ok {
			isBool = false
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			isInt = false
		}
		if _, ok := parseNum(v); !ok {
			isFloat = false
		}
		if isDate {
			if _, err := rulefile.ParseDate(v); err != nil {
				isDate = false
			}
		}
	}
	switch {
	case isBool:
		return rulefile.TypeBool
	case isInt:
		return rulefile.TypeInt
	case isFloat:
		return rulefile.TypeFloat
	case isDate:
		return rulefile.TypeDate
	}
	return rulefile.TypeString
}

// unitOf returns the unit Options.Units gives a column, by its name or
// its normalised name.
func (d *deriver) unitOf(col string) string {
	for name, u := range d.opts.Units {
		if name == col || backtest.Normalise(name) == backtest.Normalise(col) {
			return strings.TrimSpace(u)
		}
	}
	return ""
}

// binning is how to cut columns into bins on n rows, a range of numbers
// holding at least share of them.
func (d *deriver) binning(share float64, n int) binning {
	return binning{
		minRows:   max(10, int(math.Ceil(share*float64(n)))),
		minValue:  max(10, int(math.Ceil(d.opts.MinValue*float64(n)))),
		fine:      max(1, int(math.Round(1/share))),
		maxBins:   8,
		maxValues: 20,
	}
}

// analyse decides what to do with every column: leave it out (and why) or
// cut it into bins for the fit.
func (d *deriver) analyse() {
	opts := d.opts
	n := d.res.TrainRows
	share := opts.MinBin
	if share == 0 {
		share = 0.05 // until cross-validation chooses
	}
	bn := d.binning(share, n)
	keys := map[string]bool{}
	cols := make([]*column, len(d.cols))
	for i, col := range d.cols {
		a := &Attribute{Column: col}
		d.attrs = append(d.attrs, a)
		st := d.stats[i]
		a.Present = st.present
		switch {
		case slices.Contains(d.refs, col) || col == BestColumn:
			a.Status, a.Note = StatusOutcome, "defines the best rows"
		case len(opts.Include) > 0 && !matchAny(opts.Include, col):
			a.Status, a.Note = StatusExcluded, "not in --include"
		case matchAny(opts.Exclude, col):
			a.Status, a.Note = StatusExcluded, "--exclude"
		case !utf8.ValidString(col):
			a.Status, a.Note = StatusExcluded, "the name is not valid UTF-8, which rule files cannot hold"
		case slices.Contains(opts.Summaries, col) && !matchAny(opts.Include, col):
			a.Status, a.Note = StatusExcluded, "a summary of the joined rows; --include it to use it"
		case st.present == 0:
			a.Status, a.Note = StatusEmpty, "no values"
		case st.over:
			a.Status, a.Note = StatusIdentifier, fmt.Sprintf("over %s distinct values: an identifier or free text", backtest.Count(maxDistinct))
		case len(st.vals) == 1:
			for v := range st.vals {
				a.Status, a.Note = StatusConstant, fmt.Sprintf("one value: %q", v)
			}
		}
		if a.Status != "" {
			continue
		}
		c := &column{attr: a, typ: inferType(st.vals), unit: d.unitOf(col)}
		a.Type = c.typ.String()
		distinct := len(st.vals)
		switch {
		case c.typ == rulefile.TypeString && distinct > 50 && float64(distinct) > 0.5*float64(st.present):
			a.Status, a.Note = StatusIdentifier, fmt.Sprintf("%s distinct values in %s rows: an identifier or free text",
				backtest.Count(int64(distinct)), backtest.Count(int64(st.present)))
			continue
		case c.typ == rulefile.TypeInt && distinct == st.present && st.present > 50 && idNameRe.MatchString(col):
			a.Status, a.Note = StatusIdentifier, fmt.Sprintf("a different number on each of %s rows, and named like an identifier", backtest.Count(int64(st.present)))
			continue
		}
		if c.typ == rulefile.TypeString {
			var words int
			var examples []string
			for v, n := range st.vals {
				if afterContactRe.MatchString(v) {
					words += n.rows
					examples = append(examples, v)
				}
			}
			if float64(words) >= afterContactShare*float64(st.present) {
				slices.Sort(examples)
				if len(examples) > 3 {
					examples = examples[:3]
				}
				a.Status, a.Note = StatusLeak, fmt.Sprintf("%s of its values read like what happened after contact (%s)", pct(ratio(words, st.present)), quoteList(examples))
			}
		}
		c.numeric = c.typ == rulefile.TypeFloat || c.typ == rulefile.TypeDate || c.typ == rulefile.TypeInt && distinct > maxCodes
		if c.numeric {
			a.Kind = "numbers"
			c.levels, c.missCount, c.coarse = d.numbers(c, st.vals), st.missing, st.coarse
			bn.numberBins(c, c.levels, st.missing)
		} else {
			a.Kind = "values"
			bn.valueBins(c, st.vals, st.missing)
		}
		a.IV = binsIV(c.bins)
		cols[i] = c
		// lead.x and account.x columns (flattened JSONL input) keep their key.
		base := backtest.Normalise(strings.TrimPrefix(strings.TrimPrefix(col, "lead."), "account."))
		if base == "" {
			base = "column"
		}
		key := base
		for k := 2; keys[key]; k++ {
			key = fmt.Sprintf("%s_%d", base, k)
		}
		keys[key] = true
		a.Field = opts.Namespace + "." + key
	}
	d.missingLeaks(cols)
	for _, c := range cols {
		if c == nil {
			continue
		}
		a := c.attr
		if a.Status == StatusLeak {
			d.res.Leaks = append(d.res.Leaks, fmt.Sprintf("%s: %s", a.Column, a.Note))
			if !matchAny(opts.Keep, a.Column) {
				a.Note += "; --keep it to use it"
				continue
			}
			a.Status = ""
		}
		if a.IV > leakIV && d.res.TrainRows >= 500 {
			d.res.Warnings = append(d.res.Warnings, fmt.Sprintf("%s: separates suspiciously well (IV %.2f); make sure it is known before contact", a.Column, a.IV))
		}
		if a.IV < minIV {
			a.Status, a.Note = StatusNoSignal, fmt.Sprintf("IV %.3f, under %.2f: its bins' rates hardly differ", a.IV, minIV)
			d.unused = append(d.unused, c)
			continue
		}
		d.used = append(d.used, c)
	}
	d.sharedMissing()
}

// sharedMissing keeps one missing bin among columns whose missing rows are
// (nearly) the same, such as two form fields skipped together: the fit
// cannot tell such bins apart and would give them large points of
// opposite signs (+60 and -98) that cancel. The strongest column keeps
// its bin; the others count those rows in their reference bin.
func (d *deriver) sharedMissing() {
	idx := map[*column]int{}
	for i, c := range d.attrs {
		for _, u := range d.used {
			if u.attr == c {
				idx[u] = i
			}
		}
	}
	order := slices.Clone(d.used)
	slices.SortStableFunc(order, func(x, y *column) int { return cmp.Compare(y.attr.IV, x.attr.IV) })
	var kept []*column
	for _, c := range order {
		if !c.bins[c.missing].missing {
			continue
		}
		var same *column
		for _, k := range kept {
			if jaccard(d.stats[idx[c]].miss, d.stats[idx[k]].miss) >= 0.95 {
				same = k
				break
			}
		}
		if same == nil {
			kept = append(kept, c)
			continue
		}
		c.pooledMissing = true
		m := c.missing
		c.bins[c.ref].rows += c.bins[m].rows
		c.bins[c.ref].best += c.bins[m].best
		c.bins = append(c.bins[:m], c.bins[m+1:]...)
		c.missing = c.ref
		note := fmt.Sprintf("its missing rows are %s's, which scores them", same.attr.Column)
		if c.attr.Note != "" {
			note = c.attr.Note + "; " + note
		}
		c.attr.Note = note
	}
}

// missingLeaks marks columns whose missing rows are another column's: the
// missing rows of a column recorded after contact, or those of two or more
// other columns at once (several columns filled in together by one later
// step, such as a score a team adds after the first call). Only columns
// missing on a tenth of the rows or more count.
func (d *deriver) missingLeaks(cols []*column) {
	n := d.res.TrainRows
	var cand []int
	for i, c := range cols {
		if c != nil && d.stats[i].missing.rows*10 >= n {
			cand = append(cand, i)
		}
	}
	for _, i := range cand {
		a := cols[i].attr
		if a.Status != "" {
			continue
		}
		var same []string
		var leak string
		for _, j := range cand {
			if i == j {
				continue
			}
			jac := jaccard(d.stats[i].miss, d.stats[j].miss)
			if jac >= 0.99 {
				same = append(same, cols[j].attr.Column)
			}
			if jac >= 0.95 && cols[j].attr.Status == StatusLeak && leak == "" {
				leak = cols[j].attr.Column
			}
		}
		switch {
		case leak != "":
			a.Status, a.Note = StatusLeak, fmt.Sprintf("missing on the same rows as %s, which looks recorded after contact", leak)
		case len(same) >= 2:
			slices.Sort(same)
			a.Status, a.Note = StatusLeak, fmt.Sprintf("missing on the same %s rows as %s: filled in together, probably by a later step", pct(ratio(d.stats[i].missing.rows, n)), strings.Join(same, ", "))
		}
	}
}

// jaccard is |a and b| / |a or b| of two bit sets.
func jaccard(a, b []uint64) float64 {
	var and, or int
	for w := range max(len(a), len(b)) {
		var x, y uint64
		if w < len(a) {
			x = a[w]
		}
		if w < len(b) {
			y = b[w]
		}
		and += bits.OnesCount64(x & y)
		or += bits.OnesCount64(x | y)
	}
	if or == 0 {
		return 0
	}
	return float64(and) / float64(or)
}

// numbers returns a numeric column's distinct values, sorted, with their
// counts; dates as days before Options.Now.
func (d *deriver) numbers(c *column, vals map[string]*count) []numCount {
	byV := map[float64]*numCount{}
	for t, n := range vals {
		v, ok := c.number(t, d.days)
		if !ok {
			continue
		}
		x := byV[v]
		if x == nil {
			x = &numCount{v: v}
			byV[v] = x
		}
		x.rows += n.rows
		x.best += n.best
	}
	out := make([]numCount, 0, len(byV))
	for _, x := range byV {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(x, y numCount) int { return cmp.Compare(x.v, y.v) })
	return out
}

// binsIV is the information value of a column's bins.
func binsIV(bins []bin) float64 {
	var b [][2]int64
	var pos, neg int64
	for _, x := range bins {
		b = append(b, [2]int64{int64(x.rows - x.best), int64(x.best)})
		pos += int64(x.best)
		neg += int64(x.rows - x.best)
	}
	return backtest.InformationValue(b, pos, neg)
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

func pct(f float64) string {
	switch {
	case f > 0 && f < 0.001:
		return "<0.1%"
	case f >= 0.1:
		return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

// formatNum writes a number for labels and expressions: plainly, or with
// an exponent when it is too large for a plain literal to stay a number
// of the same kind (expr would read 1e26 written out as an int).
func formatNum(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// roundSig rounds to d significant digits.
func roundSig(v float64, d int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, float64(d)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// kebab lower-cases s and joins its runs of letters and digits with "-".
func kebab(s string) string {
	return strings.ReplaceAll(strings.TrimPrefix(backtest.Normalise(s), "_"), "_", "-")
}
