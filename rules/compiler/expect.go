package compiler

import (
	"maps"
	"slices"

	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// checkExpectNames reports the field and group names a test's expect: names
// (missing_fields, warnings, groups) that the ruleset does not have, so that
// a typo fails at check time instead of as a puzzling test failure.
func (c *builder) checkExpectNames(rs *eval.Ruleset, tc *rulefile.TestDecl, subject string) {
	e := tc.Expect
	for _, key := range []string{"missing_fields", "warnings"} {
		names := e.MissingFields
		if key == "warnings" {
			names = e.Warnings
		}
		for _, name := range names {
			if c.fields[name] == nil {
				c.errorf(e.RefPos[key+":"+name], "bad-test", "%s: expect: %s: %s is not a declared field (write it in full, like lead.employees)%s",
					subject, key, name, rulefile.DidYouMean(name, c.fieldNames))
			}
		}
	}
	groups := map[string]bool{}
	for name := range rs.Groups {
		groups[name] = true
	}
	for _, r := range rs.Rules {
		if r.Group != "" {
			groups[r.Group] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(e.Groups)) {
		if !groups[name] {
			c.errorf(e.RefPos["groups:"+name], "bad-test", "%s: expect: groups: no score rule is in group %q%s",
				subject, name, rulefile.DidYouMean(name, slices.Sorted(maps.Keys(groups))))
		}
	}
}
