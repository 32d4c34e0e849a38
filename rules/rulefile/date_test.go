package rulefile

import (
	"testing"
	"time"
)

// FuzzParseDate holds ParseDate's fast path for YYYY-MM-DD to time.Parse.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-23", "2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29",
		"0000-01-01", "9999-12-31", "2026-04-31", "2026-13-01", "2026-00-10", "2026-1-010", "20261123xx", "+026-11-23", "2026-11-2a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse("2006-01-02", s)
		got, ok := parseISODate(s)
		if ok != (err == nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("parseISODate(%q) = %v, %v; time.Parse gives %v, %v", s, got, ok, want, err)
		}
	})
}
