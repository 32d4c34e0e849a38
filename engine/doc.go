// Package engine holds the live rulesets and turns leads into decisions.
//
// Where a lead goes, file by file:
//
//   - Loaded: an Engine (engine.go) loads rulesets through a Loader (Paths,
//     FS, Static), prepares each as a Ruleset (ruleset.go: the compiled
//     rules.Ruleset plus the table of what every decision copies and the
//     encoder reuses, table.go), and swaps the whole set in atomically;
//     the last good set stays live when a reload fails. Paths and FS
//     compile again only the rulesets whose files changed (load.go);
//     watch.go reloads once changed files have settled (internal/watch).
//   - Decoded: Ruleset.ScoreJSON reads a JSON request straight into a typed
//     row (decode.go), only the declared fields (the others are skipped
//     and validated by internal/jsonscan, leadq's one JSON scanner, which
//     CheckDepth uses too), and falls back to
//     ParseInput and maps (input.go) for what its fast decoder leaves; a
//     lead given as maps (Ruleset.Score, Engine.Score) is normalised
//     against the declared types in eval.go (normalise). Either way the
//     account its email resolves to is joined when Options.Accounts says
//     so (Input.JoinAccount).
//   - Decided: eval.go (decide) runs knockouts and score rules, caps
//     groups, picks the tier, decides qualification, renders the reasons
//     and lists the missed rules and missing fields.
//   - Counterfactual: a lead that did not qualify is told what it would
//     take (counterfactual.go): a smallest set of changes of its data,
//     each a field set to one of its options (whatif.go: per ruleset, one
//     value per outcome of the rules reading the field, from the samples
//     the compiler derives from their constants), found by branch and
//     bound over the caps and decided with the real rules in the lead's
//     row (Row.Swap, Restore) or leaf by leaf (Condition.Decide).
//   - Encoded: Ruleset.AppendJSON (json.go) writes the decision's wire
//     format from the table's prebuilt JSON where the decision still says
//     what the table does; Decision.AppendJSON and MarshalJSON write the
//     same bytes without a table.
//
// One options type, Options (detail, strict, clock, accounts, depth
// limit), covers every way to decide; an Engine holds the defaults
// (WithStrict, WithClock, WithAccounts) and Engine.Options hands them to
// calls on a Ruleset.
//
// A Decision is a plain value its caller owns: its maps, slices and
// structs are its own, so changing one changes no other decision, and its
// JSON says what its fields say. What decisions have in common (each
// rule's hit and miss, and their JSON built once) stays inside the
// Ruleset's table: decide copies from it, and the encoder writes what was
// built only after checking that the decision still says the same.
// Ruleset.ScoreJSONInto and ScoreInto (for maps) make a decision in
// memory the caller already has: they overwrite a Decision the caller is
// done with, reusing the arrays of its slices, for a caller that decides
// leads one after another (the server's streams and batches, a backtest),
// where allocating each decision's arrays cost more than deciding. Reuse
// is the caller's choice, as with append(buf[:0], ...); the decision is
// still the caller's alone, and ScoreJSON and Score are the same calls
// into a new one.
//
// Concurrency: Engine.Score, Engine.Ruleset and a Ruleset's methods take
// no locks; Reload builds a new immutable snapshot and swaps it
// atomically, so a decision is always computed against exactly one
// ruleset version. Reload calls are serialised. The package has no
// package-level mutable state: clocks, strictness and account lookups
// come in through Options, and scratch space is pooled per Ruleset. The
// engine knows nothing of HTTP.
package engine
