package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/leadq/leadq/internal/jsonscan"
)

// valid is Skip used as a validator of a whole input: one value with
// whitespace around it, nested at most depth deep.
func valid(b []byte, depth int) bool {
	end, ok := jsonscan.Skip(b, jsonscan.Space(b, 0), depth)
	return ok && jsonscan.Space(b, end) == len(b)
}

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		in    string
		depth int
		end   int // where Skip stops, for ok values
		ok    bool
	}{
		{`"abc"`, 0, 5, true},
		{`"a\"b\\c\/\b\f\n\r\t\u00e9\uD83D\uDE00"x`, 0, 39, true},
		{`"\ud800"`, 0, 8, true},     // a lone surrogate: Valid accepts it
		{"\"\xff\xfe\"", 0, 4, true}, // not UTF-8: Valid accepts it
		{`"a long string of plain bytes, more than eight of them"`, 0, 55, true},
		{`"abc`, 0, 0, false},
		{`"a\x"`, 0, 0, false},
		{`"a\u12g4"`, 0, 0, false},
		{`"a\u12"`, 0, 0, false},
		{"\"a\tb\"", 0, 0, false}, // a raw tab is a control character
		{`"a\`, 0, 0, false},
		{`0`, 0, 1, true},
		{`-0`, 0, 2, true},
		{`-12.5e+3,`, 0, 8, true},
		{`1E9`, 0, 3, true},
		{`01`, 0, 1, true}, // the number 0: what follows is the caller's
		{`-`, 0, 0, false},
		{`1.`, 0, 0, false},
		{`.5`, 0, 0, false},
		{`1e`, 0, 0, false},
		{`1e+`, 0, 0, false},
		{`+1`, 0, 0, false},
		{`true`, 0, 4, true},
		{`false]`, 0, 5, true},
		{`null`, 0, 4, true},
		{`nul`, 0, 0, false},
		{`True`, 0, 0, false},
		{`{}`, 1, 2, true},
		{`[]`, 1, 2, true},
		{`{ }`, 1, 3, true},
		{`[ ]`, 1, 3, true},
		{`{}`, 0, 0, false}, // depth 0: no containers
		{`{"a": [1, {"b": null}], "c" : "d"} x`, 3, 34, true},
		{`{"a": [1, {"b": null}], "c" : "d"}`, 2, 0, false},
		{"[ 1 ,\n\t2\r]", 1, 10, true},
		{`[1,]`, 1, 0, false},
		{`[,1]`, 1, 0, false},
		{`[1 2]`, 1, 0, false},
		{`[1}`, 1, 0, false},
		{`{"a":1]`, 1, 0, false},
		{`{"a" 1}`, 1, 0, false},
		{`{"a":}`, 1, 0, false},
		{`{a:1}`, 1, 0, false},
		{`{"a":1,}`, 1, 0, false},
		{`{"a":1`, 1, 0, false},
		{`[`, 1, 0, false},
		{`[[[]]]`, 3, 6, true},
		{`[[[]]]`, 2, 0, false},
		{``, 5, 0, false},
		{`}`, 5, 0, false},
	} {
		end, ok := jsonscan.Skip([]byte(tc.in), 0, tc.depth)
		if ok != tc.ok || ok && end != tc.end {
			t.Errorf("Skip(%q, 0, %d) = %d, %v; want %d, %v", tc.in, tc.depth, end, ok, tc.end, tc.ok)
		}
		if end < 0 || end > len(tc.in) {
			t.Errorf("Skip(%q, 0, %d) = %d: outside the input", tc.in, tc.depth, end)
		}
	}
}

func TestEnd(t *testing.T) {
	for _, tc := range []struct {
		in       string
		end      int
		complete bool
	}{
		{`"a\"b" 1`, 6, true},
		{`"a\"b`, 5, false},
		{`{"a": "}"} x`, 10, true},
		{`[1, [2], {"x": "]"}], 3`, 20, true},
		{`[1, [2]`, 7, false},
		{`{"a": tru}`, 10, true}, // balanced, not validated
		{`{]`, 2, true},          // brackets of either kind are counted alike
		{`123,4`, 3, true},
		{`true]`, 4, true},
		{`12 3`, 2, true},
		{`1"x"`, 1, true},
		{`123`, 3, false}, // it may go on in bytes not read yet
		{`,`, 0, true},
		{`]`, 0, true},
		{` 1`, 0, true},
	} {
		end, complete := jsonscan.End([]byte(tc.in), 0)
		if end != tc.end || complete != tc.complete {
			t.Errorf("End(%q, 0) = %d, %v; want %d, %v", tc.in, end, complete, tc.end, tc.complete)
		}
	}
}

func TestTooDeep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want int
	}{
		{`{"a": [1, {"b": 2}]}`, 3, -1},
		{`{"a": [1, {"b": 2}]}`, 2, 10},
		{`{"a": "[[[[[["}`, 1, -1},
		{`{"a": "\"[[["}`, 1, -1},
		{`[[]] [[]]`, 2, -1},
		{`[`, 0, 0},
		{`"[`, 0, -1},
	} {
		if got := jsonscan.TooDeep([]byte(tc.in), tc.max); got != tc.want {
			t.Errorf("TooDeep(%q, %d) = %d; want %d", tc.in, tc.max, got, tc.want)
		}
	}
}

// A million levels of nesting is a counter or a bit a level, never a deep
// stack: refused at the limit, and walked whole when allowed.
func TestMillionDeep(t *testing.T) {
	const n = 1_000_000
	open := []byte(strings.Repeat("[", n))
	whole := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
	if end, ok := jsonscan.Skip(open, 0, 64); ok || end != 64 {
		t.Errorf("Skip of %d [ with depth 64 = %d, %v; want 64, false", n, end, ok)
	}
	if got := jsonscan.TooDeep(open, 64); got != 64 {
		t.Errorf("TooDeep of %d [ = %d; want 64", n, got)
	}
	if end, ok := jsonscan.Skip(whole, 0, n); !ok || end != 2*n {
		t.Errorf("Skip of %d nested arrays with depth %d = %d, %v; want %d, true", n, n, end, ok, 2*n)
	}
	if end, ok := jsonscan.Skip(whole, 0, n-1); ok {
		t.Errorf("Skip of %d nested arrays with depth %d = %d, true; want false", n, n-1, end)
	}
	if end, complete := jsonscan.End(whole, 0); !complete || end != 2*n {
		t.Errorf("End of %d nested arrays = %d, %v", n, end, complete)
	}
	if !json.Valid(whole[n-5000 : n+5000]) { // the reference, within its own limit
		t.Fatal("json.Valid refuses 5,000 nested arrays")
	}
	// Objects and arrays alternate: every level's kind is remembered.
	mixed := strings.Repeat(`{"a":[`, 1000) + strings.Repeat(`]}`, 1000)
	if !valid([]byte(mixed), 2000) || valid([]byte(mixed[:len(mixed)-2]+"]]"), 2000) {
		t.Error("Skip mixes up the kinds of 2,000 nested objects and arrays")
	}
}

// Skip allocates nothing for the nesting real input has.
func TestSkipAllocs(t *testing.T) {
	b := []byte(`{"a": [1, 2.5, {"b": "c\"d", "e": [true, false, null]}], "f": "` + strings.Repeat("x", 100) + `"}`)
	if n := testing.AllocsPerRun(100, func() { jsonscan.Skip(b, 0, 64) }); n != 0 {
		t.Errorf("Skip allocates %v times a call; want 0", n)
	}
}

// FuzzSkip holds Skip to encoding/json's Valid: no input makes it panic or
// stop outside the input; what it accepts Valid accepts, what Valid
// accepts it accepts unless it nests deeper than the limit, and nothing
// deeper is accepted. End agrees on where a valid object, array or string
// ends.
func FuzzSkip(f *testing.F) {
	for _, s := range []string{`{"a": [1, {"b": null}], "c": "d\u00e9\n"}`, `[1, -2.5e3, true, false, null]`, `"\ud800"`,
		"\"\xff\"", `[[[[[[[[[]]]]]]]]]`, `{"a":1,}`, `01`, `1.e3`, `[1 2]`, ` "x" `, "\ufeff{}", `{"a":[}`} {
		f.Add([]byte(s))
	}
	const depth = 8
	f.Fuzz(func(t *testing.T, b []byte) {
		i := jsonscan.Space(b, 0)
		if i < len(b) {
			if end, _ := jsonscan.Skip(b, i, depth); end < i || end > len(b) {
				t.Fatalf("Skip(%q) = %d: outside the input", b, end)
			}
		}
		got, want, deep := valid(b, depth), json.Valid(b), jsonscan.TooDeep(b, depth) >= 0
		switch {
		case got && !want:
			t.Fatalf("Skip accepts %q, which json.Valid refuses", b)
		case got && deep:
			t.Fatalf("Skip accepts %q, nested deeper than %d", b, depth)
		case !got && want && !deep:
			t.Fatalf("Skip refuses %q, which json.Valid accepts", b)
		}
		if got && (b[i] == '{' || b[i] == '[' || b[i] == '"') {
			skipped, _ := jsonscan.Skip(b, i, depth)
			if end, complete := jsonscan.End(b, i); end != skipped || !complete {
				t.Fatalf("End(%q) = %d, %v; Skip ends at %d", b, end, complete, skipped)
			}
		}
	})
}
