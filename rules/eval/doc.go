// Package eval is the runtime of compiled rules, the second stage of
// package rules: what a compiled Ruleset is made of (Field, Rule, Group,
// Tier, Condition, Template) and what deciding a lead needs.
//
// A Row holds one lead's values, typed, one slice per field type, so that
// setting and reading them boxes nothing; the engine decodes JSON into it.
// A Condition decides a Row under three-valued logic: True, False, or
// Unknown when it needs a field the lead lacks (so that lead.country != "US"
// is not true for a lead without a country). It runs as native Go closures
// where the compiler could build them, and otherwise as an expr program on
// expr's VM. leadq's builtins (domain, is_free_email, days_since, ...)
// and the matchers behind matches and contains_any/all live here too.
//
// Package compiler builds these values; eval imports only rulefile, for
// positions and field types. A Ruleset and its conditions and templates are
// immutable once built and safe for concurrent use; a Row belongs to one
// goroutine at a time and is reused across leads (Reset, Set, Eval).
package eval
