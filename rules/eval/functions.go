package eval

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
)

// function is one function a condition may call, described once: its
// name, its signatures and implementation on expr's VM, whether it reads
// the evaluation clock, and its native form. leadq's own functions have an
// implementation; expr's builtins that native code covers (lower, upper,
// trim, len) have only a native form, and expr provides the rest.
type function struct {
	name  string
	vm    func(params ...any) (any, error) // nil: one of expr's builtins
	types []any                            // signatures for expr's checker, as new(func(...) ...)
	clock bool                             // takes the clock as a hidden last argument (NowVar)
	// native returns the call as a closure (a func(*Row) T) given its
	// arguments, or nil when it does not cover them; nil: the VM only.
	native func(args []Arg) any
}

// Arg is an argument of a call, as the native compiler hands it over: its
// closure (a func(*Row) T), the field it reads when it is one, and the
// values of a constant list of strings.
type Arg struct {
	Fn      any
	Field   *Field   // the argument is this field; nil otherwise
	Strings []string // the argument is this constant list; nil otherwise
}

// functions is the table. Signatures of leadq's functions are checked by
// expr at compile time, so that wrong argument types fail at load.
var functions = []function{
	{name: "domain", vm: stringFunc(Domain), types: []any{new(func(string) string)},
		native: func(a []Arg) any { return stringNative(a, memoDomain, Domain) }},
	{name: "is_free_email", vm: func(p ...any) (any, error) { return IsFreeEmail(p[0].(string)), nil },
		types: []any{new(func(string) bool)},
		native: func(a []Arg) any {
			dom, ok := stringNative(a, memoDomain, Domain).(func(*Row) string)
			if !ok {
				return nil
			}
			return func(r *Row) bool { return freeMailDomains[dom(r)] }
		}},
	{name: "days_since", vm: clockFunc(daysSince), types: []any{new(func(time.Time, time.Time) int)}, clock: true,
		native: func(a []Arg) any { return clockNative(a, daysSince) }},
	{name: "months_since", vm: clockFunc(monthsSince), types: []any{new(func(time.Time, time.Time) int)}, clock: true,
		native: func(a []Arg) any { return clockNative(a, monthsSince) }},
	{name: "years_since", vm: clockFunc(yearsSince), types: []any{new(func(time.Time, time.Time) int)}, clock: true,
		native: func(a []Arg) any { return clockNative(a, yearsSince) }},
	{name: "contains_any", vm: setTest(false), types: setSignatures,
		native: func(a []Arg) any { return containsNative(a, false) }},
	{name: "contains_all", vm: setTest(true), types: setSignatures,
		native: func(a []Arg) any { return containsNative(a, true) }},
	// expr's builtins.
	{name: "lower", native: func(a []Arg) any { return stringNative(a, memoLower, toLower) }},
	{name: "upper", native: func(a []Arg) any { return stringNative(a, memoUpper, toUpper) }},
	{name: "trim", native: func(a []Arg) any { return stringNative(a, memoTrim, strings.TrimSpace) }},
	{name: "len", native: func(a []Arg) any {
		if len(a) != 1 {
			return nil
		}
		switch s := a[0].Fn.(type) {
		case func(*Row) string: // characters, as expr's len counts them, not bytes
			return func(r *Row) int { return utf8.RuneCountInString(s(r)) }
		case func(*Row) []string:
			return func(r *Row) int { return len(s(r)) }
		}
		return nil
	}},
	// expr's builtins whose results a lead's values size, bounded (built.go).
	bounded("repeat", repeatSize),
	bounded("replace", replaceSize),
	bounded("join", joinSize),
	bounded("string", func(a []any) int { return renderedSize(a[0], 0) }),
	bounded("toJSON", func(a []any) int { return renderedSize(a[0], 0) }),
}

var setSignatures = []any{new(func([]string, []any) bool), new(func([]string, []string) bool),
	new(func([]any, []any) bool), new(func([]any, []string) bool)}

func lookup(name string) *function {
	for i := range functions {
		if functions[i].name == name {
			return &functions[i]
		}
	}
	return nil
}

// ExprOptions registers leadq's functions with expr, for the checker and
// the compiler.
func ExprOptions() []expr.Option {
	var opts []expr.Option
	for _, f := range functions {
		if f.vm != nil {
			opts = append(opts, expr.Function(f.name, f.vm, f.types...))
		}
	}
	// Not a function of the rules' language: the compiler's check of the
	// decision's time budget in every loop (budget.go).
	return append(opts, expr.Function(BudgetFunc, withinBudget, new(func(*Budget, any) any)))
}

// FuncNames lists the functions leadq adds to expr's builtins.
func FuncNames() []string {
	var names []string
	for _, f := range functions {
		if f.vm != nil {
			names = append(names, f.name)
		}
	}
	return names
}

// IsFunc reports whether name is one of leadq's functions.
func IsFunc(name string) bool { f := lookup(name); return f != nil && f.vm != nil }

// IsClockFunc reports whether calls of name take the clock as a hidden
// last argument (see NowVar).
func IsClockFunc(name string) bool { f := lookup(name); return f != nil && f.clock }

// Native returns the native form of a call of function name (leadq's or
// one of expr's builtins) with the given arguments: a closure func(*Row) T,
// or nil when native code does not cover it. What it returns decides every
// row as expr's VM does (see package compiler).
func Native(name string, args []Arg) any {
	if f := lookup(name); f != nil && f.native != nil {
		return f.native(args)
	}
	return nil
}

// Matcher returns the native form of `s matches pattern` for a constant
// pattern: the fastest exact test.
func Matcher(re *regexp.Regexp) func(string) bool {
	if m := newLiteralMatcher(re); m != nil {
		return m.match
	}
	return re.MatchString
}

// stringNative is fn of one string argument. When the argument is a field,
// the result is kept in the row for the other conditions that ask for it:
// rules test domain(lead.email) or lower(lead.industry) several times per
// lead, and each call scans (and may copy) the string again.
func stringNative(args []Arg, kind memoKind, fn func(string) string) any {
	if len(args) != 1 {
		return nil
	}
	s, ok := args[0].Fn.(func(*Row) string)
	if !ok {
		return nil
	}
	if f := args[0].Field; f != nil {
		return memoString(kind, f, fn)
	}
	return func(r *Row) string { return fn(s(r)) }
}

func clockNative(args []Arg, fn func(t, now time.Time) int) any {
	if len(args) != 2 {
		return nil
	}
	t, ok1 := args[0].Fn.(func(*Row) time.Time)
	now, ok2 := args[1].Fn.(func(*Row) time.Time)
	if !ok1 || !ok2 {
		return nil
	}
	return func(r *Row) int { return fn(t(r), now(r)) }
}

// containsNative is contains_any or contains_all of a list and a constant
// list: through a foldSet when the constants allow one.
func containsNative(args []Arg, all bool) any {
	if len(args) != 2 || args[1].Strings == nil {
		return nil
	}
	have, ok := args[0].Fn.(func(*Row) []string)
	if !ok {
		return nil
	}
	want := slices.Clone(args[1].Strings)
	if set := newFoldSet(want); set != nil {
		return func(r *Row) bool { return set.test(have(r), all) }
	}
	return func(r *Row) bool { return containsFold(have(r), want, all) }
}

func stringFunc(fn func(string) string) func(params ...any) (any, error) {
	return func(p ...any) (any, error) { return fn(p[0].(string)), nil }
}
