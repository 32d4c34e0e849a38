package jsonscan_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/jsonscan"
)

type value struct {
	Text string
	Pos  string
}

// readAll reads every value of in, one byte at a time so that every value
// crosses a refill of the buffer.
func readAll(in string) ([]value, error) {
	r := jsonscan.NewReader(iotest.OneByteReader(strings.NewReader(in)))
	var out []value
	for {
		v, p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, value{string(v), p.String()})
	}
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []value
		err      string
	}{
		{"empty", "", nil, ""},
		{"spaces", " \n\t ", nil, ""},
		{"one object", `{"a": 1}`, []value{{`{"a": 1}`, "1:1"}}, ""},
		{"pretty object", "{\n  \"lead\": {\"x\": [1, 2]}\n}\n", []value{{"{\n  \"lead\": {\"x\": [1, 2]}\n}", "1:1"}}, ""},
		{"json lines", "{\"id\": 1}\n{\"id\": 2}\r\n\n{\"id\": \"}{\"}\n", []value{{`{"id": 1}`, "1:1"}, {`{"id": 2}`, "2:1"}, {`{"id": "}{"}`, "4:1"}}, ""},
		{"glued", `{}{}[1]"s"1 2`, []value{{"{}", "1:1"}, {"{}", "1:3"}, {"[1]", "1:5"}, {`"s"`, "1:8"}, {"1", "1:11"}, {"2", "1:13"}}, ""},
		{"array", " [ {\"a\": \"]\\\"\"} ,\n {\"b\": [2]} ] \n", []value{{`{"a": "]\""}`, "1:4"}, {`{"b": [2]}`, "2:2"}}, ""},
		{"empty array", "[ ]", nil, ""},
		{"array of scalars", `[1,"two",null]`, []value{{"1", "1:2"}, {`"two"`, "1:4"}, {"null", "1:10"}}, ""},
		{"array not closed", `[{"a": 1}, {"b": 2}`, []value{{`{"a": 1}`, "1:2"}, {`{"b": 2}`, "1:12"}}, "1:20: the array is not closed (no ])"},
		{"array trailing comma", `[{"a": 1},]`, []value{{`{"a": 1}`, "1:2"}}, `1:11: unexpected ']' where a value should start`},
		{"data after array", "[1]\n{}", []value{{"1", "1:2"}}, "2:1: unexpected data after the array"},
		{"missing comma", `[1 2]`, []value{{"1", "1:2"}}, `1:4: unexpected '2' after an array element (want , or ])`},
		{"cut object", "{\"a\": 1}\n{\"b\": ", []value{{`{"a": 1}`, "1:1"}}, "2:1: the input ends inside this value (a missing } ] or \"?)"},
		{"cut string", `"abc`, nil, "1:1: the input ends inside this value (a missing } ] or \"?)"},
		{"byte order mark", "\ufeff{\"a\": 1}\n{}", []value{{`{"a": 1}`, "1:1"}, {"{}", "2:1"}}, ""},
		{"byte order mark array", "\ufeff [1]", []value{{"1", "1:3"}}, ""},
		{"byte order mark alone", "\ufeff", nil, ""},
		{"byte order mark later", "{}\n\ufeff{}", []value{{"{}", "1:1"}, {"\ufeff", "2:1"}, {"{}", "2:4"}}, ""},
		{"stray close", "{}\n}", []value{{"{}", "1:1"}}, `2:1: unexpected '}' where a value should start`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			if msg != tc.err {
				t.Errorf("error = %q; want %q", msg, tc.err)
			}
		})
	}
}

// TestReaderLargeValue: a value larger than the buffer is read whole.
func TestReaderLargeValue(t *testing.T) {
	big := `{"s": "` + strings.Repeat("x", 300<<10) + `"}`
	r := jsonscan.NewReader(strings.NewReader("[" + big + "," + big + "]"))
	for i := range 2 {
		if v, _, err := r.Next(); err != nil || string(v) != big {
			t.Fatalf("value %d: %d bytes, %v; want the large one", i, len(v), err)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the values: %v; want io.EOF", err)
	}
}

// TestReaderReadError: a read that fails (a directory given as the input,
// an I/O error) is the error of Next, after the values read before it;
// it was taken for the end of the stream, and leadq score /tmp scored
// nothing and succeeded.
func TestReaderReadError(t *testing.T) {
	failed := errors.New("read /tmp: is a directory")
	for _, in := range []string{"", "{\"a\": 1}\n", "[{\"a\": 1},", "{\"a\": 1}\n{\"b\":"} {
		r := jsonscan.NewReader(io.MultiReader(strings.NewReader(in), iotest.ErrReader(failed)))
		var err error
		for err == nil {
			_, _, err = r.Next()
		}
		if !errors.Is(err, failed) {
			t.Errorf("%q then a failed read: Next ends with %v; want the read's error", in, err)
		}
	}
}

// TestReaderValueTooLarge: a value that does not end within MaxValue
// bytes (a quote or brace left open, the rest of a large file after it)
// is an error where it starts, not the rest of the file in memory.
func TestReaderValueTooLarge(t *testing.T) {
	in := "{\"a\": 1}\n{\"b\": \"open\n" + strings.Repeat("{\"c\": 3}\n", jsonscan.MaxValue/8)
	r := jsonscan.NewReader(strings.NewReader(in))
	if v, _, err := r.Next(); err != nil || string(v) != `{"a": 1}` {
		t.Fatalf("first value %q, %v", v, err)
	}
	_, _, err := r.Next()
	var se *jsonscan.SyntaxError
	if !errors.As(err, &se) || se.Pos.String() != "2:1" || !strings.Contains(se.Msg, "longer than 64 MiB") {
		t.Fatalf("Next = %v; want a syntax error at 2:1 saying the value is longer than 64 MiB", err)
	}
}

// TestReaderMillionDeep: an element nested a million deep is found whole
// (a counter, not a stack), for its decoder to refuse.
func TestReaderMillionDeep(t *testing.T) {
	const n = 1_000_000
	elem := strings.Repeat("[", n) + strings.Repeat("]", n)
	r := jsonscan.NewReader(strings.NewReader("[" + elem + "]"))
	if v, p, err := r.Next(); err != nil || len(v) != len(elem) || p.String() != "1:2" {
		t.Fatalf("Next = %d bytes at %v, %v; want the %d bytes at 1:2", len(v), p, err, len(elem))
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the element: %v; want io.EOF", err)
	}
}

// FuzzReader holds Reader to encoding/json: for input that json.Decoder
// reads as a sequence of objects, arrays and strings, or json.Unmarshal as an array, Reader
// yields the same values, and no input makes it panic or loop.
func FuzzReader(f *testing.F) {
	for _, s := range []string{`{"a":1}{"b":[2,"]"]}`, "[1, {\"x\": \"\\\"\"}]", "{}\n{}\n", `[]`, `1 2 3`, `"a" "b"`, `[{"a":[]}, 2, "s", null, true]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readAll(in)
		var want []string
		trimmed := strings.TrimLeft(in, " \t\r\n")
		if strings.HasPrefix(trimmed, "[") {
			var elems []json.RawMessage
			if json.Unmarshal([]byte(in), &elems) != nil {
				return
			}
			for _, e := range elems {
				want = append(want, compact(t, e))
			}
		} else {
			dec := json.NewDecoder(strings.NewReader(in))
			for {
				var v json.RawMessage
				if err := dec.Decode(&v); err == io.EOF {
					break
				} else if err != nil {
					return
				}
				if c := v[0]; c != '{' && c != '[' && c != '"' {
					return // a bare value glued to the next ("0true") is not split as encoding/json does: leads are objects
				}
				want = append(want, compact(t, v))
			}
		}
		if err != nil {
			t.Fatalf("Reader failed on input encoding/json reads: %v", err)
		}
		var texts []string
		for _, v := range got {
			texts = append(texts, compact(t, []byte(v.Text)))
		}
		if diff := cmp.Diff(want, texts); diff != "" {
			t.Fatalf("values differ from encoding/json's (-want +got):\n%s", diff)
		}
	})
}

func compact(t *testing.T, b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return buf.String()
}
