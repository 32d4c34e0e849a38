package server

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
)

func TestCheckDepth(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantOffset int64 // 0: no error
	}{
		{"flat", `{"a": 1, "b": [1, 2]}`, 0},
		{"at the limit", strings.Repeat("[", 4) + strings.Repeat("]", 4), 0},
		{"one over", strings.Repeat("[", 5) + strings.Repeat("]", 5), 5},
		{"brackets in strings do not count", `{"a": "[[[[[[[[[[", "b": "{{{{{{"}`, 0},
		{"escaped quotes do not end strings", `{"a": "\"[[[[[[[[["}`, 0},
		{"escaped backslash ends the escape", `{"a": "\\", "b": [[[[[]]]]]}`, 21},
		{"objects count", `{"a": {"b": {"c": {"d": {"e": 1}}}}}`, 25},
		{"malformed is left to the decoder", `]]]]{`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDepth([]byte(tc.in), 4)
			var ie *engine.InputError
			switch {
			case tc.wantOffset == 0 && err != nil:
				t.Errorf("checkDepth(%q) = %v; want nil", tc.in, err)
			case tc.wantOffset != 0 && (!errors.As(err, &ie) || ie.Offset != tc.wantOffset):
				t.Errorf("checkDepth(%q) = %v; want an InputError at offset %d", tc.in, err, tc.wantOffset)
			}
		})
	}
}

func TestLineReader(t *testing.T) {
	type line struct {
		text    string
		tooLong bool
	}
	tests := []struct {
		name string
		in   string
		want []line
	}{
		{"lines", "a\nbb\n", []line{{"a", false}, {"bb", false}}},
		{"no final newline", "a\nbb", []line{{"a", false}, {"bb", false}}},
		{"crlf", "a\r\nbb\r\n", []line{{"a", false}, {"bb", false}}},
		{"blank lines are lines", "\n\na\n", []line{{"", false}, {"", false}, {"a", false}}},
		{"at the limit", "12345678\n", []line{{"12345678", false}}},
		{"at the limit with crlf", "12345678\r\n", []line{{"12345678", false}}},
		{"over the limit", "123456789\nok\n", []line{{"", true}, {"ok", false}}},
		{"far over, longer than the buffer", strings.Repeat("x", 100) + "\nok", []line{{"", true}, {"ok", false}}},
		{"over at the end", "ok\n" + strings.Repeat("x", 100), []line{{"ok", false}, {"", true}}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A 16-byte buffer makes long lines arrive in fragments.
			lr := &lineReader{br: bufio.NewReaderSize(strings.NewReader(tc.in), 16), max: 8}
			var got []line
			for {
				text, tooLong, err := lr.next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, line{string(text), tooLong})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("lines of %q = %+v; want %+v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d of %q = %+v; want %+v", i+1, tc.in, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCheckContentType(t *testing.T) {
	tests := []struct {
		ctype string
		ok    bool
	}{
		{"", true},
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"Application/JSON", true},
		{"application/vnd.leadq+json", true},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"application/json;;", false},
	}
	for _, tc := range tests {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", tc.ctype)
		if err := checkContentType(r, jsonTypes); (err == nil) != tc.ok {
			t.Errorf("checkContentType(%q) = %v; want ok %v", tc.ctype, err, tc.ok)
		}
	}
}

// depthReference is checkDepth a byte at a time, as it was before it
// learned to skip strings eight bytes at a time.
func depthReference(data []byte, max int) int64 {
	depth := 0
	inString, escaped := false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > max {
				return int64(i + 1)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return 0
}

func FuzzCheckDepth(f *testing.F) {
	for _, s := range []string{`{"a":[[[1]]]}`, `{"a\"[[[[":"x\\"}`, `["aaaaaaaaaaaaaaaa\\\"[[[[[[[", [[[[]]]]]`, `"unterminated [[[[[`, `{"k":"0123456789abcdef"}[[[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got int64
		if err := checkDepth(data, 4); err != nil {
			got = err.(*engine.InputError).Offset
		}
		if want := depthReference(data, 4); got != want {
			t.Fatalf("checkDepth(%q) fails at offset %d, want %d", data, got, want)
		}
	})
}
