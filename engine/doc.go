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
// A Decision is a plain value its caller owns: its maps, slices and
// structs are its own, so changing one changes no other decision, and its
// JSON says what its fields say. What decisions have in common (each
// rule's hit and miss, and their JSON built once) stays inside the
// ruleset's table (table.go): decide copies from it, and the encoder
// (json.go) writes what was built only after checking that the decision
// still says the same.
package engine
