package swar

import (
	"math/bits"
	"testing"
)

// first is the reference: the index of the first byte in b that stop
// picks, or 8.
func first(b []byte, stop func(byte) bool) int {
	for i, c := range b {
		if stop(c) {
			return i
		}
	}
	return 8
}

func lowest(m uint64) int {
	if m == 0 {
		return 8
	}
	return bits.TrailingZeros64(m) / 8
}

func isStop(c byte) bool   { return c == '"' || c == '\\' || c < 0x20 }
func isEscape(c byte) bool { return isStop(c) || c >= 0x80 }

// Every byte value at every position, over backgrounds that provoke
// borrows: the lowest mark must be exact.
func TestStopAndEscapeFindTheFirstByte(t *testing.T) {
	for _, bg := range []byte{'a', 0x00, 0x1f, 0x20, '"', '\\', 0x7f, 0x80, 0xff, '!', '#', 0x21} {
		for pos := 0; pos < 8; pos++ {
			for v := 0; v < 256; v++ {
				b := []byte{bg, bg, bg, bg, bg, bg, bg, bg}
				b[pos] = byte(v)
				x := Load(b, 0)
				if x != LoadString(string(b), 0) {
					t.Fatalf("Load and LoadString differ on %q", b)
				}
				if got, want := lowest(Stop(x)), first(b, isStop); got != want {
					t.Fatalf("Stop(%q): first at %d, want %d", b, got, want)
				}
				if got, want := lowest(Escape(x)), first(b, isEscape); got != want {
					t.Fatalf("Escape(%q): first at %d, want %d", b, got, want)
				}
				if got, want := ASCII(x), first(b, func(c byte) bool { return c >= 0x80 }) == 8; got != want {
					t.Fatalf("ASCII(%q) = %v", b, got)
				}
			}
		}
	}
}

func FuzzStop(f *testing.F) {
	f.Add(uint64(0x2222222222222222))
	f.Fuzz(func(t *testing.T, x uint64) {
		var b [8]byte
		for i := range b {
			b[i] = byte(x >> (8 * i))
		}
		if got, want := lowest(Stop(x)), first(b[:], isStop); got != want {
			t.Fatalf("Stop(%q): first at %d, want %d", b, got, want)
		}
		if got, want := lowest(Escape(x)), first(b[:], isEscape); got != want {
			t.Fatalf("Escape(%q): first at %d, want %d", b, got, want)
		}
	})
}

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		in    string
		from  int
		plain int // SkipPlain
		ascii int // SkipASCII
	}{
		{"", 0, 0, 0},
		{"abcdefg", 0, 0, 0},                  // shorter than a word: left to the caller
		{"abcdefgh", 0, 8, 8},                 // one plain word
		{"abcdefgh\"", 0, 8, 8},               // the quote is in the tail
		{"abc\"efghijkl", 0, 3, 3},            // a quote in the first word
		{"abcdefgh\\jklmnopq", 0, 8, 8},       // a backslash starts the second word
		{"abcdéfghijklmnop", 0, 16, 4},        // é: plain for Stop, not for Escape
		{"xx\"abcdefghijklmnop\"", 3, 19, 19}, // from an offset
	} {
		if got := SkipPlain([]byte(tc.in), tc.from); got != tc.plain {
			t.Errorf("SkipPlain(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.plain)
		}
		if got := SkipASCII(tc.in, tc.from); got != tc.ascii {
			t.Errorf("SkipASCII(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.ascii)
		}
	}
}

// stringEnd is StringEnd a byte at a time.
func stringEnd(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i
		case '\\':
			i++
		}
	}
	return len(b)
}

func FuzzStringEnd(f *testing.F) {
	for _, s := range []string{`abc"`, `a\"b"`, `\\"`, `0123456789\"abcdef"x`, `no end`, `\`, "\x01\x02\"", `aaaaaaa\`} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, b []byte, i int) {
		if i < 0 || i > len(b) {
			return
		}
		if got, want := StringEnd(b, i), stringEnd(b, i); got != want {
			t.Fatalf("StringEnd(%q, %d) = %d, want %d", b, i, got, want)
		}
	})
}

func FuzzInRange(f *testing.F) {
	f.Add(uint64(0x4142435a5b606162), byte('A'), byte('Z'))
	f.Add(uint64(0x80ff7f00415a617a), byte('a'), byte('z'))
	f.Fuzz(func(t *testing.T, x uint64, lo, hi byte) {
		if lo > hi || hi >= 0x80 {
			return
		}
		got := InRange(x, lo, hi)
		for i := range 8 {
			b := byte(x >> (8 * i))
			if want := lo <= b && b <= hi; (got>>(8*i+7))&1 == 1 != want {
				t.Fatalf("InRange(%#x, %q, %q): byte %d (%#x) marked %v, want %v", x, lo, hi, i, b, !want, want)
			}
		}
		if got&^high != 0 {
			t.Fatalf("InRange(%#x, %q, %q) = %#x: marks outside the high bits", x, lo, hi, got)
		}
	})
}
