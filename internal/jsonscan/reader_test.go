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
		// In a sequence, what is not JSON is the rest of its line, for the
		// caller to report, and the lines after it are read.
		{"cut object", "{\"a\": 1}\n{\"b\": ", []value{{`{"a": 1}`, "1:1"}, {`{"b":`, "2:1"}}, ""},
		{"cut string", `"abc`, []value{{`"abc`, "1:1"}}, ""},
		{"cut line", "{\"a\": 1}\n{\"b\": {\"c\":\n{\"d\": 4}\n{\"e\": 5}\n", []value{{`{"a": 1}`, "1:1"}, {`{"b": {"c":`, "2:1"}, {`{"d": 4}`, "3:1"}, {`{"e": 5}`, "4:1"}}, ""},
		{"cut line before the last", "{\"b\": {\"c\":\r\n{\"d\": 4}\r\n", []value{{`{"b": {"c":`, "1:1"}, {`{"d": 4}`, "2:1"}}, ""},
		{"quote left open", "{\"a\": \"open}\n{\"b\": \"x\"}\n{\"c\": 3}", []value{{`{"a": "open}`, "1:1"}, {`{"b": "x"}`, "2:1"}, {`{"c": 3}`, "3:1"}}, ""},
		{"garbage line", "{}\n\x01\xff\xfe garbage {{ \"\n  {\"a\": [1]}\n", []value{{"{}", "1:1"}, {"\x01\xff\xfe garbage {{ \"", "2:1"}, {`{"a": [1]}`, "3:3"}}, ""},
		{"balanced but not JSON", "{\"a\": 1,}\n{\"b\": 2}", []value{{`{"a": 1,}`, "1:1"}, {`{"b": 2}`, "2:1"}}, ""},
		{"bad after a value", "{\"a\": 1} x y\n{}", []value{{`{"a": 1}`, "1:1"}, {"x y", "1:10"}, {"{}", "2:1"}}, ""},
		{"pretty then lines", "{\n  \"a\": 1\n}\n{\"b\": 2}\n{\"c\":\n{\n \"d\": [\n  4\n ]\n}\n", []value{{"{\n  \"a\": 1\n}", "1:1"}, {`{"b": 2}`, "4:1"}, {`{"c":`, "5:1"}, {"{\n \"d\": [\n  4\n ]\n}", "6:1"}}, ""},
		{"byte order mark", "\ufeff{\"a\": 1}\n{}", []value{{`{"a": 1}`, "1:1"}, {"{}", "2:1"}}, ""},
		{"byte order mark array", "\ufeff [1]", []value{{"1", "1:3"}}, ""},
		{"byte order mark alone", "\ufeff", nil, ""},
		{"byte order mark later", "{}\n\ufeff{}", []value{{"{}", "1:1"}, {"\ufeff{}", "2:1"}}, ""},
		{"stray close", "{}\n}\n{}", []value{{"{}", "1:1"}, {"}", "2:1"}, {"{}", "3:1"}}, ""},
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

// TestReaderValueTooLarge: an array element that does not end within
// MaxValue bytes (a quote or brace left open, the rest of a large file
// after it) is an error where it starts, not the rest of the file in
// memory.
func TestReaderValueTooLarge(t *testing.T) {
	in := "[{\"a\": 1},\n{\"b\": \"open\n" + strings.Repeat("{\"c\": 3},\n", jsonscan.MaxValue/9)
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

// TestReaderLongLine: in a sequence, a line longer than MaxValue that
// holds no shorter value is passed over (a *LongLineError where it
// starts), and the lines after it are read; so is a line with a quote left
// open before a large file's rest, in its place.
func TestReaderLongLine(t *testing.T) {
	long := "{\"s\": \"" + strings.Repeat("x", jsonscan.MaxValue+1) + "\"}"
	in := "{\"a\": 1}\n" + long + "\n{\"b\": \"open\n" + strings.Repeat("{\"c\": 3}\n", 3) + "\x00" + strings.Repeat("\xff", jsonscan.MaxValue+1)
	r := jsonscan.NewReader(strings.NewReader(in))
	var got []string
	for {
		v, p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var long *jsonscan.LongLineError
		switch {
		case errors.As(err, &long):
			got = append(got, "long line at "+long.Pos.String())
		case err != nil:
			t.Fatalf("Next after %q: %v", got, err)
		default:
			got = append(got, p.String()+" "+string(v))
		}
	}
	want := []string{`1:1 {"a": 1}`, "long line at 2:1", `3:1 {"b": "open`, `4:1 {"c": 3}`, `5:1 {"c": 3}`, `6:1 {"c": 3}`, "long line at 7:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
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
