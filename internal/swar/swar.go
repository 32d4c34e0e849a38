// Package swar finds the bytes that matter in JSON text eight at a time
// (SIMD within a register): the quotes, backslashes and control characters
// that end a run of plain string bytes. JSON decoding and encoding spend
// most of their time walking such runs.
package swar

import (
	"encoding/binary"
	"math/bits"
)

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// Load reads the eight bytes of b at i, which must be in range.
func Load(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// LoadString is Load for a string.
func LoadString(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// Stop marks, in the high bit of its byte, each '"', '\\' and control
// character (below 0x20) among the eight bytes of x. Marks above the
// lowest may be false (a borrow runs upward), so only the lowest, found
// with bits.TrailingZeros64(m)/8, is to be trusted; zero means none.
func Stop(x uint64) uint64 {
	return zero(x^('"'*ones)) | zero(x^('\\'*ones)) | (x-0x20*ones)&^x&high
}

// Escape is Stop and every byte of 0x80 or above as well: what a JSON
// encoder must look at more closely.
func Escape(x uint64) uint64 { return Stop(x) | x&high }

// ASCII reports whether the eight bytes of x are all below 0x80.
func ASCII(x uint64) bool { return x&high == 0 }

// zero marks the zero bytes of v, the lowest exactly.
func zero(v uint64) uint64 { return (v - ones) & ^v & high }

// SkipPlain returns the index of the first byte at or after i that Stop
// marks, looking eight bytes at a time. It does not look at the last
// len(b)-i%8 bytes: from the index it returns, which may be len(b), the
// caller goes on byte by byte.
func SkipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := Stop(Load(b, i)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	return i
}

// StringEnd returns the index of the quote that ends the JSON string
// whose contents start at b[i], skipping escaped quotes, or len(b) when
// the string does not end. It does not validate the string.
func StringEnd(b []byte, i int) int {
	for {
		if i = SkipPlain(b, i); i >= len(b) {
			return len(b)
		}
		switch b[i] {
		case '"':
			return i
		case '\\':
			i += 2 // the backslash and the byte it escapes
		default:
			i++ // a control byte: not the end
		}
	}
}

// SkipASCII is SkipPlain for a string, stopping at the bytes Escape marks.
func SkipASCII(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := Escape(LoadString(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	return i
}

// InRange marks, in the high bit of its byte, each byte of x between lo
// and hi (ASCII, lo ≤ hi < 0x80); bytes of 0x80 and above are not marked.
// Unlike Stop's, every mark is exact: setting the high bit of each byte
// first keeps a subtraction from borrowing across bytes.
func InRange(x uint64, lo, hi byte) uint64 {
	y := x | high
	return (y - uint64(lo)*ones) &^ (y - uint64(hi+1)*ones) &^ x & high
}
