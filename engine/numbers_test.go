package engine

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// FuzzSmallNumbers holds the decoder's short paths for numbers to strconv:
// whatever they take, they read as ParseInt and ParseFloat do.
func FuzzSmallNumbers(f *testing.F) {
	for _, s := range []string{"0", "-0", "7", "007", "-12", "123456789012345678", "9007199254740993",
		"-9007199254740992", "1e3", "1.5", "+5", "-", "", "1234567890123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if i, ok := smallInt(s); ok {
			if want, err := strconv.ParseInt(s, 10, 64); err != nil || int64(i) != want {
				t.Fatalf("smallInt(%q) = %d; ParseInt gives %d, %v", s, i, want, err)
			}
		}
		if x, ok := smallFloat(s); ok {
			if want, err := strconv.ParseFloat(s, 64); err != nil || math.Float64bits(x) != math.Float64bits(want) {
				t.Fatalf("smallFloat(%q) = %v; ParseFloat gives %v, %v", s, x, want, err)
			}
		}
	})
}

// setField's short paths store what convert and Row.Set would, for every
// type a caller's map may hold.
func TestSetFieldMatchesConvert(t *testing.T) {
	rs, err := rules.LoadPaths("testdata/semantics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raws := []any{0, 7, -3, 1 << 53, -(1 << 53), 1<<53 - 1, int64(5), 2.5, 12.0, math.NaN(), math.Inf(1), float32(1.5),
		"12", " 12 ", "x", true, false, "yes", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), "2026-01-02",
		[]string{"a", "b"}, []any{"a", 1}, []any{"a"}, json.Number("12"), json.Number("-0"), json.Number("1e3"), nil}
	for _, f := range rs[0].Fields {
		for _, raw := range raws {
			for _, strict := range []bool{false, true} {
				var fast, ref eval.Row
				fast.Reset(rs[0])
				ref.Reset(rs[0])
				_, okFast := setField(&fast, f, raw, strict)
				v, okRef, _ := convert(raw, f.Type, strict)
				if okRef {
					ref.Set(f, v)
				}
				got, _ := fast.Value(f)
				want, _ := ref.Value(f)
				if okFast != okRef || !reflect.DeepEqual(got, want) && !(got != got && want != want) {
					t.Errorf("%s = %#v (strict %v): setField %#v, %v; convert %#v, %v", f.Name, raw, strict, got, okFast, want, okRef)
				}
			}
		}
	}
}
