// Package compiler turns decoded rule files (package rulefile) into a
// compiled eval.Ruleset, the third stage of package rules. It merges the
// files of each ruleset, reports duplicate and unknown names with a
// did-you-mean, type-checks every condition against the declared fields
// with expr's checker, compiles it to an expr program and, for what it
// covers, to native Go closures over an eval.Row, splits it into its
// and/or/not structure for leads with missing fields, and lints the result
// (unused names, constant conditions, unreachable tiers, ...). Each
// condition also gets its samples (samples.go, eval.Sample): the values of
// a field its constants tell apart, which the engine tries when it says
// what would qualify a lead.
//
// expr defines what a condition means; the native closures are an
// optimisation held to it. Compiler.VMOnly compiles for expr's VM alone,
// the reference: TestConditionsAgree and FuzzConditionsAgree generate whole
// conditions from the grammar (and/or/not, in and not in, every builtin,
// every field type, missing fields, nil tests, non-ASCII strings) and
// require both compilations to decide every row alike. Where they differ,
// the native side is wrong. A Compiler is a plain value, safe for
// concurrent use if its Cache is; the package has no mutable state.
package compiler
