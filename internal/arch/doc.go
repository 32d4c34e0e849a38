// Package arch holds no code: its tests check two promises about the
// module's structure that reviews alone do not keep.
//
//   - Imports point one way. Every package of the module has a layer
//     (layers in arch_test.go): infrastructure at the bottom, then the
//     rule format, its evaluator, its compiler, the engine, what is built on
//     the engine (the decision log, backtest, diff, derive), the server, and
//     the commands on top. A package imports only packages of lower layers,
//     so `rules` knows nothing of the engine and the engine nothing of HTTP.
//     A new package must be given its layer.
//   - No package keeps mutable state at package level. A package-level
//     variable is a value fixed at its declaration (an error, an embedded
//     file, a table, a compiled template): nothing ever assigns to it or
//     to an element of it, and it is no lock, pool, atomic or other state
//     a call would change. State belongs to the value that needs it (an
//     Engine, a Server, a Log), so that two of them in one process, or two
//     tests run in parallel, never share it.
//
// Both read the module's source with go/parser and go/types, without
// building it, and name the file and line of what breaks them.
package arch
