// Package rules owns the leadq rule file format: it decodes YAML rule files
// keeping every position, checks them against their declared fields, and
// compiles each condition into an expr program.
//
// The format is described in FORMAT.md beside this file. Parse turns bytes into
// a File; Compile merges the files of one ruleset, checks them and returns an
// immutable *Ruleset; Load and LoadPaths do both for a directory. Every problem
// a rule author can make is reported in one pass as an Error with a position
// (file:line:col), a stable code and, for expressions, a caret snippet.
//
// The package knows nothing of HTTP, watched files, clocks or JSON leads:
// evaluating a lead is the engine's job, through Condition.Eval and
// Template.Append. A compiled Ruleset is immutable and safe for concurrent use.
package rules
