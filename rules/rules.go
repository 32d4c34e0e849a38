package rules

import (
	"errors"
	"io/fs"

	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/eval"
	"github.com/leadq/leadq/rules/rulefile"
)

// Ruleset is a compiled ruleset (see package eval): immutable, safe for
// concurrent use.
type Ruleset = eval.Ruleset

// File is one decoded rule file (see package rulefile).
type File = rulefile.File

// Pos, Error and ErrorList are the one message format of every stage: a
// position (file:line:col), a problem at it, and a list of problems.
type (
	Pos       = rulefile.Pos
	Error     = rulefile.Error
	ErrorList = rulefile.ErrorList
)

// Parse decodes one rule file; see rulefile.Parse.
func Parse(name string, src []byte) (*File, error) { return rulefile.Parse(name, src) }

// Format returns a rule file in leadq's canonical layout; see rulefile.Format.
func Format(name string, src []byte) ([]byte, error) { return rulefile.Format(name, src) }

// Schema returns the JSON Schema of a rule file, for editors; see
// rulefile.Schema.
func Schema() []byte { return rulefile.Schema() }

// Compile merges the files of one ruleset, checks them and compiles every
// expression. On error it returns an ErrorList with every error and warning
// found; otherwise the warnings are in Ruleset.Warnings.
func Compile(files ...*File) (*Ruleset, error) { return compiler.Compiler{}.Compile(files...) }

// CompileAll groups files by their ruleset: name and compiles each group;
// see compiler.Compiler.CompileAll.
func CompileAll(files ...*File) ([]*Ruleset, error) { return compiler.Compiler{}.CompileAll(files...) }

// Load parses and compiles every rule file (*.yaml, *.yml) at the top of
// fsys; see compiler.Compiler.Load.
func Load(fsys fs.FS) ([]*Ruleset, error) { return compiler.Compiler{}.Load(fsys) }

// LoadPaths parses and compiles the given files and directories (the top of
// each directory, as Load). Names in errors are the paths as given.
func LoadPaths(paths ...string) ([]*Ruleset, error) { return compiler.Compiler{}.LoadPaths(paths...) }

// Check parses and compiles the given files and directories and returns
// the rulesets that compiled and every problem found, errors and warnings
// alike, sorted by position. It is what `leadq check` prints.
func Check(paths ...string) ([]*Ruleset, ErrorList) {
	rulesets, err := LoadPaths(paths...)
	var all ErrorList
	if err != nil {
		var list ErrorList
		if errors.As(err, &list) {
			all = append(all, list...)
		} else {
			all = append(all, &Error{Code: "yaml-syntax", Msg: err.Error()})
		}
	}
	for _, rs := range rulesets {
		all = append(all, rs.Warnings...)
	}
	all.Sort()
	return rulesets, all
}
