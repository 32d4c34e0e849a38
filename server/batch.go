package server

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/swar"
	"github.com/leadq/leadq/rules"
)

// element is where a batch element lies in the body: data[start:end].
type element struct{ start, end int }

// splitArray finds the elements of a batch body, `[` value (`,` value)*
// `]` with whitespace around, by matching quotes and brackets, without
// decoding them; ok is false for any other shape. It does not validate
// the elements: each is decoded, and the caller leaves a body with an
// element that is not JSON to encoding/json, to report where it breaks.
func splitArray(data []byte) (elems []element, ok bool) {
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '[' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return []element{}, skipSpace(data, i+1) == len(data)
	}
	for {
		start := i
		end, ok := valueEnd(data, i)
		if !ok || end == start {
			return nil, false
		}
		elems = append(elems, element{start, end})
		i = skipSpace(data, end)
		switch {
		case i == len(data):
			return nil, false
		case data[i] == ',':
			i = skipSpace(data, i+1)
		case data[i] == ']':
			return elems, skipSpace(data, i+1) == len(data)
		default:
			return nil, false
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd returns the end of the value at data[i:]: the first comma,
// closing bracket or space outside strings and at the value's own level.
func valueEnd(data []byte, i int) (int, bool) {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			if i = swar.StringEnd(data, i+1); i == len(data) {
				return 0, false
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
		i++
	}
	return i, depth == 0
}

// decideBatch decides the elements of a batch on every core and returns
// the answer, in parts to write in turn. ok is false, and nothing is
// counted or logged, when an element is not JSON: the caller then leaves
// the body to encoding/json, to say where it breaks.
func (s *Server) decideBatch(ctx context.Context, rs *rules.Ruleset, q query, data []byte, elems []element) (parts [][]byte, ok bool) {
	type result struct {
		d       engine.Decision
		account map[string]any
		code    string // the error's code, when refused
	}
	results := make([]result, len(elems))
	// Each range of elements encodes its answers, comma-separated, into a
	// buffer of its own: the buffers in order are the answer's decisions.
	var mu sync.Mutex
	answers := map[int][]byte{} // by the range's first element
	var broken atomic.Bool
	inParallel(len(elems), func(from, to int) {
		arena := make([]byte, 0, (to-from)*answerSizeHint)
		for i := from; i < to; i++ {
			if broken.Load() {
				return
			}
			if ctx.Err() != nil {
				broken.Store(true) // the client is gone; the slow path says so
				return
			}
			e, res := elems[i], &results[i]
			elem := data[e.start:e.end]
			if i > 0 {
				arena = append(arena, ',')
			}
			d, account, id, err := s.decideData(ctx, rs, q, elem)
			if err != nil {
				if !json.Valid(elem) {
					broken.Store(true)
					return
				}
				_, body := errorResponse(shiftOffset(err, int64(e.start)))
				index := i
				res.code, arena = body.Code, appendItem(arena, nil, &itemError{Index: &index, LeadID: id, Error: body})
				continue
			}
			res.d, res.account, arena = d, account, d.AppendJSON(arena)
		}
		mu.Lock()
		answers[from] = arena
		mu.Unlock()
	})
	if broken.Load() {
		return nil, false
	}
	// Counted and logged once the whole batch is known to be decided.
	failed := 0
	var counts tally
	for i := range results {
		res := &results[i]
		if res.code != "" {
			failed++
			s.metrics.refused(res.code)
			continue
		}
		counts.add(s.metrics, &res.d)
		s.logDecision(res.d, data[elems[i].start:elems[i].end], res.account)
	}
	counts.flush(s.metrics)
	parts = append(parts, batchStart(rs))
	for _, from := range slices.Sorted(maps.Keys(answers)) {
		parts = append(parts, answers[from])
	}
	return append(parts, batchEnd(failed)), true
}

// answerSizeHint is about the size of a full decision's JSON.
const answerSizeHint = 5 << 10
