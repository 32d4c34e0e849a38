package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	exprtypes "github.com/expr-lang/expr/types"
	"github.com/leadq/leadq/rules/rulefile"
)

// fieldType is everything leadq does with the values of one field type,
// described once: where a Row stores them, how they are converted from
// decoded JSON and Go values, how reasons show them, what type expr's
// checker sees, and how native code reads them. Adding a type is a
// rulefile.Type with its name, a column in Row, and a row of fieldTypes.
type fieldType struct {
	expr    exprtypes.Type
	goType  reflect.Type
	size    func(r *Row, n int)                      // size the row's column for n fields, zeroed
	get     func(r *Row, slot int) any               // the value, boxed
	set     func(r *Row, slot int, v any) bool       // store a value of the Go type; false for another type
	format  func(b []byte, r *Row, slot int) []byte  // append the value as reasons show it
	convert func(raw any, strict bool) (any, string) // from decoded JSON (or Go) to the Go type; "" or what is wrong
	native  func(slot int) any                       // a func(*Row) T reading the value
	formats func(v any) (s string, ok bool)          // format a boxed value of the Go type
	save    func(r *Row, slot int, u Undo) Undo      // u keeping the value at slot (see Row.Swap)
	restore func(r *Row, slot int, u Undo)           // put the value u keeps back at slot
	saved   func(u Undo) any                         // the value u keeps, boxed
}

// column builds a fieldType from the column of the Row that holds values of
// type T, a direct read of it for native code (what every native condition
// calls: col would cost it one more indirect call), how a T is formatted
// and how one is converted.
func column[T any](col func(r *Row) *[]T, read func(slot int) func(*Row) T, format func(b []byte, x T) []byte, convert func(raw any, strict bool) (T, string)) fieldType {
	return fieldType{
		expr:   exprtypes.TypeOf(*new(T)),
		goType: reflect.TypeFor[T](),
		size:   func(r *Row, n int) { *col(r) = resize(*col(r), n) },
		get:    func(r *Row, slot int) any { return (*col(r))[slot] },
		set: func(r *Row, slot int, v any) bool {
			x, ok := v.(T)
			if ok {
				(*col(r))[slot] = x
			}
			return ok
		},
		format: func(b []byte, r *Row, slot int) []byte { return format(b, (*col(r))[slot]) },
		convert: func(raw any, strict bool) (any, string) {
			x, msg := convert(raw, strict)
			if msg != "" {
				return nil, msg
			}
			return x, ""
		},
		native: func(slot int) any { return read(slot) },
		formats: func(v any) (string, bool) {
			x, ok := v.(T)
			if !ok {
				return "", false
			}
			return string(format(nil, x)), true
		},
		save: func(r *Row, slot int, u Undo) Undo {
			*undoCell[T](&u) = (*col(r))[slot]
			return u
		},
		restore: func(r *Row, slot int, u Undo) { (*col(r))[slot] = *undoCell[T](&u) },
		saved:   func(u Undo) any { return *undoCell[T](&u) },
	}
}

// undoCell is the field of u that keeps a value of type T. Undo has one
// field for each column type of Row, so that a swap stores the old value
// unboxed: Swap and Restore run for every option the counterfactual tries,
// and boxing a value would cost an allocation each.
func undoCell[T any](u *Undo) *T {
	var cell any
	switch any(*new(T)).(type) {
	case string:
		cell = &u.s
	case int:
		cell = &u.i
	case float64:
		cell = &u.x
	case bool:
		cell = &u.b
	case time.Time:
		cell = &u.t
	case []string:
		cell = &u.l
	}
	return cell.(*T)
}

// fieldTypes is the table, by rulefile.Type.
var fieldTypes = [rulefile.NumTypes]fieldType{
	rulefile.TypeString: column(func(r *Row) *[]string { return &r.strs },
		func(s int) func(*Row) string { return func(r *Row) string { return r.strs[s] } }, appendString, convertString),
	rulefile.TypeInt: column(func(r *Row) *[]int { return &r.ints },
		func(s int) func(*Row) int { return func(r *Row) int { return r.ints[s] } }, appendInt, convertInt),
	rulefile.TypeFloat: column(func(r *Row) *[]float64 { return &r.floats },
		func(s int) func(*Row) float64 { return func(r *Row) float64 { return r.floats[s] } }, appendFloat, convertFloat),
	rulefile.TypeBool: column(func(r *Row) *[]bool { return &r.bools },
		func(s int) func(*Row) bool { return func(r *Row) bool { return r.bools[s] } }, appendBool, convertBool),
	rulefile.TypeDate: column(func(r *Row) *[]time.Time { return &r.times },
		func(s int) func(*Row) time.Time { return func(r *Row) time.Time { return r.times[s] } }, appendDate, convertDate),
	rulefile.TypeList: column(func(r *Row) *[][]string { return &r.lists },
		func(s int) func(*Row) []string { return func(r *Row) []string { return r.lists[s] } }, appendList, convertList),
}

// typeOf returns the row of t; nil for a type that is not declared (a field
// whose declaration was wrong, in a ruleset that did not compile).
func typeOf(t rulefile.Type) *fieldType {
	if t <= 0 || int(t) >= len(fieldTypes) || fieldTypes[t].get == nil {
		return nil
	}
	return &fieldTypes[t]
}

// ExprType is the type expr's checker sees for a field of type t; nil for
// an invalid type.
func ExprType(t rulefile.Type) exprtypes.Type {
	if ft := typeOf(t); ft != nil {
		return ft.expr
	}
	return nil
}

// GoType is the Go type of a field of type t in a Row, in Set and Value.
func GoType(t rulefile.Type) reflect.Type {
	if ft := typeOf(t); ft != nil {
		return ft.goType
	}
	return nil
}

// Read returns a closure reading field f from a row: a func(*Row) T of the
// field's Go type (GoType), for native code. It does not check that the
// field is present.
func Read(f *Field) any {
	if ft := typeOf(f.Type); ft != nil {
		return ft.native(f.Slot)
	}
	return nil
}

// Convert turns a decoded JSON value (json.Number, float64, string, bool,
// []any, ...; or a value of the field's Go type) into the Go type of a field
// of type t. Unless strict, strings holding numbers, booleans, dates and
// comma- or semicolon-separated lists are accepted. On failure v is nil and
// msg says what was expected and found.
func Convert(raw any, t rulefile.Type, strict bool) (v any, msg string) {
	ft := typeOf(t)
	if ft == nil {
		return nil, "field has no valid type in the ruleset"
	}
	return ft.convert(raw, strict)
}

// FormatValue writes a field value the way a person reads it: whole floats
// without decimals, dates as 2006-01-02, lists comma-separated, booleans as
// yes or no; nil is "unknown".
func FormatValue(v any) string {
	if v == nil {
		return "unknown"
	}
	for i := range fieldTypes {
		if ft := &fieldTypes[i]; ft.formats != nil {
			if s, ok := ft.formats(v); ok {
				return s
			}
		}
	}
	return "?"
}

func appendString(b []byte, s string) []byte { return append(b, s...) }

func appendInt(b []byte, x int) []byte { return strconv.AppendInt(b, int64(x), 10) }

func appendFloat(b []byte, x float64) []byte {
	// Whole amounts, the usual case, print as the integers they are.
	if x == math.Trunc(x) && x != 0 && math.Abs(x) < 1<<53 {
		return strconv.AppendInt(b, int64(x), 10)
	}
	return strconv.AppendFloat(b, x, 'f', -1, 64)
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, "yes"...)
	}
	return append(b, "no"...)
}

func appendDate(b []byte, t time.Time) []byte {
	if h, m, sec := t.Clock(); h == 0 && m == 0 && sec == 0 {
		if y, mo, d := t.Date(); 0 <= y && y <= 9999 {
			return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
				byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10))
		}
		return t.AppendFormat(b, "2006-01-02")
	}
	return t.AppendFormat(b, time.RFC3339)
}

func appendList(b []byte, l []string) []byte {
	for i, s := range l {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, s...)
	}
	return b
}

func convertString(raw any, _ bool) (string, string) {
	if s, ok := raw.(string); ok {
		return s, ""
	}
	return "", "expected a string, got " + describe(raw)
}

func convertInt(raw any, strict bool) (int, string) {
	switch x := raw.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i), ""
		}
		if f, err := x.Float64(); err == nil && whole(f, string(x)) {
			return int(f), ""
		}
	case string:
		if s := strings.TrimSpace(x); !strict && decimal(s) {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return int(i), ""
			}
			if f, err := strconv.ParseFloat(s, 64); err == nil && whole(f, s) {
				return int(f), ""
			}
		}
	default:
		if f, isNum := number(raw); isNum && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int(f), ""
		}
	}
	return 0, "expected a whole number, got " + describe(raw)
}

// whole reports whether f, read from the decimal text s, is a whole number
// an int field holds exactly: not one a float64 rounds to zero (1e-400).
func whole(f float64, s string) bool {
	if f == 0 {
		mantissa, _, _ := strings.Cut(strings.ToLower(s), "e")
		return strings.Trim(mantissa, "+-0.") == ""
	}
	return f == math.Trunc(f) && math.Abs(f) < 1<<53
}

// decimal reports whether s is a number as people write it: an optional
// sign, digits with an optional fraction, and an optional exponent
// ("1200", "+7", "-3.5", ".5", "1e3"). strconv's parsers also take Go's
// syntax, which no CRM means: "0x1p4" (16), "1_000", "Inf", "NaN".
func decimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i == exp {
			return false
		}
	}
	return i == len(s)
}

func convertFloat(raw any, strict bool) (float64, string) {
	switch x := raw.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f, ""
		}
	case string:
		if s := strings.TrimSpace(x); !strict && decimal(s) {
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
				return f, ""
			}
		}
	default:
		if f, isNum := number(raw); isNum {
			return f, ""
		}
	}
	return 0, "expected a number, got " + describe(raw)
}

func convertBool(raw any, strict bool) (bool, string) {
	switch x := raw.(type) {
	case bool:
		return x, ""
	case string:
		if !strict {
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "yes", "y", "1":
				return true, ""
			case "false", "no", "n", "0":
				return false, ""
			}
		}
	}
	return false, "expected true or false, got " + describe(raw)
}

func convertDate(raw any, _ bool) (time.Time, string) {
	switch x := raw.(type) {
	case time.Time:
		return x, ""
	case string:
		if d, err := rulefile.ParseDate(strings.TrimSpace(x)); err == nil {
			return d, ""
		}
	}
	return time.Time{}, "expected a date like 2026-11-01, got " + describe(raw)
}

func convertList(raw any, strict bool) ([]string, string) {
	switch x := raw.(type) {
	case []string:
		return x, ""
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				return nil, "expected a list of strings, got an element " + describe(e)
			}
			out = append(out, s)
		}
		return out, ""
	case string:
		if !strict {
			parts := strings.FieldsFunc(x, func(r rune) bool { return r == ';' || r == ',' })
			out := make([]string, 0, len(parts))
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out, ""
		}
	}
	return nil, "expected a list of strings, got " + describe(raw)
}

// number reports a decoded JSON number of any Go numeric type as a float.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint:
		return float64(x), true
	}
	return 0, false
}

// describe names a value for messages, with a short excerpt of a string.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case json.Number:
		return "number " + string(x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if f, ok := number(v); ok {
		return "number " + strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}
