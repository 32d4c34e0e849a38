package engine

import (
	"slices"
	"testing"
	"time"
)

// WhatIfValues returns, for each field the counterfactual may change, the
// values it tries for lead in (dates before now; lists the lead's items
// and the option's), as the lead's JSON would carry them: for tests that
// check its choice from outside.
func (rs *Ruleset) WhatIfValues(in Input, now time.Time) map[string][]any {
	out := map[string][]any{}
	for _, wf := range rs.ruleTable().whatIf().fields {
		f := wf.field
		for _, o := range wf.options {
			var v any
			switch {
			case o.items != nil:
				src := in.Lead
				if f.Namespace == "account" {
					src = in.Account
				}
				var list []string
				if have, ok := src[f.Key].([]any); ok {
					for _, x := range have {
						if s, ok := x.(string); ok {
							list = append(list, s)
						}
					}
				}
				for _, it := range o.items {
					if !slices.Contains(list, it) {
						list = append(list, it)
					}
				}
				v = list
			case o.value == nil:
				v = o.ago.Before(now).Format(time.DateOnly)
			default:
				v = o.value
			}
			out[f.Name] = append(out[f.Name], v)
		}
	}
	return out
}

// PlainJSON is what d's fields say, as encoding/json's reflection writes
// them with the engine's escaping (no HTML escapes): reference, for the
// external tests.
func PlainJSON(t testing.TB, d Decision) []byte { return reference(t, d, false) }
