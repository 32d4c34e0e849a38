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
// Two tables describe what the runtime knows, once each. fieldTypes
// (types.go) has a row per field type: the Row column that stores it, its
// conversion from decoded JSON and Go values (Convert), how reasons format
// it (Template.Append, FormatValue), the type expr's checker sees
// (ExprType) and its native read (Read). Adding a type is a rulefile.Type
// with its name, a Row column and a row there. functions (functions.go)
// has a row per function a condition may call natively: name, signatures
// and implementation on expr's VM (for leadq's own), whether it reads the
// clock, and its native form (Native). Adding a function is a row there.
//
// Package compiler builds these values; eval imports only rulefile, for
// positions and field types. A Ruleset and its conditions and templates are
// immutable once built and safe for concurrent use; a Row belongs to one
// goroutine at a time and is reused across leads (Reset, Set, Eval).
package eval
