// Package rules is the front door to leadq's rule files: Parse, Format and
// Schema for the file format; Compile, CompileAll, Load and LoadPaths for
// compiled rulesets; Check for what `leadq check` prints. It holds no logic
// of its own beyond Check: each function hands over to one of three stages,
// which import only the stages before them, the way expr is split into
// parser, checker, compiler and vm:
//
//   - rulefile, the format: decoding YAML with every position kept (Parse),
//     the canonical layout (Format), the JSON Schema for editors, and the
//     one message format (Pos, Error, ErrorList: file:line:col) every stage
//     reports through. It knows nothing of expr.
//   - eval, the runtime: what a compiled ruleset is made of (Ruleset,
//     Field, Rule, Condition, Template) and what evaluating it needs (Row,
//     the typed values of one lead; three-valued conditions; leadq's
//     builtins and the matchers behind them). It imports rulefile.
//   - compiler: from decoded files to an eval.Ruleset: merging the files of
//     a ruleset, type-checking each condition against fields: with expr,
//     compiling it to an expr program and, where it can, to native Go
//     closures over a Row, and linting. It imports rulefile and eval, as
//     expr's compiler imports the vm whose programs it emits.
//
// The format is described in FORMAT.md beside this file. Every problem a
// rule author can make is reported in one pass as an Error with a position,
// a stable code and, for expressions, a caret snippet.
//
// Nothing here knows of HTTP, watched files, clocks or JSON leads: the
// engine decodes a lead into an eval.Row, decides it with Condition.Eval
// and renders reasons with Template.Append. A compiled Ruleset is immutable
// and safe for concurrent use; the package has no mutable state.
package rules
