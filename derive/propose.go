package derive

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules/rulefile"
)

// knockoutRate is how far below the base rate a value's rate of best rows
// must be for a knockout ("almost never among the best"), and
// knockoutP how unlikely so few best rows must be at the base rate.
const (
	knockoutRate = 0.1
	knockoutP    = 0.001
)

// decision is what the evidence says to do with one level.
type decision struct {
	knockout bool
	points   int
}

func (d decision) none() bool { return !d.knockout && d.points == 0 }

// decide applies the thresholds to one level: knockout when the value is
// common enough and the best (almost) never have it, else points when it
// differs from the base rate by at least MinZ standard deviations.
func (s *sample) decide(l *Level) decision {
	if l.Missing || l.Pooled || l.Rows < s.support {
		return decision{}
	}
	for _, v := range l.Values {
		if !utf8.ValidString(v) {
			return decision{} // YAML holds only Unicode: no rule could match these bytes
		}
	}
	if l.Rate <= knockoutRate*s.base && lowerTail(l.Best, l.Rows, s.base) <= knockoutP {
		return decision{knockout: true}
	}
	if math.Abs(l.Z) < s.opts.MinZ {
		return decision{}
	}
	pts := points(weightOfEvidence(l.Best, l.Rows, s.base), s.opts.PDO, s.opts.MaxPoints)
	if abs(pts) < s.opts.MinPoints {
		return decision{} // a real but small effect: not worth a rule
	}
	return decision{points: pts}
}

// ruleProp is one proposed knockout or score rule, with its evidence.
type ruleProp struct {
	id       string
	knockout bool
	points   int
	when     string
	list     *listProp
	evidence []string
	reason   string
	desc     string
	level    Level // the merged evidence
	attr     *Attribute
}

// listProp is a named list a rule reads.
type listProp struct {
	name  string
	items []string // YAML scalars, already quoted
}

// propose turns an analysed attribute into rules: values with the same
// decision share one rule (reading a list when there are several), and
// adjacent bands with the same decision merge into one range.
func (s *sample) propose(a *Attribute, ids *idSet) []*ruleProp {
	decisions := make([]decision, len(a.Levels))
	for i := range a.Levels {
		decisions[i] = s.decide(&a.Levels[i])
		a.Levels[i].Points = decisions[i].points
		a.Levels[i].Knockout = decisions[i].knockout
	}
	type group struct {
		d      decision
		levels []Level
	}
	var groups []group
	if a.Kind == "bands" {
		for i, l := range a.Levels {
			if decisions[i].none() {
				continue
			}
			if n := len(groups); n > 0 && groups[n-1].d == decisions[i] && adjacent(groups[n-1].levels, l) {
				groups[n-1].levels = append(groups[n-1].levels, l)
				continue
			}
			groups = append(groups, group{decisions[i], []Level{l}})
		}
	} else {
		byDecision := map[decision]int{}
		for i, l := range a.Levels {
			if decisions[i].none() {
				continue
			}
			if g, ok := byDecision[decisions[i]]; ok {
				groups[g].levels = append(groups[g].levels, l)
				continue
			}
			byDecision[decisions[i]] = len(groups)
			groups = append(groups, group{decisions[i], []Level{l}})
		}
	}
	// Knockouts first, then points from most to fewest.
	slices.SortStableFunc(groups, func(x, y group) int {
		if x.d.knockout != y.d.knockout {
			if x.d.knockout {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.d.points, x.d.points)
	})
	var out []*ruleProp
	pos, neg := 0, 0
	for _, g := range groups {
		merged := s.merge(a, g.levels)
		r := &ruleProp{knockout: g.d.knockout, points: g.d.points, level: merged, attr: a}
		var suffix string
		switch {
		case a.Kind == "bands":
			suffix = bandSlug(merged)
		case len(merged.Values) == 1:
			suffix = slug(merged.Values[0])
		case r.knockout:
			suffix = "excluded"
		case r.points > 0:
			suffix = []string{"best", "good"}[min(pos, 1)]
			if pos > 1 {
				suffix += "-" + strconv.Itoa(pos)
			}
			pos++
		default:
			suffix = []string{"worst", "poor"}[min(neg, 1)]
			if neg > 1 {
				suffix += "-" + strconv.Itoa(neg)
			}
			neg++
		}
		r.id = ids.unique(kebab(a.Field[strings.IndexByte(a.Field, '.')+1:] + "-" + suffix))
		s.condition(a, r)
		s.explain(a, r)
		out = append(out, r)
	}
	return out
}

func adjacent(prev []Level, l Level) bool {
	last := prev[len(prev)-1]
	hi := last.Hi
	if last.Values != nil { // an == band of whole numbers ends just above its value
		v := *last.Lo + 1
		hi = &v
	}
	return hi != nil && l.Lo != nil && *hi == *l.Lo
}

// merge sums levels into one, keeping values, or the outer bounds of
// adjacent bands.
func (s *sample) merge(a *Attribute, levels []Level) Level {
	if len(levels) == 1 {
		return levels[0]
	}
	m := Level{}
	for _, l := range levels {
		m.Rows += l.Rows
		m.Best += l.Best
		if a.Kind != "bands" {
			m.Values = append(m.Values, l.Values...)
		}
	}
	if a.Kind == "bands" {
		first, last := levels[0], levels[len(levels)-1]
		m.Lo = first.Lo
		m.Hi = last.Hi
		if last.Values != nil { // an == band ends the range: it stops just above that value
			v := *last.Lo + 1
			m.Hi = &v
		}
		m.Label = bandLabel(m)
	} else {
		labels := make([]string, len(levels))
		for i, l := range levels {
			labels[i] = l.Label
		}
		m.Label = strings.Join(labels, ", ")
	}
	s.measure(&m)
	return m
}

// condition writes the rule's when: and its list.
func (s *sample) condition(a *Attribute, r *ruleProp) {
	f := a.Field
	l := r.level
	if a.Kind == "bands" {
		x := f
		if a.typ == rulefile.TypeDate {
			x = "days_since(" + f + ")"
		}
		switch {
		case l.Values != nil:
			r.when = fmt.Sprintf("%s == %s", x, l.Values[0])
		case l.Lo == nil:
			r.when = fmt.Sprintf("%s < %s", x, formatNum(*l.Hi))
		case l.Hi == nil:
			r.when = fmt.Sprintf("%s >= %s", x, formatNum(*l.Lo))
		default:
			r.when = fmt.Sprintf("%s >= %s && %s < %s", x, formatNum(*l.Lo), x, formatNum(*l.Hi))
		}
		return
	}
	lit := func(v string) string {
		switch a.typ {
		case rulefile.TypeBool:
			return strconv.FormatBool(boolWords[strings.ToLower(v)])
		case rulefile.TypeInt:
			return v
		}
		return strconv.Quote(v)
	}
	if a.typ == rulefile.TypeBool {
		// "Yes" and "yes" are one value; compare with the boolean once.
		r.when = fmt.Sprintf("%s == %s", f, lit(l.Values[0]))
		return
	}
	if len(l.Values) == 1 {
		r.when = fmt.Sprintf("%s == %s", f, lit(l.Values[0]))
		return
	}
	items := make([]string, len(l.Values))
	for i, v := range l.Values {
		items[i] = lit(v)
	}
	r.list = &listProp{name: strings.ReplaceAll(r.id, "-", "_"), items: items}
	r.when = fmt.Sprintf("%s in %s", f, r.list.name)
}

// explain writes the rule's evidence comment, reason and description.
func (s *sample) explain(a *Attribute, r *ruleProp) {
	l := r.level
	noun := s.opts.Noun
	col := strings.NewReplacer("{{", "{ {", "}}", "} }").Replace(a.Column)
	what := s.phrase(a, l)
	r.evidence = append(r.evidence, fmt.Sprintf("%s of %s best %s %s: %s vs %s overall, lift %s",
		backtest.Count(int64(l.Best)), backtest.Count(int64(s.nBest)), noun, what, pct(l.ShareBest), pct(l.ShareAll), lift(l.Lift)))
	if r.knockout {
		p := lowerTail(l.Best, l.Rows, s.base)
		r.evidence = append(r.evidence, fmt.Sprintf("%s of %s such %s were best (%s vs %s base); at the base rate that few has a chance of %s",
			backtest.Count(int64(l.Best)), backtest.Count(int64(l.Rows)), noun, pct(l.Rate), pct(s.base), chance(p)))
		if l.Best == 0 {
			r.reason = fmt.Sprintf("%s {{%s}}: none of %s such %s in the training data became best", col, a.Field, backtest.Count(int64(l.Rows)), noun)
		} else {
			r.reason = fmt.Sprintf("%s {{%s}}: only %s of %s such %s in the training data became best", col, a.Field, backtest.Count(int64(l.Best)), backtest.Count(int64(l.Rows)), noun)
		}
	} else {
		r.evidence = append(r.evidence, fmt.Sprintf("%s of %s such %s were best (z %.1f): %+d points, %s points doubling the odds",
			pct(l.Rate), backtest.Count(int64(l.Rows)), noun, l.Z, r.points, formatNum(s.opts.PDO)))
		shown := "{{" + a.Field + "}}"
		switch {
		case a.date:
			shown += " (" + l.Label + " days ago)"
		case a.Kind == "bands":
			shown += " (" + l.Label + ")"
		}
		r.reason = fmt.Sprintf("%s %s: %s best vs %s overall", col, shown, pct(l.Rate), pct(s.base))
	}
	if a.Kind == "bands" {
		r.desc = col + " " + l.Label
		if a.date {
			r.desc = "Days since " + col + " " + l.Label
		}
	} else {
		r.desc = col + " is " + strings.Join(l.Values, " or ")
	}
}

// phrase says which rows a level holds, in words: have Lead Origin "API",
// have Source in ["a", "b"], have Total Time >= 900.
func (s *sample) phrase(a *Attribute, l Level) string {
	if a.Kind == "bands" {
		name := a.Column
		if a.date {
			name = "days since " + a.Column
		}
		return "have " + name + " " + l.Label
	}
	if len(l.Values) == 1 {
		return fmt.Sprintf("have %s %q", a.Column, l.Values[0])
	}
	q := make([]string, len(l.Values))
	for i, v := range l.Values {
		q[i] = strconv.Quote(v)
	}
	return fmt.Sprintf("have %s in [%s]", a.Column, strings.Join(q, ", "))
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

func lift(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func chance(p float64) string {
	if p < 1e-300 {
		return "under 1e-300"
	}
	if p < 1e-6 {
		return fmt.Sprintf("%.0e", p)
	}
	return strconv.FormatFloat(p, 'g', 2, 64)
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

func bandSlug(l Level) string {
	n := func(v float64) string {
		s := formatNum(v)
		if v < 0 {
			s = "minus-" + s[1:]
		}
		return s
	}
	switch {
	case l.Values != nil:
		return n(*l.Lo)
	case l.Lo == nil:
		return "under-" + n(*l.Hi)
	case l.Hi == nil:
		return n(*l.Lo) + "-plus"
	}
	return n(*l.Lo) + "-to-" + n(*l.Hi)
}

// kebab lower-cases s and joins its runs of letters and digits with "-".
func kebab(s string) string {
	return strings.ReplaceAll(strings.TrimPrefix(backtest.Normalise(s), "_"), "_", "-")
}

// idSet hands out unique rule ids and names.
type idSet map[string]bool

func (ids *idSet) unique(id string) string {
	if *ids == nil {
		*ids = idSet{}
	}
	out := id
	for n := 2; (*ids)[out]; n++ {
		out = fmt.Sprintf("%s-%d", id, n)
	}
	(*ids)[out] = true
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
