package main

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// count sees every answer and every error, however the bytes arrive.
func TestCount(t *testing.T) {
	answers := `{"lead_id":"a","qualified":true}` + "\n" +
		`{"line":2,"error":{"code":"invalid_json"}}` + "\n" +
		`{"lead_id":"c","qualified":false}` + "\n" +
		`{"line":4,"error":{"code":"line_too_long"}}` + "\n"
	for how, r := range map[string]io.Reader{
		"at once":       strings.NewReader(answers),
		"a byte a time": iotest.OneByteReader(strings.NewReader(answers)),
	} {
		lines, errs, size, err := count(r)
		if err != nil || lines != 4 || errs != 2 || size != int64(len(answers)) {
			t.Errorf("%s: count = %d lines, %d errors, %d bytes, %v; want 4, 2, %d, nil", how, lines, errs, size, err, len(answers))
		}
	}
}
