package jsonscan

import (
	"bytes"
	"encoding/json"
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
// objects in a row), in bounded memory. A UTF-8 byte order mark at the
// start of the stream, which some Windows tools write, is skipped (RFC
// 8259 lets a parser ignore it). Create it with NewReader.
//
// In a sequence, a bad line does not hide the lines after it: a value that
// is not JSON (a line cut short, a quote left open, binary garbage) is
// returned as the rest of its line, for the caller to decode and report
// in its place, and the next value is looked for on the next line; a line
// longer than MaxValue that holds no value is a *LongLineError, and the
// lines after it are read. JSON whose strings hold no raw line breaks, a
// value found whole by Skip, may span lines. An array's elements are found
// with End: one that breaks off ends the stream with a *SyntaxError.
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

// LongLineError is a line of a sequence that holds no value of at most
// MaxValue bytes: Next passed over it, and reads on from the next line.
type LongLineError struct{ Pos Pos }

func (e *LongLineError) Error() string {
	return fmt.Sprintf("%v: this line is longer than %d MiB and holds no value shorter; skipped to the next line", e.Pos, MaxValue>>20)
}

// NewReader reads values from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, buf: make([]byte, 0, 64<<10), line: 1, col: 1}
}

// Array reports whether the stream is a JSON array; it is known once Next
// has returned a value or io.EOF.
func (r *Reader) Array() bool { return r.array }

// Next returns the next value and where it starts. The value is valid
// until the next call. At the end of the stream it returns io.EOF; an
// array that breaks off, or data after it, gives a *SyntaxError, and so
// does every later call. A *LongLineError is of one line: the next call
// goes on with the next.
func (r *Reader) Next() ([]byte, Pos, error) {
	if r.err != nil {
		return nil, r.pos(r.off), r.err
	}
	v, p, err := r.next()
	if errors.Is(err, io.EOF) && r.err != nil {
		err = r.err // a failed read (a directory, an I/O error) is not the end
	}
	var long *LongLineError
	if err != nil && (!errors.As(err, &long) || r.err != nil) {
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
	if !r.array {
		return r.value()
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

// value reads the value of a sequence that starts at buf[off]: the whole
// value when it is JSON (Skip), over several lines when it is
// pretty-printed; else the rest of its line, whose decoder says what is
// wrong with it, and the next value is looked for on the next line. A
// value that does not end on its line is read on only while encoding/json
// could still complete it: a line cut short, or a quote left open, is
// found by the next line or two, not by reading the rest of the stream.
func (r *Reader) value() ([]byte, Pos, error) {
	start := r.off
	for {
		end, ok := Skip(r.buf, start, maxNesting)
		if ok && end-start > MaxValue {
			return r.longLine(start)
		}
		if ok && (end < len(r.buf) || r.eof || !bare(r.buf[start])) {
			r.off = end // a bare value at the end of buf may go on
			return r.buf[start:end], r.pos(start), nil
		}
		if !ok && (end < len(r.buf) || r.eof) {
			return r.badLine(start)
		}
		if !ok && bytes.IndexByte(r.buf[start:], '\n') >= 0 && !goesOn(r.buf[start:]) {
			return r.badLine(start)
		}
		if len(r.buf)-start > MaxValue {
			return r.longLine(start)
		}
		start = r.fill(start)
	}
}

// maxNesting is how deep Reader lets a value nest: its decoder refuses it
// in its place (Skip then costs a bit per level).
const maxNesting = 1 << 30

// bare reports whether c starts a value that is not a string, object or
// array: a number or literal, whose end is known only from what follows.
func bare(c byte) bool { return c != '"' && c != '{' && c != '[' }

// goesOn reports whether b, which holds no whole JSON value, is the start
// of one: encoding/json reads it to its end without finding an error.
// Only values that do not end on their line are looked at again by it.
func goesOn(b []byte) bool {
	var v json.RawMessage
	return errors.Is(json.NewDecoder(bytes.NewReader(b)).Decode(&v), io.ErrUnexpectedEOF)
}

// badLine returns the rest of the line that starts at buf[start], trailing
// spaces and a carriage return left out, and moves off to its end.
func (r *Reader) badLine(start int) ([]byte, Pos, error) {
	for {
		if i := bytes.IndexByte(r.buf[start:], '\n'); i >= 0 || r.eof {
			end := len(r.buf)
			if i >= 0 {
				end = start + i
			}
			r.off = end
			return bytes.TrimRight(r.buf[start:end], " \t\r"), r.pos(start), nil
		}
		if len(r.buf)-start > MaxValue {
			return r.longLine(start)
		}
		start = r.fill(start)
	}
}

// longLine passes over the line that starts at buf[start], longer than
// MaxValue, reading and dropping it, and returns a *LongLineError.
func (r *Reader) longLine(start int) ([]byte, Pos, error) {
	p := r.pos(start)
	for {
		if i := bytes.IndexByte(r.buf[start:], '\n'); i >= 0 {
			r.off = start + i
			break
		}
		if r.eof {
			r.off = len(r.buf)
			break
		}
		start = r.fill(len(r.buf)) // drops what was read: memory stays bounded
	}
	return nil, p, &LongLineError{Pos: p}
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
