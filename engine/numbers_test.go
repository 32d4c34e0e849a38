package engine

import (
	"context"
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

// Numbers in strings are read as people write them (an optional sign,
// digits, a fraction, an exponent), not in Go's syntax: "0x1p4" was 16,
// "1_000" a thousand. A whole-number field takes no number that is not
// whole, even one a float64 rounds to zero (1e-400 was 0 employees).
func TestNumbersAsPeopleWriteThem(t *testing.T) {
	rs := NewRuleset(compileRuleset(t, `ruleset: numbers
fields:
  lead.n: int
  lead.x: float
score:
  - id: n-is-1000
    when: lead.n == 1000
    points: 1
  - id: n-is-0
    when: lead.n == 0
    points: 10
  - id: x-is-16
    when: lead.x == 16.0
    points: 100
tiers:
  - {name: A, min: 1}
  - {name: D}
`))
	tests := []struct {
		lead  string
		score int    // the rules that fired
		warns string // the field warned of, if any
	}{
		{`{"n": "1000"}`, 1, ""},
		{`{"n": " +1000 "}`, 1, ""},
		{`{"n": "1e3"}`, 1, ""},
		{`{"n": "1000.0"}`, 1, ""},
		{`{"n": "1_000"}`, 0, "lead.n"},
		{`{"n": "0x3e8"}`, 0, "lead.n"},
		{`{"n": "0"}`, 10, ""},
		{`{"n": -0}`, 10, ""},
		{`{"n": "0e9"}`, 10, ""},
		{`{"n": 1e-400}`, 0, "lead.n"},
		{`{"n": "1e-400"}`, 0, "lead.n"},
		{`{"x": "16"}`, 100, ""},
		{`{"x": "16."}`, 100, ""},
		{`{"x": ".16e2"}`, 100, ""},
		{`{"x": "0x1p4"}`, 0, "lead.x"},
		{`{"x": "1_6"}`, 0, "lead.x"},
		{`{"x": "Inf"}`, 0, "lead.x"},
		{`{"x": "infinity"}`, 0, "lead.x"},
		{`{"x": "nan"}`, 0, "lead.x"},
		{`{"x": "1e"}`, 0, "lead.x"},
		{`{"x": "-"}`, 0, "lead.x"},
		{`{"x": "."}`, 0, "lead.x"},
	}
	for _, tc := range tests {
		req := []byte(`{"lead": ` + tc.lead + `}`)
		in, err := ParseInput(req)
		if err != nil {
			t.Fatal(err)
		}
		fromMap, err := rs.Score(context.Background(), in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fromJSON, err := rs.ScoreJSON(context.Background(), req, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []Decision{fromMap, fromJSON} {
			warned := ""
			for _, w := range d.Warnings {
				warned = w.Field
			}
			if d.Score != tc.score || warned != tc.warns {
				t.Errorf("%s: score %d, warning on %q; want %d, %q", tc.lead, d.Score, warned, tc.score, tc.warns)
			}
		}
	}
}
