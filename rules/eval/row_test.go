package eval

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/rules/rulefile"
)

// FuzzAppendValue holds the row's allocation-free formatting of a value,
// and FormatValue, to referenceFormat: the table's formatting, written the
// plain way.
func FuzzAppendValue(f *testing.F) {
	f.Add(1e7, int64(-3), "a,b", true, int64(0))
	f.Add(math.Copysign(0, -1), int64(0), "", false, int64(1700000000))
	f.Add(0.1, int64(1)<<62, "x", true, int64(-62135596800))
	f.Add(9007199254740992.0, int64(-1), ",", false, int64(1))
	f.Add(math.Inf(1), int64(7), "é,\xff", true, int64(86399))
	f.Add(2.5, int64(7), "a", true, int64(0))            // midnight: a date
	f.Add(2.5, int64(7), "a", true, int64(253402214400)) // 9999-12-31
	f.Add(2.5, int64(7), "a", true, int64(-62167219200)) // year 0
	f.Add(2.5, int64(7), "a", true, int64(-62198755200)) // year -1
	f.Fuzz(func(t *testing.T, x float64, i int64, list string, yes bool, unix int64) {
		fields := []*Field{
			{Name: "f", Type: rulefile.TypeFloat, Index: 0}, {Name: "i", Type: rulefile.TypeInt, Index: 1},
			{Name: "l", Type: rulefile.TypeList, Index: 2}, {Name: "b", Type: rulefile.TypeBool, Index: 3},
			{Name: "d", Type: rulefile.TypeDate, Index: 4}, {Name: "s", Type: rulefile.TypeString, Index: 5},
			{Name: "missing", Type: rulefile.TypeInt, Index: 6, Slot: 1},
		}
		r := Row{Present: NewFieldSet(len(fields)), floats: []float64{x}, ints: []int{int(i), 0},
			lists: [][]string{strings.Split(list, ",")}, bools: []bool{yes},
			times: []time.Time{time.Unix(unix, 0).UTC()}, strs: []string{list}}
		for _, fd := range fields[:6] {
			r.Present.Add(fd.Index)
		}
		for _, fd := range fields {
			v, _ := r.Value(fd)
			want := referenceFormat(v)
			if got := string(r.appendValue(nil, fd)); got != want {
				t.Fatalf("%s = %#v: appendValue %q, want %q", fd.Name, v, got, want)
			}
			if got := FormatValue(v); got != want {
				t.Fatalf("%s = %#v: FormatValue %q, want %q", fd.Name, v, got, want)
			}
		}
	})
}

// ToLower, ToUpper and Domain answer exactly what strings' own functions do.
func FuzzCaseFolding(f *testing.F) {
	for _, s := range []string{"", "software", "FINTECH", "Logistics", "ana@Corp.Example ", "é@ÉTÉ.fr", "\u212a", "a@\u00a0b.com\u3000", "abcdefghIJKLMNOP", "0123456789@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := toLower(s), strings.ToLower(s); got != want {
			t.Fatalf("toLower(%q) = %q, want %q", s, got, want)
		}
		if got, want := toUpper(s), strings.ToUpper(s); got != want {
			t.Fatalf("toUpper(%q) = %q, want %q", s, got, want)
		}
		want := ""
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			want = strings.ToLower(strings.TrimSpace(s[i+1:]))
		}
		if got := Domain(s); got != want {
			t.Fatalf("Domain(%q) = %q, want %q", s, got, want)
		}
	})
}

// referenceFormat is how reasons show a value, the plain way.
func referenceFormat(v any) string {
	switch v := v.(type) {
	case nil:
		return "unknown"
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case time.Time:
		if v.Hour() == 0 && v.Minute() == 0 && v.Second() == 0 {
			return v.Format("2006-01-02")
		}
		return v.Format(time.RFC3339)
	case []string:
		return strings.Join(v, ", ")
	}
	return "?"
}

// Swap sets a field of every type and Restore puts back exactly what the
// row had, present or not, in reverse order; Undo keeps the old value
// unboxed, so neither allocates (the counterfactual swaps for every option
// it tries).
func TestSwapRestoreEveryType(t *testing.T) {
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	types := []struct {
		typ      rulefile.Type
		old, new any
	}{
		{rulefile.TypeString, "old", "new"},
		{rulefile.TypeInt, 3, 1000},
		{rulefile.TypeFloat, 2.5, 1e6},
		{rulefile.TypeBool, false, true},
		{rulefile.TypeDate, at, at.AddDate(0, 1, 0)},
		{rulefile.TypeList, []string{"a"}, []string{"a", "b"}},
	}
	if len(types) != int(rulefile.NumTypes)-1 {
		t.Fatalf("the test covers %d field types; rulefile has %d", len(types), rulefile.NumTypes-1)
	}
	for _, had := range []bool{true, false} {
		var fields []*Field
		for i, tc := range types {
			fields = append(fields, &Field{Name: tc.typ.String(), Type: tc.typ, Index: i})
		}
		var r Row
		r.Present = NewFieldSet(len(fields))
		r.strs, r.ints, r.floats, r.bools = make([]string, 1), make([]int, 1), make([]float64, 1), make([]bool, 1)
		r.times, r.lists = make([]time.Time, 1), make([][]string, 1)
		for i, tc := range types {
			if had && !r.Set(fields[i], tc.old) {
				t.Fatalf("Set %s %v refused", tc.typ, tc.old)
			}
		}
		undo := make([]Undo, len(fields))
		for i, tc := range types {
			u, ok := r.Swap(fields[i], tc.new)
			if !ok {
				t.Fatalf("Swap %s %v refused", tc.typ, tc.new)
			}
			undo[i] = u
			if v, ok := r.Value(fields[i]); !ok || FormatValue(v) != FormatValue(tc.new) {
				t.Errorf("after Swap, %s = %v (%v), want %v", tc.typ, v, ok, tc.new)
			}
			if u.Had() != had {
				t.Errorf("%s: Undo.Had = %v, want %v", tc.typ, u.Had(), had)
			}
			want := any(nil)
			if had {
				want = tc.old
			}
			if FormatValue(u.Value()) != FormatValue(want) {
				t.Errorf("%s: Undo.Value = %v, want %v", tc.typ, u.Value(), want)
			}
		}
		for i := len(undo) - 1; i >= 0; i-- {
			r.Restore(undo[i])
		}
		for i, tc := range types {
			v, ok := r.Value(fields[i])
			if ok != had || (had && FormatValue(v) != FormatValue(tc.old)) {
				t.Errorf("after Restore, %s = %v (present %v), want %v (present %v)", tc.typ, v, ok, tc.old, had)
			}
		}
		if _, ok := r.Swap(fields[1], "not an int"); ok {
			t.Error("Swap of a string into an int field: ok, want refused")
		}
	}
	var r Row
	f := &Field{Name: "s", Type: rulefile.TypeString}
	r.Present, r.strs = NewFieldSet(1), []string{"x"}
	v := any("y")
	if n := testing.AllocsPerRun(100, func() {
		u, _ := r.Swap(f, v)
		r.Restore(u)
	}); n != 0 {
		t.Errorf("Swap and Restore: %v allocations, want 0", n)
	}
}
