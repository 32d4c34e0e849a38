package derive

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/leadq/leadq/rules/rulefile"
)

// maxDistinct is the most distinct values counted exactly per column. A
// numeric column with more is counted by its values rounded to three
// significant digits; any other is an identifier or free text.
const maxDistinct = 10000

// count is rows and best rows.
type count struct{ rows, best int }

func (c *count) add(best bool) {
	c.rows++
	if best {
		c.best++
	}
}

func (c count) rate() float64 { return ratio(c.best, c.rows) }

// colStats is what the first pass keeps of one column: the training rows'
// values with their counts, and which rows lack a value.
type colStats struct {
	vals    map[string]*count // trimmed text -> counts; nil once over
	coarse  bool              // numbers cut to 3 significant digits (floorSig)
	over    bool              // too many distinct values that are not all numbers
	present int
	missing count
	miss    []uint64 // bit i: training row i has no value
}

func (s *colStats) add(row int, text string, best bool) {
	if text == "" {
		s.missing.add(best)
		for len(s.miss) <= row/64 {
			s.miss = append(s.miss, 0)
		}
		s.miss[row/64] |= 1 << (row % 64)
		return
	}
	s.present++
	if s.over {
		return
	}
	if s.coarse {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			s.over, s.vals = true, nil
			return
		}
		text = formatNum(floorSig(f, 3))
	}
	c := s.vals[text]
	if c == nil {
		if len(s.vals) >= maxDistinct {
			if s.coarse { // still too many: numbers over many orders of magnitude
				s.over, s.vals = true, nil
				return
			}
			s.coarsen()
			s.add(row, text, best) // counted again as present: undo below
			s.present--
			return
		}
		c = &count{}
		s.vals[text] = c
	}
	c.add(best)
}

// coarsen re-keys the counts by numbers cut to three significant digits,
// or gives up on a column that is not all numbers.
func (s *colStats) coarsen() {
	next := map[string]*count{}
	for t, c := range s.vals {
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			s.over, s.vals = true, nil
			return
		}
		k := formatNum(floorSig(f, 3))
		if n := next[k]; n != nil {
			n.rows += c.rows
			n.best += c.best
		} else {
			next[k] = &count{c.rows, c.best}
		}
	}
	s.vals, s.coarse = next, true
}

// bin is one bin of a column: its values, a range of numbers, or the rows
// without a value.
type bin struct {
	missing bool
	values  []string // values bins: the values as written
	other   bool     // values bins: every value no other bin lists
	lo, hi  *float64 // numbers: lo <= x < hi
	eq      *float64 // numbers: x == eq (a special value, such as 0)
	count
	points int
}

// column is a column turned into bins, with the field it feeds.
type column struct {
	attr    *Attribute
	typ     rulefile.Type
	numeric bool
	bins    []bin
	lookup  map[string]int // values: text -> bin
	other   int            // values: the bin of unlisted values, -1 when none
	missing int            // the bin of rows without a value
	ref     int            // the bin that gets 0 points
	unit    string         // what the numbers count (Options.Units), for descriptions and the field

	// Numbers are cut again for every cross-validation fold, from that
	// fold's counts of each distinct number (a level).
	levels        []numCount // numbers: the distinct numbers on the training rows, ascending
	missCount     count      // numbers: the training rows without a value
	coarse        bool       // numbers: levels are cut to 3 significant digits
	pooledMissing bool       // the rows without a value count in the reference bin (sharedMissing)
}

// level returns a value's level (trimmed text; "" is missing): its bin for
// a column of values, its distinct number's index for a column of
// numbers. The missing level is len(levels).
func (c *column) level(text string, days func(string) (float64, bool)) uint16 {
	if !c.numeric {
		return uint16(c.valueBin(text))
	}
	miss := uint16(len(c.levels))
	if text == "" {
		return miss
	}
	v, ok := c.number(text, days)
	if !ok {
		return miss
	}
	if c.coarse {
		v = floorSig(v, 3)
	}
	i, found := slices.BinarySearchFunc(c.levels, v, func(x numCount, v float64) int { return cmp.Compare(x.v, v) })
	if !found {
		// Every training row's number was counted on the first pass, so
		// this is a row derive did not count: the nearest level below.
		i = max(0, i-1)
	}
	return uint16(i)
}

// valueBin returns the bin of a value of a column of values.
func (c *column) valueBin(text string) int {
	if text == "" {
		return c.missing
	}
	key := text
	if c.typ == rulefile.TypeBool {
		key = strconv.FormatBool(boolWords[strings.ToLower(text)])
	}
	if b, ok := c.lookup[key]; ok {
		return b
	}
	if c.other >= 0 {
		return c.other
	}
	return c.ref
}

// numberBin returns the bin of a number, as the column's rules decide it.
func (c *column) numberBin(v float64) int {
	for i, b := range c.bins {
		if b.eq != nil && v == *b.eq {
			return i
		}
	}
	for i, b := range c.bins {
		if b.eq != nil || b.missing {
			continue
		}
		if (b.lo == nil || v >= *b.lo) && (b.hi == nil || v < *b.hi) {
			return i
		}
	}
	return c.ref
}

// table maps each level of the numbers (as in levels) to its bin under
// the column's current bins; the last entry is the missing level's. A
// column of values has a level per bin.
func (c *column) table(levels []numCount) []uint8 {
	if !c.numeric {
		t := make([]uint8, len(c.bins))
		for i := range t {
			t[i] = uint8(i)
		}
		return t
	}
	t := make([]uint8, len(levels)+1)
	for l, x := range levels {
		t[l] = uint8(c.numberBin(x.v))
	}
	t[len(levels)] = uint8(c.missing)
	return t
}

func (c *column) number(text string, days func(string) (float64, bool)) (float64, bool) {
	if c.typ == rulefile.TypeDate {
		return days(text)
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// binning shapes the bins.
type binning struct {
	minRows   int // numbers: the fewest training rows of a range
	minValue  int // the fewest training rows of a value's bin, or of the missing rows'
	fine      int // numbers: quantile bins before merging
	maxBins   int // numbers: the most ranges of a column
	maxValues int // values: the most bins of a column, missing aside
}

// valueBins makes one bin per value on at least minValue rows (the
// maxValues-1 most common), the rest pooled into one "other" bin, plus the
// missing bin. Which values stand alone depends on how common they are,
// never on their outcome, so their bins can be smaller than ranges of
// numbers, which are cut where the outcome changes: the fit's penalty
// shrinks a rare value's points.
func (bn binning) valueBins(c *column, vals map[string]*count, missing count) {
	type kv struct {
		key string
		count
		values []string
	}
	groups := map[string]*kv{}
	for t, n := range vals {
		key := t
		if c.typ == rulefile.TypeBool {
			key = strconv.FormatBool(boolWords[strings.ToLower(t)])
		}
		g := groups[key]
		if g == nil {
			g = &kv{key: key}
			groups[key] = g
		}
		g.rows += n.rows
		g.best += n.best
		g.values = append(g.values, t)
	}
	var list []*kv
	for _, g := range groups {
		slices.Sort(g.values)
		list = append(list, g)
	}
	slices.SortFunc(list, func(x, y *kv) int { return cmp.Or(cmp.Compare(y.rows, x.rows), cmp.Compare(x.key, y.key)) })
	c.lookup = map[string]int{}
	c.other = -1
	var other bin
	other.other = true
	for i, g := range list {
		if g.rows < bn.minValue || i >= bn.maxValues-1 {
			other.rows += g.rows
			other.best += g.best
			other.values = append(other.values, g.values...)
			continue
		}
		c.lookup[g.key] = len(c.bins)
		c.bins = append(c.bins, bin{values: []string{g.key}, count: g.count})
	}
	switch {
	case len(c.bins) > 0 && other.rows < bn.minValue:
		// Too few to stand alone: the rare values go with the most
		// common one (a yes on 2 rows of 6,000 teaches nothing).
		c.other = 0
		c.bins[0].rows += other.rows
		c.bins[0].best += other.best
	case other.rows > 0 || len(c.bins) == 0:
		c.other = len(c.bins)
		slices.Sort(other.values)
		c.bins = append(c.bins, other)
	}
	bn.missingBin(c, missing)
}

// missingBin adds the bin of rows without a value, or, when they are too
// few to stand alone, counts them in the reference bin: the most common
// one, which earns no points.
func (bn binning) missingBin(c *column, missing count) {
	c.ref = 0
	for i, b := range c.bins {
		if b.eq == nil && b.rows > c.bins[c.ref].rows {
			c.ref = i
		}
	}
	if (missing.rows < bn.minValue || c.pooledMissing) && len(c.bins) > 0 {
		c.missing = c.ref
		c.bins[c.ref].rows += missing.rows
		c.bins[c.ref].best += missing.best
		return
	}
	c.missing = len(c.bins)
	c.bins = append(c.bins, bin{missing: true, count: missing})
}

// numberBins cuts numbers into bins whose rates rise or fall steadily
// (monotonic) where the data allow, else rise then fall (or fall then
// rise) once; a value at either end that holds a tenth of the rows or more
// (0 seconds on the site) is a bin of its own outside that order. Cut
// points are the roundest numbers between the bins' values.
func (bn binning) numberBins(c *column, vals []numCount, missing count) {
	var total int
	for _, v := range vals {
		total += v.rows
	}
	var specials []numCount
	for _, end := range []int{0, len(vals) - 1} {
		if len(vals) > 2 && vals[end].rows*10 >= total && vals[end].rows >= bn.minRows && !c.coarse {
			specials = append(specials, vals[end])
		}
	}
	inner := vals
	for _, s := range specials {
		if s.v == inner[0].v {
			inner = inner[1:]
		} else if s.v == inner[len(inner)-1].v {
			inner = inner[:len(inner)-1]
		}
	}
	segs := bn.fineSegments(inner)
	segs = shapeSegments(segs)
	for len(segs) > bn.maxBins-len(specials) && len(segs) > 1 {
		segs = mergeClosest(segs)
	}
	// the bins, with round cut points
	cuts := make([]float64, len(segs))
	for i := 0; i+1 < len(segs); i++ {
		cuts[i] = humanCut(inner, segs[i], segs[i+1])
		if c.coarse && floorSig(cuts[i], 3) != cuts[i] {
			// A level holds the numbers from it up to the next with three
			// significant digits: a cut with more would split one.
			cuts[i] = segs[i+1].first
		}
	}
	for i, s := range segs {
		b := bin{count: s.count} // counted again on the second pass, at the cuts
		if i > 0 {
			lo := cuts[i-1]
			b.lo = &lo
		}
		if i+1 < len(segs) {
			hi := cuts[i]
			b.hi = &hi
		}
		c.bins = append(c.bins, b)
	}
	// A special value at an end is outside the ranges beside it.
	for _, s := range specials {
		v := s.v
		if len(segs) > 0 && v < segs[0].first {
			lo := roundCut(v, segs[0].first)
			c.bins[0].lo = &lo
		} else if len(segs) > 0 {
			hi := roundCut(segs[len(segs)-1].last, v)
			c.bins[len(segs)-1].hi = &hi
		}
		c.bins = append(c.bins, bin{eq: &v, count: s.count})
	}
	c.other = -1
	bn.missingBin(c, missing)
}

// numCount is one distinct number with its counts.
type numCount struct {
	v float64
	count
}

// segment is a run of distinct numbers, first to last.
type segment struct {
	first, last float64
	count
}

func (s segment) logit() float64 {
	r := (float64(s.best) + 0.5) / (float64(s.rows) + 1)
	return math.Log(r / (1 - r))
}

// fineSegments cuts sorted numbers into about bn.fine runs of equal rows,
// never splitting one value, each with at least minRows rows.
func (bn binning) fineSegments(vals []numCount) []segment {
	var total int
	for _, v := range vals {
		total += v.rows
	}
	if len(vals) == 0 {
		return nil
	}
	size := max(bn.minRows, total/bn.fine)
	var segs []segment
	cur := segment{first: vals[0].v}
	for i, v := range vals {
		if cur.rows == 0 {
			cur.first = v.v
		}
		cur.last = v.v
		cur.rows += v.rows
		cur.best += v.best
		rest := total - cur.rows
		for _, s := range segs {
			rest -= s.rows
		}
		if cur.rows >= size && rest >= bn.minRows && i+1 < len(vals) {
			segs = append(segs, cur)
			cur = segment{}
		}
	}
	if cur.rows > 0 {
		if cur.rows < bn.minRows && len(segs) > 0 {
			last := &segs[len(segs)-1]
			last.last, last.rows, last.best = cur.last, last.rows+cur.rows, last.best+cur.best
		} else {
			segs = append(segs, cur)
		}
	}
	return segs
}

// shapeSegments merges fine segments until their rates are monotonic,
// rising or falling, whichever keeps more information; when a single turn
// (rise then fall, or fall then rise) keeps a third more, that shape wins.
func shapeSegments(segs []segment) []segment {
	if len(segs) < 2 {
		return segs
	}
	best := pava(segs, true)
	if dn := pava(segs, false); segIV(dn) > segIV(best) {
		best = dn
	}
	mono := segIV(best)
	for t := 1; t < len(segs)-1; t++ {
		for _, up := range []bool{true, false} {
			left, right := pava(segs[:t], up), pava(segs[t:], !up)
			both := append(slices.Clone(left), right...)
			if iv := segIV(both); iv > 1.33*mono && iv > segIV(best) {
				best = both
			}
		}
	}
	return best
}

// pava pools adjacent violators: it merges neighbouring segments until
// their log-odds rise (up) or fall steadily.
func pava(segs []segment, up bool) []segment {
	var out []segment
	for _, s := range segs {
		out = append(out, s)
		for len(out) > 1 {
			a, b := out[len(out)-2], out[len(out)-1]
			if up && a.logit() < b.logit() || !up && a.logit() > b.logit() {
				break
			}
			out = out[:len(out)-2]
			out = append(out, segment{first: a.first, last: b.last, count: count{a.rows + b.rows, a.best + b.best}})
		}
	}
	return out
}

// segIV is the information value of segments.
func segIV(segs []segment) float64 {
	var best, rest int
	for _, s := range segs {
		best += s.best
		rest += s.rows - s.best
	}
	var iv float64
	for _, s := range segs {
		pb := (float64(s.best) + 0.5) / (float64(best) + 0.5)
		pr := (float64(s.rows-s.best) + 0.5) / (float64(rest) + 0.5)
		iv += (pb - pr) * math.Log(pb/pr)
	}
	return iv
}

// mergeClosest merges the two neighbouring segments whose log-odds are
// closest.
func mergeClosest(segs []segment) []segment {
	at, gap := 0, math.Inf(1)
	for i := 0; i+1 < len(segs); i++ {
		if g := math.Abs(segs[i].logit() - segs[i+1].logit()); g < gap {
			at, gap = i, g
		}
	}
	a, b := segs[at], segs[at+1]
	m := segment{first: a.first, last: b.last, count: count{a.rows + b.rows, a.best + b.best}}
	return append(append(slices.Clone(segs[:at]), m), segs[at+2:]...)
}

// humanCut places the cut between two neighbouring segments at the
// roundest number it can: it may move up to a twentieth of the smaller
// segment's rows across, so that 241 seconds becomes 250.
func humanCut(vals []numCount, lower, upper segment) float64 {
	maxMove := min(lower.rows, upper.rows) / 20
	i, _ := slices.BinarySearchFunc(vals, lower.last, func(x numCount, v float64) int { return cmp.Compare(x.v, v) })
	lo, moved := i, 0
	for lo > 0 && moved+vals[lo].rows <= maxMove {
		moved += vals[lo].rows
		lo--
	}
	hi, moved := i+1, 0
	for hi+1 < len(vals) && moved+vals[hi].rows <= maxMove {
		moved += vals[hi].rows
		hi++
	}
	if i+1 >= len(vals) {
		return roundCut(lower.last, upper.first)
	}
	return roundCut(vals[lo].v, vals[hi].v)
}

// floorSig cuts v down to d significant digits: the largest number with
// at most d significant digits that is at most v, computed on the decimal
// digits, so that it agrees with the numbers a rule file writes.
func floorSig(v float64, d int) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	neg := v < 0
	mant, exp, _ := strings.Cut(strconv.FormatFloat(math.Abs(v), 'e', -1, 64), "e")
	digits := strings.Replace(mant, ".", "", 1)
	cut := len(digits) > d
	if cut {
		digits = digits[:d]
	}
	e, _ := strconv.Atoi(exp)
	n, _ := strconv.ParseInt(digits, 10, 64)
	if neg && cut { // towards minus infinity
		n++
	}
	f, _ := strconv.ParseFloat(strconv.FormatInt(n, 10)+"e"+strconv.Itoa(e-len(digits)+1), 64)
	if neg {
		return -f
	}
	return f
}

// roundCut returns the roundest number above a and at most b: the cut
// between a bin ending at a and the next starting at b, as a person would
// write it (150 between 148 and 152, 1 between 0 and 1).
func roundCut(a, b float64) float64 {
	if b <= a {
		return b
	}
	for e := math.Floor(math.Log10(math.Max(math.Abs(a), math.Abs(b)))) + 1; e > -10; e-- {
		for _, m := range []float64{10, 5, 2, 1} {
			step := m * math.Pow(10, e-1)
			c := math.Ceil(a/step) * step
			if c <= a {
				c += step
			}
			if c <= b {
				return roundSig(c, 12) + 0 // + 0: never -0
			}
		}
	}
	return b
}

// describe says in words which leads a bin holds, for descriptions.
func (c *column) describe(b bin, unit string) string {
	name := c.attr.Column
	u := ""
	if unit != "" {
		u = " " + unit
	}
	switch {
	case b.missing:
		return name + " is not given"
	case b.other:
		return name + " is another value (" + fmt.Sprint(len(b.values)) + " rare values)"
	case b.eq != nil:
		return fmt.Sprintf("%s is %s%s", name, formatNum(*b.eq), u)
	case c.numeric && b.lo == nil && b.hi != nil:
		return fmt.Sprintf("%s is under %s%s", name, formatNum(*b.hi), u)
	case c.numeric && b.hi == nil && b.lo != nil:
		return fmt.Sprintf("%s is %s%s or more", name, formatNum(*b.lo), u)
	case c.numeric && b.lo != nil && b.hi != nil:
		return fmt.Sprintf("%s is %s to under %s%s", name, formatNum(*b.lo), formatNum(*b.hi), u)
	case c.numeric:
		return name + " has any value"
	case c.typ == rulefile.TypeBool:
		if b.values[0] == "true" {
			return name + " is yes"
		}
		return name + " is no"
	}
	return fmt.Sprintf("%s is %s", name, b.values[0])
}
