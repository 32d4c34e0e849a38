package compiler

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// The lints in this file look at what the rules can do, not at how they are
// written: conditions that are constant, tiers no score reaches, points a
// group cap cuts, score rules a knockout makes pointless, and groups that
// look like typos. They reason about the conditions after lists and macros
// are expanded, and only ever warn when they are sure: a score range is an
// upper bound that ignores rules excluding each other, a contradiction is
// found only between comparisons of one value with constants.

// lintRule is one knockout or score rule with its expanded condition.
type lintRule struct {
	decl  *rulefile.RuleDecl
	file  *rulefile.File
	cond  ast.Node // lists and macros inlined, and/or/not spelt &&, ||, !
	truth constness
	why   string // for never: the comparisons that contradict each other
}

type constness int8

const (
	varies constness = iota
	alwaysTrue
	alwaysFalse
)

func (r *lintRule) subject() string {
	if r.decl.Knockout {
		return fmt.Sprintf("knockout %q", r.decl.ID)
	}
	return fmt.Sprintf("score rule %q", r.decl.ID)
}

// lintRules runs every lint of this file. It is called by lint, on rulesets
// without errors only.
func (c *builder) lintRules() {
	for _, f := range c.files {
		if f.Broken() {
			return // a rule with a bad points: or when: would skew every range
		}
	}
	var all []*lintRule
	c.ex.buildShared(func() {
		for _, f := range c.files {
			for _, list := range [][]*rulefile.RuleDecl{f.Knockouts, f.Score} {
				for _, d := range list {
					r := &lintRule{decl: d, file: f}
					node, ok := c.ex.build(exprSource{file: f, text: d.When})
					if !ok {
						continue
					}
					normaliseOps(node)
					r.cond = node
					r.truth, r.why = truthOf(node)
					all = append(all, r)
				}
			}
		}
	})
	c.lintConstant(all)
	c.lintCaps(all)
	c.lintGroups(all)
	c.lintTiers(all)
	c.lintOverlap(all)
	c.lintCost(all)
	c.lintReasons(all) // lintreason.go
}

// lintConstant reports rules whose condition does not depend on the lead.
func (c *builder) lintConstant(all []*lintRule) {
	for _, r := range all {
		d := r.decl
		switch {
		case r.truth == alwaysTrue && d.Knockout:
			c.warnf(d.When.Pos, "always-fires", "%s: when: is always true, so every lead is rejected (compare a field, like lead.employees < 10)", r.subject())
		case r.truth == alwaysTrue:
			points := "points"
			if d.Points == 1 || d.Points == -1 {
				points = "point"
			}
			c.warnf(d.When.Pos, "always-fires", "%s: when: is always true, so every lead gets its %+d %s (compare a field, or drop the rule)", r.subject(), d.Points, points)
		case r.truth == alwaysFalse:
			why := ""
			if r.why != "" && r.why != exprText(r.cond)+alwaysFalseNote {
				why = " (" + r.why + ")"
			}
			c.warnf(d.When.Pos, "never-fires", "%s: when: is always false, so the rule never fires%s", r.subject(), why)
		}
	}
}

// lintCaps reports a score rule whose points alone go past its group's cap:
// the cap cuts them every time the rule fires.
func (c *builder) lintCaps(all []*lintRule) {
	caps := c.groupDecls()
	for _, r := range all {
		d := r.decl
		g := caps[d.Group]
		if d.Knockout || g == nil {
			continue
		}
		switch {
		case d.Points > 0 && g.Max != nil && d.Points > *g.Max:
			c.warnf(d.PointsPos, "points-over-cap", "%s: %d points exceed the max of group %q (%d), so the rule adds at most %d (lower the points or raise the cap)",
				r.subject(), d.Points, d.Group, *g.Max, *g.Max)
		case d.Points < 0 && g.Min != nil && d.Points < *g.Min:
			c.warnf(d.PointsPos, "points-over-cap", "%s: %d points are below the min of group %q (%d), so the rule takes off at most %d (raise the points or lower the floor)",
				r.subject(), d.Points, d.Group, *g.Min, -*g.Min)
		}
	}
}

func (c *builder) groupDecls() map[string]*rulefile.GroupDecl {
	out := map[string]*rulefile.GroupDecl{}
	for _, f := range c.files {
		for _, g := range f.Groups {
			out[g.Name] = g
		}
	}
	return out
}

// lintGroups reports a capped group no rule is in, and a group only one
// rule names with no caps: both are usually a misspelt group name.
func (c *builder) lintGroups(all []*lintRule) {
	caps := c.groupDecls()
	users := map[string][]*lintRule{}
	for _, r := range all {
		if !r.decl.Knockout && r.decl.Group != "" {
			users[r.decl.Group] = append(users[r.decl.Group], r)
		}
	}
	names := slices.Sorted(maps.Keys(users))
	for _, name := range slices.Sorted(maps.Keys(caps)) {
		if len(users[name]) == 0 {
			c.warnf(caps[name].Pos, "unused-group", "group %q has caps but no score rule is in it%s", name, rulefile.DidYouMean(name, names))
		}
	}
	for _, name := range names {
		if rs := users[name]; len(rs) == 1 && caps[name] == nil {
			others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == name })
			others = append(others, slices.Sorted(maps.Keys(caps))...)
			c.warnf(rs[0].decl.GroupPos, "unknown-group", "%s: group %q has no caps and no other rule is in it%s",
				rs[0].subject(), name, rulefile.DidYouMean(name, others))
		}
	}
}

// scoreRange returns the lowest and highest score any lead can get: each
// group's negative and positive points summed and clamped to its caps, plus
// the ungrouped points. Rules that always fire count at both ends; rules
// that never fire count at neither. The range ignores rules that exclude
// each other, so the true range may be narrower, never wider.
func (c *builder) scoreRange(all []*lintRule) (lo, hi int) {
	caps := c.groupDecls()
	type span struct{ lo, hi int }
	groups := map[string]*span{}
	var ungrouped span
	for _, r := range all {
		d := r.decl
		if d.Knockout || r.truth == alwaysFalse {
			continue
		}
		s := &ungrouped
		if d.Group != "" {
			if groups[d.Group] == nil {
				groups[d.Group] = &span{}
			}
			s = groups[d.Group]
		}
		switch {
		case r.truth == alwaysTrue:
			s.lo += d.Points
			s.hi += d.Points
		case d.Points > 0:
			s.hi += d.Points
		default:
			s.lo += d.Points
		}
	}
	clamp := func(g *rulefile.GroupDecl, v int) int {
		if g == nil {
			return v
		}
		if g.Max != nil && v > *g.Max {
			v = *g.Max
		}
		if g.Min != nil && v < *g.Min {
			v = *g.Min
		}
		return v
	}
	lo, hi = ungrouped.lo, ungrouped.hi
	for name, s := range groups {
		lo += clamp(caps[name], s.lo)
		hi += clamp(caps[name], s.hi)
	}
	return lo, hi
}

// lintTiers reports tiers no score can land in: a min above the highest
// possible score, or a tier whose every score the tier above already takes.
func (c *builder) lintTiers(all []*lintRule) {
	var tiers []*rulefile.TierDecl
	for _, f := range c.files {
		if len(f.Tiers) > 0 {
			tiers = f.Tiers
		}
	}
	lo, hi := c.scoreRange(all)
	for i, t := range tiers {
		switch {
		case t.Min != nil && *t.Min > hi:
			c.warnf(t.Pos, "unreachable-tier", "tier %q can never be reached: it needs a score of %d and the highest possible score is %d (lower its min, or raise points or caps)",
				t.Name, *t.Min, hi)
		case i > 0 && tiers[i-1].Min != nil && lo >= *tiers[i-1].Min:
			c.warnf(t.Pos, "unreachable-tier", "tier %q can never be reached: the lowest possible score is %d, which tier %q (min %d) already takes",
				t.Name, lo, tiers[i-1].Name, *tiers[i-1].Min)
		}
	}
}

// lintOverlap reports a score rule that can fire only when a knockout
// fires: the knockout rejects the lead whatever its score, so the rule's
// points never decide anything. The rule implies the knockout when every
// comparison of one of the knockout's alternatives (its || parts) is among
// the rule's conditions (its && parts), or follows from them, as
// lead.employees < 5 implies lead.employees < 10.
func (c *builder) lintOverlap(all []*lintRule) {
	for _, s := range all {
		if s.decl.Knockout || s.truth != varies {
			continue
		}
		have := conjuncts(s.cond)
		for _, k := range all {
			if !k.decl.Knockout || k.truth != varies {
				continue
			}
			if exprText(s.cond) == exprText(k.cond) {
				c.warnf(s.decl.When.Pos, "knockout-overlap", "%s: when: is the same condition as knockout %q, which rejects every lead it matches; the points never count (drop one of the two)",
					s.subject(), k.decl.ID)
				continue
			}
			for _, alt := range disjuncts(k.cond) {
				if implies(have, conjuncts(alt)) {
					c.warnf(s.decl.When.Pos, "knockout-overlap", "%s: fires only when knockout %q fires (%s), which rejects the lead whatever its score; the points never count (narrow the rule, or drop it)",
						s.subject(), k.decl.ID, exprText(alt))
					break
				}
			}
		}
	}
}

// implies reports whether the conjunction have implies every one of need.
func implies(have, need []ast.Node) bool {
	texts := map[string]bool{}
	for _, n := range have {
		texts[exprText(n)] = true
	}
	known := constraints(have)
	for _, n := range need {
		if texts[exprText(n)] {
			continue
		}
		a, ok := atomOf(n)
		if !ok {
			return false
		}
		got, ok := known[a.subject]
		if !ok || !got.within(a) {
			return false
		}
	}
	return true
}

// normaliseOps spells and, or and not as &&, || and ! so that conditions
// written either way print the same.
func normaliseOps(n ast.Node) {
	walk(n, func(x ast.Node) bool {
		switch v := x.(type) {
		case *ast.BinaryNode:
			switch {
			case isAnd(v.Operator):
				v.Operator = "&&"
			case isOr(v.Operator):
				v.Operator = "||"
			}
		case *ast.UnaryNode:
			if isNot(v.Operator) {
				v.Operator = "!"
			}
		}
		return true
	})
}

// exprText prints an expanded condition for comparison and for messages,
// without the hidden clock argument.
func exprText(n ast.Node) string {
	s := n.String()
	if u, ok := n.(*ast.UnaryNode); ok && u.Operator == "!" {
		if b, ok := u.Node.(*ast.BinaryNode); ok && b.Operator == "in" {
			s = (&ast.BinaryNode{Operator: "not in", Left: b.Left, Right: b.Right}).String()
		}
	}
	return strings.ReplaceAll(s, ", "+eval.NowVar+")", ")")
}

func conjuncts(n ast.Node) []ast.Node { return flatten(n, "&&") }
func disjuncts(n ast.Node) []ast.Node { return flatten(n, "||") }

func flatten(n ast.Node, op string) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && b.Operator == op {
		return append(flatten(b.Left, op), flatten(b.Right, op)...)
	}
	return []ast.Node{n}
}

// truthOf decides whether a condition is the same for every lead. Parts
// that read no field are evaluated; && and || combine them as the engine's
// three-valued logic does (unknown && false is false, unknown || true is
// true); comparisons of one value that contradict each other are false.
func truthOf(n ast.Node) (constness, string) {
	switch v := n.(type) {
	case *ast.UnaryNode:
		if v.Operator == "!" {
			t, _ := truthOf(v.Node)
			switch t {
			case alwaysTrue:
				return alwaysFalse, exprText(n) + alwaysFalseNote
			case alwaysFalse:
				return alwaysTrue, ""
			}
			return varies, ""
		}
	case *ast.BinaryNode:
		switch v.Operator {
		case "&&":
			a, whyA := truthOf(v.Left)
			b, whyB := truthOf(v.Right)
			switch {
			case a == alwaysFalse:
				return alwaysFalse, whyA
			case b == alwaysFalse:
				return alwaysFalse, whyB
			case a == alwaysTrue && b == alwaysTrue:
				return alwaysTrue, ""
			}
			if why := contradiction(conjuncts(v)); why != "" {
				return alwaysFalse, why
			}
			return varies, ""
		case "||":
			a, whyA := truthOf(v.Left)
			b, _ := truthOf(v.Right)
			switch {
			case a == alwaysTrue || b == alwaysTrue:
				return alwaysTrue, ""
			case a == alwaysFalse && b == alwaysFalse:
				return alwaysFalse, whyA
			}
			return varies, ""
		}
	}
	if readsInput(n) {
		return varies, ""
	}
	prog, err := expr.Compile(n.String(), append(eval.ExprOptions(), expr.AsBool())...)
	if err != nil {
		return varies, ""
	}
	out, err := expr.Run(prog, nil)
	if err != nil {
		return varies, ""
	}
	if out == true {
		return alwaysTrue, ""
	}
	return alwaysFalse, exprText(n) + alwaysFalseNote
}

const alwaysFalseNote = " is always false"

// readsInput reports whether n reads the lead, the account or the clock.
func readsInput(n ast.Node) bool {
	found := false
	walk(n, func(x ast.Node) bool {
		switch v := x.(type) {
		case *ast.IdentifierNode: // fields are flattened to "lead.employees" by expand
			switch {
			case v.Value == eval.NowVar || v.Value == "$env" || v.Value == "lead" || v.Value == "account",
				strings.HasPrefix(v.Value, "lead.") || strings.HasPrefix(v.Value, "account."):
				found = true
			}
		case *ast.BuiltinNode:
			if v.Name == "now" {
				found = true
			}
		}
		return !found
	})
	return found
}

// contradiction returns a sentence naming comparisons among the conjuncts
// that cannot all hold, or "".
func contradiction(conj []ast.Node) string {
	bySubject := map[string][]ast.Node{}
	for _, n := range conj {
		if a, ok := atomOf(n); ok {
			bySubject[a.subject] = append(bySubject[a.subject], n)
		}
	}
	for _, subject := range slices.Sorted(maps.Keys(bySubject)) {
		nodes := bySubject[subject]
		if len(nodes) < 2 || !constraints(nodes)[subject].empty() {
			continue
		}
		texts := make([]string, 0, len(nodes))
		for _, n := range clashingPair(subject, nodes) {
			texts = append(texts, exprText(n))
		}
		if len(texts) == 2 {
			return texts[0] + " and " + texts[1] + " cannot both be true"
		}
		return strings.Join(texts, ", ") + " cannot all be true"
	}
	return ""
}

// clashingPair returns two of the comparisons that contradict each other
// on their own, or all of them when only together they do.
func clashingPair(subject string, nodes []ast.Node) []ast.Node {
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			pair := []ast.Node{nodes[i], nodes[j]}
			if constraints(pair)[subject].empty() {
				return pair
			}
		}
	}
	return nodes
}

// constraint is what a set of comparisons says about one value: a numeric
// interval, or the strings it may (allowed, nil for any) and may not be.
type constraint struct {
	subject    string
	lo, hi     float64
	loIn, hiIn bool
	allowed    map[string]bool
	excluded   map[string]bool
}

func anyValue(subject string) *constraint {
	return &constraint{subject: subject, lo: math.Inf(-1), hi: math.Inf(1), loIn: true, hiIn: true}
}

// constraints merges the comparisons among nodes, by subject.
func constraints(nodes []ast.Node) map[string]*constraint {
	out := map[string]*constraint{}
	for _, n := range nodes {
		a, ok := atomOf(n)
		if !ok {
			continue
		}
		c := out[a.subject]
		if c == nil {
			c = anyValue(a.subject)
			out[a.subject] = c
		}
		c.meet(a)
	}
	return out
}

// meet narrows c to the values a also allows.
func (c *constraint) meet(a *constraint) {
	if a.lo > c.lo || (a.lo == c.lo && !a.loIn) {
		c.lo, c.loIn = a.lo, a.loIn
	}
	if a.hi < c.hi || (a.hi == c.hi && !a.hiIn) {
		c.hi, c.hiIn = a.hi, a.hiIn
	}
	if a.allowed != nil {
		if c.allowed == nil {
			c.allowed = map[string]bool{}
			for s := range a.allowed {
				c.allowed[s] = true
			}
		} else {
			for s := range c.allowed {
				if !a.allowed[s] {
					delete(c.allowed, s)
				}
			}
		}
	}
	for s := range a.excluded {
		if c.excluded == nil {
			c.excluded = map[string]bool{}
		}
		c.excluded[s] = true
	}
}

func (c *constraint) empty() bool {
	if c.lo > c.hi || (c.lo == c.hi && !(c.loIn && c.hiIn)) {
		return true
	}
	if c.allowed == nil {
		return false
	}
	for s := range c.allowed {
		if !c.excluded[s] {
			return false
		}
	}
	return true
}

// within reports whether every value c allows, b allows too.
func (c *constraint) within(b *constraint) bool {
	if c.lo < b.lo || (c.lo == b.lo && c.loIn && !b.loIn) {
		return false
	}
	if c.hi > b.hi || (c.hi == b.hi && c.hiIn && !b.hiIn) {
		return false
	}
	if b.allowed != nil {
		if c.allowed == nil {
			return false
		}
		for s := range c.allowed {
			if !b.allowed[s] && !c.excluded[s] {
				return false
			}
		}
	}
	for s := range b.excluded {
		if !c.excluded[s] && (c.allowed == nil || c.allowed[s]) {
			return false
		}
	}
	return true
}

// atomOf reads a comparison of a value with constants, such as
// lead.employees >= 100, 5 < lead.x, lower(lead.industry) in ["a", "b"] or
// lead.country != "US", as the constraint it puts on that value.
func atomOf(n ast.Node) (*constraint, bool) {
	if u, ok := n.(*ast.UnaryNode); ok && u.Operator == "!" {
		// expr parses x not in y as !(x in y).
		a, ok := atomOf(u.Node)
		if !ok {
			return nil, false
		}
		return a.negate()
	}
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	op, subject, lit := b.Operator, b.Left, b.Right
	if !readsInput(subject) || readsInput(lit) {
		flip := map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
		if flip[op] == "" {
			return nil, false
		}
		op, subject, lit = flip[op], b.Right, b.Left
	}
	if !readsInput(subject) || readsInput(lit) {
		return nil, false
	}
	c := anyValue(exprText(subject))
	if x, ok := number(lit); ok {
		switch op {
		case "<":
			c.hi, c.hiIn = x, false
		case "<=":
			c.hi = x
		case ">":
			c.lo, c.loIn = x, false
		case ">=":
			c.lo = x
		case "==":
			c.lo, c.hi = x, x
		default:
			return nil, false
		}
		return c, true
	}
	var strs []string
	switch v := lit.(type) {
	case *ast.StringNode:
		strs = []string{v.Value}
	case *ast.ArrayNode:
		for _, e := range v.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return nil, false
			}
			strs = append(strs, s.Value)
		}
	default:
		return nil, false
	}
	set := map[string]bool{}
	for _, s := range strs {
		set[s] = true
	}
	_, isArray := lit.(*ast.ArrayNode)
	switch {
	case op == "==" && !isArray, op == "in" && isArray:
		c.allowed = set
	case op == "!=" && !isArray, op == "not in" && isArray:
		c.excluded = set
	default:
		return nil, false
	}
	return c, true
}

// negate returns the constraint of !a, when it is one: a one-sided bound
// flips side, and allowed and excluded strings swap. Under three-valued
// logic !a is true only when the value is known, as a itself requires.
func (a *constraint) negate() (*constraint, bool) {
	c := anyValue(a.subject)
	loSet, hiSet := !math.IsInf(a.lo, -1), !math.IsInf(a.hi, 1)
	switch {
	case loSet && hiSet:
		return nil, false // x == 5 negated is two intervals
	case loSet:
		c.hi, c.hiIn = a.lo, !a.loIn
	case hiSet:
		c.lo, c.loIn = a.hi, !a.hiIn
	}
	switch {
	case a.allowed != nil && a.excluded != nil:
		return nil, false
	case a.allowed != nil:
		c.excluded = a.allowed
	case a.excluded != nil:
		c.allowed = a.excluded
	}
	return c, true
}

// number reads an integer or float literal, with an optional sign.
func number(n ast.Node) (float64, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return float64(v.Value), true
	case *ast.FloatNode:
		return v.Value, true
	case *ast.UnaryNode:
		if x, ok := number(v.Node); ok {
			switch v.Operator {
			case "-":
				return -x, true
			case "+":
				return x, true
			}
		}
	}
	return 0, false
}
