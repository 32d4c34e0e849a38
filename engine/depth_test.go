package engine

import (
	"errors"
	"strings"
	"testing"
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
			err := CheckDepth([]byte(tc.in), 4)
			var ie *InputError
			switch {
			case tc.wantOffset == 0 && err != nil:
				t.Errorf("CheckDepth(%q) = %v; want nil", tc.in, err)
			case tc.wantOffset != 0 && (!errors.As(err, &ie) || ie.Offset != tc.wantOffset):
				t.Errorf("CheckDepth(%q) = %v; want an InputError at offset %d", tc.in, err, tc.wantOffset)
			}
		})
	}
}

// depthReference is CheckDepth a byte at a time, as it was before it
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
		if err := CheckDepth(data, 4); err != nil {
			got = err.(*InputError).Offset
		}
		if want := depthReference(data, 4); got != want {
			t.Fatalf("CheckDepth(%q) fails at offset %d, want %d", data, got, want)
		}
	})
}
