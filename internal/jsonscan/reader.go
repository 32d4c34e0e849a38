package jsonscan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Pos is where a value starts: 1-based line and column (in bytes).
type Pos struct{ Line, Col int }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// SyntaxError is input that is neither a JSON array nor a sequence of
// JSON values, at Pos: the rest of the stream cannot be read.
type SyntaxError struct {
	Pos Pos
	Msg string
}

func (e *SyntaxError) Error() string { return e.Pos.String() + ": " + e.Msg }

// Reader yields the values of a stream, in order: the elements of a JSON
// array, or values one after another (JSON Lines, or pretty-printed
// objects in a row), found with End in bounded memory. A UTF-8 byte order
// mark at the start of the stream, which some Windows tools write, is
// skipped (RFC 8259 lets a parser ignore it). Create it with NewReader.
type Reader struct {
	r       io.Reader
	buf     []byte
	off     int  // the next byte to read in buf
	eof     bool // r has no more bytes
	err     error
	started bool // the first value (or '[') has been seen
	array   bool // the stream is one array: values are its elements
	closed  bool // the array's ']' has been read
	// Where buf[0] is in the stream.
	line, col int
	scanned   int // buf[:scanned] is counted into line and col
}

// NewReader reads values from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 0, 64<<10), line: 1, col: 1}
}

// Array reports whether the stream is a JSON array; it is known once Next
// has returned a value or io.EOF.
func (r *Reader) Array() bool { return r.array }

// Next returns the next value and where it starts. The value is valid
// until the next call. At the end of the stream it returns io.EOF; a
// stream that breaks off or is not a sequence of values gives a
// *SyntaxError, and so does every later call.
func (r *Reader) Next() ([]byte, Pos, error) {
	if r.err != nil {
		return nil, r.pos(r.off), r.err
	}
	v, p, err := r.next()
	if errors.Is(err, io.EOF) && r.err != nil {
		err = r.err // a failed read (a directory, an I/O error) is not the end
	}
	if err != nil {
		r.err = err
	}
	return v, p, err
}

// MaxValue is the longest value Next returns: past it a value that does
// not end is an error where it starts, instead of the rest of a large
// file (after a quote or brace left open) read into memory.
const MaxValue = 64 << 20

func (r *Reader) next() ([]byte, Pos, error) {
	if !r.started {
		r.skipBOM()
		if !r.skipSpace() {
			return nil, r.pos(r.off), io.EOF // an empty stream: no values
		}
		r.started = true
		if r.buf[r.off] == '[' {
			r.array = true
			r.off++
			if !r.skipSpace() {
				return nil, r.pos(r.off), r.syntax(r.off, "the array is not closed (no ])")
			}
			if r.buf[r.off] == ']' {
				r.off++
				r.closed = true
			}
		}
	} else if r.array && !r.closed {
		if !r.skipSpace() {
			return nil, r.pos(r.off), r.syntax(r.off, "the array is not closed (no ])")
		}
		switch r.buf[r.off] {
		case ',':
			r.off++
		case ']':
			r.off++
			r.closed = true
		default:
			return nil, r.pos(r.off), r.syntax(r.off, fmt.Sprintf("unexpected %q after an array element (want , or ])", r.buf[r.off]))
		}
	}
	if r.closed {
		if r.skipSpace() {
			return nil, r.pos(r.off), r.syntax(r.off, "unexpected data after the array")
		}
		return nil, r.pos(r.off), io.EOF
	}
	if !r.skipSpace() {
		if r.array {
			return nil, r.pos(r.off), r.syntax(r.off, "the array is not closed (no ])")
		}
		return nil, r.pos(r.off), io.EOF
	}
	switch c := r.buf[r.off]; c {
	case ']', '}', ',', ':':
		return nil, r.pos(r.off), r.syntax(r.off, fmt.Sprintf("unexpected %q where a value should start", c))
	}
	start := r.off
	for {
		end, done := End(r.buf, start)
		if done || (r.eof && end == len(r.buf) && end > start) {
			if !done && r.open(start) {
				return nil, r.pos(start), r.syntax(start, "the input ends inside this value (a missing } ] or \"?)")
			}
			r.off = end
			p := r.pos(start)
			return r.buf[start:end], p, nil
		}
		if r.eof {
			return nil, r.pos(start), r.syntax(start, "the input ends inside this value (a missing } ] or \"?)")
		}
		if len(r.buf)-start > MaxValue {
			return nil, r.pos(start), r.syntax(start, fmt.Sprintf("this value is longer than %d MiB (a missing } ] or \"?)", MaxValue>>20))
		}
		// Read more; the value moves to the front of the buffer.
		start = r.fill(start)
	}
}

// open reports whether the value at buf[start:] starts an object, array or
// string that the buffer does not close.
func (r *Reader) open(start int) bool {
	c := r.buf[start]
	return c == '{' || c == '[' || c == '"'
}

// skipBOM moves off past a UTF-8 byte order mark at the start.
func (r *Reader) skipBOM() {
	for len(r.buf)-r.off < len(bom) && !r.eof {
		r.fill(r.off)
	}
	if rest := r.buf[r.off:]; len(rest) >= len(bom) && string(rest[:len(bom)]) == bom {
		r.off += len(bom)
		r.scanned = r.off // not a column: the first value is at 1:1
	}
}

const bom = "\xef\xbb\xbf"

// skipSpace moves off past whitespace, reading as needed; false at the end
// of the stream.
func (r *Reader) skipSpace() bool {
	for {
		for r.off < len(r.buf) {
			switch r.buf[r.off] {
			case ' ', '\t', '\n', '\r':
				r.off++
			default:
				return true
			}
		}
		if r.eof {
			return false
		}
		r.fill(r.off)
	}
}

// fill drops buf[:keep], which has been read, and reads more after the
// rest; it returns where buf[keep] moved (0).
func (r *Reader) fill(keep int) int {
	r.count(keep)
	n := copy(r.buf, r.buf[keep:])
	r.buf = r.buf[:n]
	r.off -= keep
	r.scanned -= keep
	if cap(r.buf)-len(r.buf) < cap(r.buf)/4 {
		r.buf = append(r.buf, make([]byte, cap(r.buf))...)[:n] // grow: a value larger than the buffer
	}
	for !r.eof {
		m, err := r.r.Read(r.buf[len(r.buf):cap(r.buf)])
		r.buf = r.buf[:len(r.buf)+m]
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.eof = true
			r.err = err
		}
		if m > 0 {
			break
		}
	}
	return 0
}

// count moves line and col past buf[scanned:upto].
func (r *Reader) count(upto int) {
	if upto <= r.scanned {
		return
	}
	b := r.buf[r.scanned:upto]
	if n := bytes.Count(b, []byte{'\n'}); n > 0 {
		r.line += n
		r.col = len(b) - bytes.LastIndexByte(b, '\n')
	} else {
		r.col += len(b)
	}
	r.scanned = upto
}

// pos is the position of buf[i].
func (r *Reader) pos(i int) Pos {
	r.count(i)
	return Pos{r.line, r.col}
}

func (r *Reader) syntax(i int, msg string) error {
	if r.err != nil && !errors.Is(r.err, io.EOF) {
		return r.err // the read failed: say so rather than what it left
	}
	return &SyntaxError{Pos: r.pos(i), Msg: msg}
}
