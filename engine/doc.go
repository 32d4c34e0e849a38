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
package engine
