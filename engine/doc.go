// Package engine holds the live rulesets and turns leads into decisions.
//
// An Engine loads rulesets through a Loader (a directory, a list of paths,
// or rulesets compiled elsewhere), keeps the last good set live when a
// reload fails, and scores leads against them: normalise the input against
// the ruleset's declared fields, run knockouts and score rules, cap groups,
// pick the tier, decide qualification and render the reasons.
//
// Concurrency: Score and everything that reads the live rulesets take no
// locks; Reload builds a new immutable snapshot and swaps it atomically, so
// a decision is always computed against exactly one ruleset version. Reload
// calls are serialised. The engine knows nothing of HTTP; watching files is
// in watch.go and is started by the caller.
//
// A Decision is the caller's, but what it says of a rule (a Hit's
// FiredRule, a Miss's MissedRule), its Groups map and its MissingFields
// slice are shared with the other decisions of the same ruleset version
// that say the same (shared.go): most of a decision is the same from lead
// to lead, and copying it was most of a decision's bytes and allocations.
// Read them; do not change them in place (copy first: maps.Clone,
// slices.Clone).
package engine
