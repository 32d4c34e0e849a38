package server

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

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
		{"application/json; charset=iso-8859-1", false},
		{"application/json; charset=UTF8", true},
		{"application/json; charset=US-ASCII", true}, // a part of UTF-8
	}
	for _, tc := range tests {
		r, _ := http.NewRequest("POST", "/", nil)
		r.Header.Set("Content-Type", tc.ctype)
		if err := checkContentType(r, jsonTypes); (err == nil) != tc.ok {
			t.Errorf("checkContentType(%q) = %v; want ok %v", tc.ctype, err, tc.ok)
		}
	}
}
