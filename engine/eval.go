package engine

import (
	"slices"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/leadq/leadq/rules"
)

// EvalOptions are the settings Evaluate needs beyond the ruleset and lead.
type EvalOptions struct {
	Strict bool             // refuse wrong-typed fields instead of warning
	Now    func() time.Time // the clock when the input has no Now; nil means time.Now
}

// vms reuses expr virtual machines across decisions; a VM is not safe for
// concurrent use but is reusable, and its stack is worth keeping.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Evaluate decides one lead against one compiled ruleset: normalise the
// input against the declared fields, run knockouts and score rules, cap
// groups, pick the tier and decide qualification. It is what Engine.Score
// runs; tests and backtests call it directly with a fixed ruleset.
func Evaluate(rs *rules.Ruleset, in Input, opts EvalOptions) (Decision, error) {
	l := records.Get().(*record)
	defer l.release()
	if err := l.normalise(rs, in, opts.Strict || in.Strict); err != nil {
		return Decision{}, err
	}
	now := in.Now
	if now.IsZero() {
		if opts.Now != nil {
			now = opts.Now()
		} else {
			now = time.Now()
		}
	}
	env := l.env
	env["__now__"] = now

	d := Decision{
		LeadID:        in.ID,
		Ruleset:       RulesetRef{Name: rs.Name, Version: rs.Version},
		Groups:        map[string]int{},
		Knockouts:     []Hit{},
		Matched:       make([]Hit, 0, len(rs.Rules)/2),
		Missed:        make([]Miss, 0, len(rs.Rules)/2),
		MissingFields: []string{},
		Errors:        []RuleError{},
		Warnings:      l.warnings,
	}
	l.warnings = nil // the decision owns them now
	m := vms.Get().(*vm.VM)
	defer vms.Put(m)

	var missing rules.FieldSet // fields whose absence left some rule undecided
	noteMissing := func(c *rules.Condition) []string {
		var names []string
		for _, f := range c.Missing(l.present) {
			if missing == nil {
				missing = rules.NewFieldSet(len(rs.Fields))
			}
			missing.Add(f.Index)
			names = append(names, f.Name)
		}
		return names
	}
	value := l.value

	for _, r := range rs.Knockouts {
		t, err := r.When.Eval(m, env, l.present)
		switch {
		case err != nil:
			d.Errors = append(d.Errors, RuleError{Rule: r.ID, Message: err.Error()})
		case t == rules.True:
			d.Knockouts = append(d.Knockouts, Hit{Rule: r.ID, Reason: reason(r, value)})
		case t == rules.Unknown:
			noteMissing(r.When)
		}
	}

	raw := map[string]int{} // group totals before caps
	ungrouped := 0
	for _, r := range rs.Rules {
		if r.Group != "" {
			if _, ok := raw[r.Group]; !ok {
				raw[r.Group] = 0
			}
		}
		t, err := r.When.Eval(m, env, l.present)
		if err != nil {
			d.Errors = append(d.Errors, RuleError{Rule: r.ID, Message: err.Error()})
			t = rules.False
		}
		if t == rules.True {
			d.Matched = append(d.Matched, Hit{Rule: r.ID, Group: r.Group, Points: r.Points, Reason: reason(r, value)})
			if r.Group == "" {
				ungrouped += r.Points
			} else {
				raw[r.Group] += r.Points
			}
			continue
		}
		var names []string
		if t == rules.Unknown {
			names = noteMissing(r.When)
		}
		if r.Points > 0 {
			d.Missed = append(d.Missed, Miss{Rule: r.ID, Group: r.Group, Points: r.Points,
				Description: r.Description, When: r.When.Src, MissingFields: names})
		}
	}
	d.Score = ungrouped
	for g, total := range raw {
		if caps, ok := rs.Groups[g]; ok {
			if caps.Max != nil && total > *caps.Max {
				total = *caps.Max
			}
			if caps.Min != nil && total < *caps.Min {
				total = *caps.Min
			}
		}
		d.Groups[g] = total
		d.Score += total
	}
	slices.SortStableFunc(d.Missed, func(a, b Miss) int { return b.Points - a.Points })
	d.Tier = rs.TierFor(d.Score)

	switch {
	case len(d.Knockouts) > 0:
		d.Qualified = false
	case rs.Qualify == nil:
		d.Qualified = len(rs.Tiers) > 0 && d.Tier == rs.Tiers[0].Name
	default:
		env["tier"], env["score"], env["groups"], env["knocked_out"] = d.Tier, d.Score, d.Groups, false
		t, err := rs.Qualify.Eval(m, env, l.present)
		switch {
		case err != nil:
			d.Errors = append(d.Errors, RuleError{Rule: "qualify", Message: err.Error()})
		case t == rules.Unknown:
			noteMissing(rs.Qualify)
		}
		d.Qualified = t == rules.True
	}
	if missing != nil {
		for _, f := range rs.Fields {
			if missing.Has(f.Index) {
				d.MissingFields = append(d.MissingFields, f.Name)
			}
		}
	}
	return d, nil
}

// reason renders a fired rule's reason: its template with the lead's values,
// else its description, else its condition.
func reason(r *rules.Rule, value func(*rules.Field) (any, bool)) string {
	switch {
	case r.Reason != nil:
		return r.Reason.Render(value)
	case r.Description != "":
		return r.Description
	}
	return r.When.Src
}

// record is one input normalised against a ruleset's fields: the flat
// env the compiled programs read ("lead.employees" -> 400), the values by
// field index for reasons, and which fields are present. Records are pooled:
// a decision copies out everything it keeps.
type record struct {
	env      map[string]any
	values   []any
	present  rules.FieldSet
	warnings []Warning
}

var records = sync.Pool{New: func() any { return &record{env: make(map[string]any, 64)} }}

func (l *record) release() {
	clear(l.env)
	clear(l.values)
	l.warnings = nil
	records.Put(l)
}

func (l *record) value(f *rules.Field) (any, bool) {
	if !l.present.Has(f.Index) {
		return nil, false
	}
	return l.values[f.Index], true
}

// normalise keeps the declared fields of the input, converted to their
// declared types. A value of the wrong type is a warning and is left out
// (an InputErrors in strict mode). Undeclared input fields are ignored.
func (l *record) normalise(rs *rules.Ruleset, in Input, strict bool) error {
	n := len(rs.Fields)
	if cap(l.values) < n {
		l.values = make([]any, n)
	}
	l.values = l.values[:n]
	if words := (n + 63) / 64; cap(l.present) < words {
		l.present = rules.NewFieldSet(n)
	} else {
		l.present = l.present[:words]
		l.present.Clear()
	}
	l.warnings = []Warning{}
	var errs InputErrors
	for _, f := range rs.Fields {
		src := in.Lead
		if f.Namespace == "account" {
			src = in.Account
		}
		raw, ok := src[f.Key]
		if !ok || isBlank(raw, f.Type) {
			continue
		}
		v, ok, msg := convert(raw, f.Type, strict)
		if !ok {
			if strict {
				errs = append(errs, &InputError{Field: f.Name, Message: msg})
			} else {
				l.warnings = append(l.warnings, Warning{Field: f.Name, Message: msg + "; treated as missing"})
			}
			continue
		}
		l.values[f.Index] = v
		l.env[f.Name] = v
		l.present.Add(f.Index)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
