// Package derive proposes a ruleset from a list of best customers.
//
// Derive reads rows (CSV or JSONL, through backtest's readers and joins),
// labels the best ones (an expression over the columns, an outcome value,
// or the top N by a column), holds a seeded, stratified share of the rows
// out, and compares the best rows of the rest with all of them, column by
// column: values one by one with counts and lift, numbers in quantile
// bands. From that evidence it writes a complete rule file: fields with
// inferred types, lists, score rules whose points are their weight of
// evidence, knockouts for common values the best (almost) never have, tiers
// cut from the score distribution of the training rows, and tests taken
// from them. Every rule carries a comment with its evidence, and the file
// always compiles (Derive checks with rules.Compile and engine.RunTests).
//
// derive decides what to propose; reading files, writing them and flags
// are the caller's (cmd/leadq derive). Derive holds the rows in memory and
// is safe to call from several goroutines on different sources.
package derive
