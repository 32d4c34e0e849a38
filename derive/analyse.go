package derive

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules/rulefile"
)

// Attribute is one column of the data compared between the best rows and
// all rows of the training split.
type Attribute struct {
	Column  string  `json:"column"`
	Field   string  `json:"field,omitempty"` // the field it would feed, lead.key
	Type    string  `json:"type,omitempty"`  // the field's type
	Kind    string  `json:"kind,omitempty"`  // "values" (compared one by one) or "bands" (numbers in quantile bands)
	Status  string  `json:"status"`          // see the Status constants
	Note    string  `json:"note,omitempty"`  // why, for the statuses that leave a column out
	Present int     `json:"present"`         // training rows with a value
	IV      float64 `json:"iv"`              // information value of the levels, missing included
	Levels  []Level `json:"levels,omitempty"`

	typ     rulefile.Type
	date    bool // analysed as days since the date
	minimum float64
}

// Statuses of an attribute.
const (
	StatusRules      = "rules"      // at least one rule or knockout was proposed
	StatusNoSignal   = "no signal"  // analysed; no level passed the thresholds
	StatusRedundant  = "redundant"  // its rules would count a stronger column's rows again
	StatusExcluded   = "excluded"   // --exclude, or not in --include
	StatusOutcome    = "outcome"    // defines the best rows
	StatusIdentifier = "identifier" // nearly one value per row
	StatusConstant   = "constant"   // one value
	StatusEmpty      = "empty"      // no values
)

// Level is one value, several pooled values, or a numeric band of an
// attribute, with the evidence for it.
type Level struct {
	Label     string   `json:"label"`
	Values    []string `json:"values,omitempty"` // the values as written (value levels)
	Lo        *float64 `json:"lo,omitempty"`     // band: value >= Lo
	Hi        *float64 `json:"hi,omitempty"`     // band: value < Hi
	Rows      int      `json:"rows"`
	Best      int      `json:"best"`
	Rate      float64  `json:"rate"`       // share of these rows that are best
	ShareBest float64  `json:"share_best"` // share of best rows in this level
	ShareAll  float64  `json:"share_all"`  // share of all rows in this level
	Lift      float64  `json:"lift"`       // Rate over the base rate
	Z         float64  `json:"z"`
	Points    int      `json:"points"`             // proposed points; 0 for none
	Knockout  bool     `json:"knockout,omitempty"` // proposed as a knockout
	Missing   bool     `json:"missing,omitempty"`  // the rows without a value (never a rule)
	Pooled    bool     `json:"pooled,omitempty"`   // rare values pooled (never a rule)
}

// sample is the training rows seen through the settings that shape the
// analysis.
type sample struct {
	rows    []backtest.Record
	best    []bool
	nBest   int
	base    float64
	missing map[string]bool
	opts    *Options
	support int // rows a level needs for a rule
}

func (s *sample) isMissing(v string) bool { return s.missing[strings.TrimSpace(v)] }

// analyse infers a column's type and measures every level of it.
func (s *sample) analyse(a *Attribute) {
	n := len(s.rows)
	texts := make([]string, n)
	counts := map[string]int{}
	for i, r := range s.rows {
		t := strings.TrimSpace(r.Text(a.Column))
		if s.isMissing(t) {
			t = ""
		}
		texts[i] = t
		if t != "" {
			counts[t]++
			a.Present++
		}
	}
	switch {
	case a.Present == 0:
		a.Status, a.Note = StatusEmpty, "no values"
		return
	case len(counts) == 1:
		for v := range counts {
			a.Status, a.Note = StatusConstant, fmt.Sprintf("one value: %q", v)
		}
		return
	}
	a.typ = inferType(counts)
	if a.typ == rulefile.TypeDate && s.opts.Now.IsZero() {
		a.typ = rulefile.TypeString
	}
	a.Type = a.typ.String()
	numeric := a.typ == rulefile.TypeInt || a.typ == rulefile.TypeFloat || a.typ == rulefile.TypeDate
	switch {
	case a.typ == rulefile.TypeString && len(counts) > 50 && float64(len(counts)) > 0.5*float64(a.Present):
		a.Status, a.Note = StatusIdentifier, fmt.Sprintf("%s distinct values in %s rows: an identifier or free text",
			backtest.Count(int64(len(counts))), backtest.Count(int64(a.Present)))
		return
	case a.typ == rulefile.TypeInt && len(counts) == a.Present && a.Present > 50 && idNameRe.MatchString(a.Column):
		a.Status, a.Note = StatusIdentifier, fmt.Sprintf("a different number on each of %s rows, and named like an identifier", backtest.Count(int64(a.Present)))
		return
	case numeric && !(a.typ == rulefile.TypeInt && len(counts) <= maxCodes):
		a.Kind = "bands"
		if s.bands(a, texts); a.Status != "" {
			return
		}
	default:
		a.Kind = "values"
		s.values(a, texts, counts)
	}
	missing := Level{Label: "(missing)", Missing: true}
	for i, t := range texts {
		if t == "" {
			missing.Rows++
			if s.best[i] {
				missing.Best++
			}
		}
	}
	if missing.Rows > 0 {
		s.measure(&missing)
		a.Levels = append(a.Levels, missing)
	}
	bins := make([][2]int64, len(a.Levels))
	for i, l := range a.Levels {
		bins[i] = [2]int64{int64(l.Rows - l.Best), int64(l.Best)}
	}
	a.IV = backtest.InformationValue(bins, int64(s.nBest), int64(len(s.rows)-s.nBest))
}

// idNameRe matches column names of numeric identifiers: Lead Number,
// customer_id, Account No.
var idNameRe = regexp.MustCompile(`(?i)(^|[^a-z])(id|number|no|num|key|code|uuid)([^a-z]|$)`)

// maxCodes is the most distinct whole numbers a column may hold and still be
// compared value by value (codes like Region 1, 2, 3) rather than in bands.
const maxCodes = 10

var boolWords = map[string]bool{"yes": true, "no": false, "true": true, "false": false, "y": true, "n": false}

// inferType picks the narrowest type every value fits: bool (yes/no,
// true/false), int, float, date, else string.
func inferType(counts map[string]int) rulefile.Type {
	isBool, isInt, isFloat, isDate := true, true, true, true
	for v := range counts {
		if _, ok := boolWords[strings.ToLower(v)]; !ok {
			isBool = false
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			isInt = false
		}
		if f, err := strconv.ParseFloat(v, 64); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
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

// values makes one level per value; values on fewer rows than the support
// are pooled into one level that gets no rule. Booleans are grouped by
// meaning, so "Yes" and "yes" are one level.
func (s *sample) values(a *Attribute, texts []string, counts map[string]int) {
	key := func(t string) string { return t }
	if a.typ == rulefile.TypeBool {
		key = func(t string) string { return strconv.FormatBool(boolWords[strings.ToLower(t)]) }
	}
	levels := map[string]*Level{}
	for i, t := range texts {
		if t == "" {
			continue
		}
		k := key(t)
		l := levels[k]
		if l == nil {
			l = &Level{Label: k}
			levels[k] = l
		}
		if !slices.Contains(l.Values, t) {
			l.Values = append(l.Values, t)
		}
		l.Rows++
		if s.best[i] {
			l.Best++
		}
	}
	pooled := &Level{Pooled: true}
	var out []Level
	for _, l := range levels {
		slices.Sort(l.Values)
		if l.Rows < s.support && a.typ != rulefile.TypeBool {
			pooled.Rows += l.Rows
			pooled.Best += l.Best
			pooled.Values = append(pooled.Values, l.Values...)
			continue
		}
		s.measure(l)
		out = append(out, *l)
	}
	slices.SortFunc(out, func(x, y Level) int { return cmp.Or(cmp.Compare(y.Rows, x.Rows), cmp.Compare(x.Label, y.Label)) })
	if pooled.Rows > 0 {
		slices.Sort(pooled.Values)
		pooled.Label = fmt.Sprintf("(%d rare values, under %d rows each)", len(pooled.Values), s.support)
		s.measure(pooled)
		out = append(out, *pooled)
	}
	a.Levels = out
}

// bands cuts the values into quantile bands (Options.Bands of them) and
// gives a value that holds more than a band's share of the rows a band of
// its own, so that a mass of zeros does not swallow the next band.
func (s *sample) bands(a *Attribute, texts []string) {
	type pt struct {
		v    float64
		best bool
	}
	var pts []pt
	for i, t := range texts {
		if t == "" {
			continue
		}
		v, ok := s.number(a, t)
		if !ok {
			continue
		}
		pts = append(pts, pt{v, s.best[i]})
	}
	slices.SortFunc(pts, func(x, y pt) int { return cmp.Compare(x.v, y.v) })
	vals := make([]float64, len(pts))
	for i, p := range pts {
		vals[i] = p.v
	}
	a.minimum = vals[0]
	edges := bandEdges(vals, s.opts.Bands, a.typ == rulefile.TypeFloat)
	if len(edges) == 0 { // "0" and ".0": two spellings, one number
		a.Kind, a.Status, a.Note = "", StatusConstant, "one value: "+formatNum(vals[0])
		return
	}
	bounds := append(append([]float64{math.Inf(-1)}, edges...), math.Inf(1))
	j := 0
	for b := 0; b+1 < len(bounds); b++ {
		lo, hi := bounds[b], bounds[b+1]
		l := Level{}
		first, last := math.NaN(), math.NaN()
		for ; j < len(pts) && pts[j].v < hi; j++ {
			if math.IsNaN(first) {
				first = pts[j].v
			}
			last = pts[j].v
			l.Rows++
			if pts[j].best {
				l.Best++
			}
		}
		if l.Rows == 0 {
			continue
		}
		if !math.IsInf(lo, -1) {
			l.Lo = &lo
		}
		if !math.IsInf(hi, 1) {
			l.Hi = &hi
		}
		if a.typ == rulefile.TypeInt && first == last && hi == first+1 {
			v := first // a whole-number band holding one value reads better as == value
			l.Lo, l.Hi = &v, nil
			l.Values = []string{formatNum(v)}
		}
		l.Label = bandLabel(l)
		s.measure(&l)
		a.Levels = append(a.Levels, l)
	}
}

// number reads a value of a numeric attribute: the number, or for dates
// the whole days from the date to Options.Now.
func (s *sample) number(a *Attribute, t string) (float64, bool) {
	if a.typ == rulefile.TypeDate {
		d, err := rulefile.ParseDate(t)
		if err != nil {
			return 0, false
		}
		return float64(int(s.opts.Now.Sub(d).Hours() / 24)), true
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}

// bandEdges returns the sorted cut points between bands of sorted values:
// quantiles, rounded to 3 significant digits for floats, plus v and the
// next value above it for every value v that holds more than 1/n of the
// rows. Edges at or below the minimum are dropped (their band is empty).
func bandEdges(sorted []float64, n int, float bool) []float64 {
	m := len(sorted)
	if m == 0 || n < 2 {
		return nil
	}
	var edges []float64
	for k := 1; k < n; k++ {
		q := sorted[k*m/n]
		if float {
			q = roundSig(q, 3)
		}
		edges = append(edges, q)
	}
	for i := 0; i < m; {
		j := i
		for j < m && sorted[j] == sorted[i] {
			j++
		}
		if (j-i)*n > m {
			edges = append(edges, sorted[i])
			if j < m {
				next := sorted[j]
				if float {
					next = roundUpSig(sorted[i], next, 3)
				}
				edges = append(edges, next)
			}
		}
		i = j
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	return slices.DeleteFunc(edges, func(e float64) bool { return e <= sorted[0] || e > sorted[m-1] })
}

// roundSig rounds to d significant digits.
func roundSig(v float64, d int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, float64(d)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// roundUpSig returns the roundest number above v and at most next: the
// edge that separates v from the next value (next truncated to as few
// significant digits as keep it above v, at least d).
func roundUpSig(v, next float64, d int) float64 {
	if next <= 0 {
		return next
	}
	for ; d < 15; d++ {
		p := math.Pow(10, float64(d)-math.Ceil(math.Log10(next)))
		if e := math.Floor(next*p) / p; e > v && e <= next {
			return e
		}
	}
	return next
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

func bandLabel(l Level) string {
	switch {
	case l.Values != nil:
		return "== " + l.Values[0]
	case l.Lo == nil:
		return "< " + formatNum(*l.Hi)
	case l.Hi == nil:
		return ">= " + formatNum(*l.Lo)
	}
	return fmt.Sprintf(">= %s and < %s", formatNum(*l.Lo), formatNum(*l.Hi))
}

// measure fills a level's rates from its counts.
func (s *sample) measure(l *Level) {
	n := len(s.rows)
	l.Rate = ratio(l.Best, l.Rows)
	l.ShareBest = ratio(l.Best, s.nBest)
	l.ShareAll = ratio(l.Rows, n)
	if s.base > 0 {
		l.Lift = l.Rate / s.base
	}
	l.Z = zScore(l.Best, l.Rows, s.base)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// nowOr returns t, or today at midnight UTC when t is zero.
func nowOr(t time.Time) time.Time {
	if t.IsZero() {
		y, m, d := time.Now().UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return t
}
