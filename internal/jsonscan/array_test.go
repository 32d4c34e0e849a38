package jsonscan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/jsonscan"
)

// elements walks data with Array: its elements, and whether it was an
// array of that shape.
func elements(data string) ([]string, bool) {
	a := jsonscan.NewArray([]byte(data))
	var out []string
	for {
		start, end, ok := a.Next()
		if !ok {
			break
		}
		out = append(out, data[start:end])
	}
	if a.Bad() == a.Done() {
		panic("an Array is both bad and done, or neither, after Next said no more")
	}
	return out, !a.Bad()
}

func TestArray(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // the elements of a good array
		ok       bool
	}{
		{"empty", `[]`, nil, true},
		{"empty spaced", " \r\n[ \t] \n", nil, true},
		{"objects", `[{"a": 1}, {"b": "]}"}]`, []string{`{"a": 1}`, `{"b": "]}"}`}, true},
		{"scalars", `[1,"two" , null,true]`, []string{"1", `"two"`, "null", "true"}, true},
		{"not JSON but balanced", `[{"a": tru}, 2]`, []string{`{"a": tru}`, "2"}, true},
		{"empty objects", "[" + strings.Repeat("{},", 999) + "{}]", strings.Split(strings.Repeat("{} ", 1000)[:3*1000-1], " "), true},
		{"not an array", `{"lead": {}}`, nil, false},
		{"nothing", ``, nil, false},
		{"spaces", `  `, nil, false},
		{"cut after [", `[`, nil, false},
		{"cut after an element", `[{}`, nil, false},
		{"empty objects cut", "[" + strings.Repeat("{},", 1000), nil, false},
		{"cut inside an element", `[{"a": "x]`, nil, false},
		{"trailing comma", `[1,]`, nil, false},
		{"leading comma", `[,1]`, nil, false},
		{"missing comma", `[1 2]`, nil, false},
		{"glued", `[1"x"]`, nil, false},
		{"data after", `[1] x`, nil, false},
		{"two arrays", `[1][2]`, nil, false},
		{"stray close", `[{"a": 1}}]`, nil, false},
		{"byte order mark", "\ufeff[1]", nil, false}, // as encoding/json: not JSON
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := elements(tc.in)
			if ok != tc.ok {
				t.Fatalf("Array(%q): ok = %v; want %v", tc.in, ok, tc.ok)
			}
			if ok {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("Array(%q) elements (-want +got):\n%s", tc.in, diff)
				}
			}
		})
	}
}

// A copy of an Array walks on from where the original was, and leaves
// the original where it was.
func TestArrayCopy(t *testing.T) {
	a := jsonscan.NewArray([]byte(`[1, 2, 3]`))
	a.Next()
	b := a
	for b.Next(); !b.Done(); b.Next() {
	}
	if start, _, ok := a.Next(); !ok || start != 4 {
		t.Errorf("after a copy walked to the end, the original's next element is at %d, %v; want 4, true", start, ok)
	}
}

// FuzzArray holds Array to encoding/json: for an input that json.Unmarshal
// reads as an array, Array finds the same elements; no input makes it
// panic.
func FuzzArray(f *testing.F) {
	for _, s := range []string{`[{"a": [1, "]"]}, 2, "s", null]`, `[]`, ` [ 1 , 2 ] `, `[{}`, `[1,]`, `[1 2]`, `[{"a": tru}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := elements(in)
		var raw []json.RawMessage
		if json.Unmarshal([]byte(in), &raw) != nil || raw == nil {
			return
		}
		if !ok {
			t.Fatalf("Array refuses %q, an array encoding/json reads", in)
		}
		want := make([]string, len(raw))
		for i, r := range raw {
			want[i] = string(r)
		}
		if len(want) == 0 {
			want = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Array(%q) elements differ from encoding/json's (-want +got):\n%s", in, diff)
		}
	})
}
