package jsonscan

// Array walks the elements of a JSON array held in memory, `[` value (`,`
// value)* `]` with whitespace around, finding each with End: quotes and
// brackets are matched, nothing is validated, so an element that is not
// JSON but balances is found whole, for the caller to report in its place.
// Any other shape (a trailing comma, a missing one, data after the array,
// a body cut short) makes it Bad, and the caller leaves the input to
// encoding/json to say where it breaks. It holds no more than its place,
// so a copy walks on from the same place without disturbing the original.
type Array struct {
	data []byte
	i    int  // where the next element starts
	done bool // the closing bracket is passed
	bad  bool // not an array of that shape
}

// NewArray starts walking the array that data holds.
func NewArray(data []byte) Array {
	a := Array{data: data}
	i := Space(data, 0)
	if i == len(data) || data[i] != '[' {
		a.bad = true
		return a
	}
	i = Space(data, i+1)
	if i < len(data) && data[i] == ']' {
		a.close(i)
		return a
	}
	a.i = i
	return a
}

// Next returns the next element, data[start:end]. ok is false at the end
// of the array (Done) and once the input is known not to be an array of
// that shape (Bad).
func (a *Array) Next() (start, end int, ok bool) {
	if a.done || a.bad {
		return 0, 0, false
	}
	start = a.i
	if start == len(a.data) {
		a.bad = true
		return 0, 0, false
	}
	end, complete := End(a.data, start)
	if !complete || end == start {
		a.bad = true
		return 0, 0, false
	}
	switch i := Space(a.data, end); {
	case i == len(a.data):
		a.bad = true // cut short: the element is whole, the array is not
		return 0, 0, false
	case a.data[i] == ',':
		a.i = Space(a.data, i+1)
	case a.data[i] == ']':
		a.close(i)
	default:
		a.bad = true
		return 0, 0, false
	}
	return start, end, true
}

// close passes the closing bracket at data[i]: only whitespace may follow.
func (a *Array) close(i int) {
	a.done = true
	a.bad = Space(a.data, i+1) != len(a.data)
}

// Done reports whether the closing bracket has been passed: the last
// element has been returned.
func (a *Array) Done() bool { return a.done && !a.bad }

// Bad reports whether the input is known not to be an array of that shape.
func (a *Array) Bad() bool { return a.bad }
