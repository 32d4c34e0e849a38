// Package diff compares two versions of a ruleset on the same leads: it
// scores every lead with both, and reports how many change qualification and
// tier, the tier transition matrix, the leads whose score moves most and the
// rules responsible (those that start or stop firing, or whose points
// changed). It is what `leadq diff` prints.
//
// It reads leads from CSV (with a header) and JSON Lines, and rulesets from
// files, directories or git revisions (REV:PATH, read with git). Scoring is
// engine.Ruleset.Score with one fixed clock for both sides, so that the only
// difference is the rules. It leaves printing to cmd/leadq. Everything here
// is synchronous; a Report is plain data, safe to share once returned.
package diff
