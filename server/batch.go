package server

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/jsonscan"
)

// element is where a batch element lies in the body: data[start:end].
type element struct{ start, end int }

// arraySplitter walks the elements of a batch body with jsonscan.Array,
// which matches quotes and brackets without validating the elements: each
// is decoded, and an element that is not JSON is an error in its place.
// Any body that is not `[` value (`,` value)* `]` with whitespace around is
// left to encoding/json, to report where it breaks. It finds the elements
// a chunk at a time, so that a batch of any length needs the memory of a
// chunk; a copy of it walks on from the same place.
type arraySplitter struct{ a jsonscan.Array }

func newArraySplitter(data []byte) arraySplitter { return arraySplitter{jsonscan.NewArray(data)} }

// next appends up to max more elements to dst; ok is false once the body
// is known not to be an array of that shape.
func (sp *arraySplitter) next(dst []element, max int) (elems []element, ok bool) {
	for n := 0; n < max; n++ {
		start, end, ok := sp.a.Next()
		if !ok {
			break
		}
		dst = append(dst, element{start, end})
	}
	return dst, !sp.a.Bad()
}

// splitter finds a batch's elements a chunk at a time: arraySplitter, or
// sliceSplitter for those encoding/json found.
type splitter interface {
	next(dst []element, max int) (elems []element, ok bool)
	finished() bool
	// shapeOK walks the rest without moving on: whether the body is an
	// array of that shape to its end.
	shapeOK() bool
}

func (sp *arraySplitter) finished() bool { return sp.a.Done() }

func (sp *arraySplitter) shapeOK() bool {
	rest := sp.a // a copy: sp stays where it is
	for {
		if _, _, ok := rest.Next(); !ok {
			return !rest.Bad()
		}
	}
}

// sliceSplitter gives elements encoding/json has found, and so validated.
type sliceSplitter struct{ elems []element }

func (sp *sliceSplitter) next(dst []element, max int) ([]element, bool) {
	k := min(max, len(sp.elems))
	dst = append(dst, sp.elems[:k]...)
	sp.elems = sp.elems[k:]
	return dst, true
}

func (sp *sliceSplitter) finished() bool { return len(sp.elems) == 0 }
func (sp *sliceSplitter) shapeOK() bool  { return true }

var errBatchShape = errors.New("batch: an array whose shape was checked is not of that shape")

// batchChunk is how many elements of a batch are decided and encoded at a
// time. The answer is held a chunk at a time, never whole: a full decision
// is 4-5 KB of JSON, so the answer to a 1 MiB batch of empty leads would be
// 2 GB, and a batch of any size now needs the memory of one chunk.
const batchChunk = 64

// writeBatch decides the elements of a batch that sp finds, a chunk at a
// time on every core, and writes the answer. A batch of one chunk is
// answered whole, with its length; a longer one is written chunk by chunk
// (Transfer-Encoding: chunked). An element that is not JSON is an error in
// its place, like one that is not a lead: its quotes and brackets balance,
// so the elements around it are whole. ok is false, and nothing is
// counted, logged or written, when the body is not an array of that shape
// (the caller then leaves it to encoding/json, to say where it breaks) or
// ctx ends before the answer starts. If ctx ends once the answer has
// started (the client went away, or the timeout), the connection is
// aborted, so that no client takes part of an answer for the whole.
func (s *Server) writeBatch(ctx context.Context, w http.ResponseWriter, rs *engine.Ruleset, q query, data []byte, sp splitter) (ok bool) {
	first, ok := sp.next(nil, batchChunk)
	if !ok {
		return false
	}
	// The whole array's shape is known before anything is answered.
	if !sp.finished() && !sp.shapeOK() {
		return false
	}
	c, ok := s.decideElems(ctx, rs, q, data, first, 0, nil)
	if !ok {
		return false
	}
	if sp.finished() {
		s.recordChunk(ctx, rs, c, data, first)
		writeBody(w, append(append([][]byte{batchStart(rs)}, c.parts...), batchEnd(c.failed))...)
		return true
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	failed := 0
	write := func(parts ...[]byte) {
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				panic(http.ErrAbortHandler) // the client is gone
			}
		}
	}
	write(batchStart(rs))
	for n := 0; ; {
		s.recordChunk(ctx, rs, c, data, first)
		failed += c.failed
		write(c.parts...)
		n += len(first)
		if sp.finished() {
			break
		}
		if first, ok = sp.next(first[:0], batchChunk); !ok {
			panic(errBatchShape) // a bug: the array's shape was checked
		}
		if c, ok = s.decideElems(ctx, rs, q, data, first, n, c); !ok {
			panic(http.ErrAbortHandler) // the request's context ended
		}
	}
	write(batchEnd(failed))
	return true
}

// batchChunkResult is a chunk of a batch, decided: its answer in parts to
// write in turn, and what to count and log. The next chunk of the batch is
// decided into it once it is written, counted and logged: its decisions
// are reused (engine.Ruleset.ScoreJSONInto), one for each place in a chunk,
// and so are the buffers its answer was encoded in.
type batchChunkResult struct {
	parts   [][]byte
	results []batchResult
	failed  int
	arenas  map[int][]byte // parts by the first element of their range of the chunk
}

type batchResult struct {
	d    engine.Decision
	code string  // the error's code, when refused
	req  decided // what the log keeps of the request
}

// decideElems decides the elements of a batch's chunk on every core; base is
// the index of the first in the batch. It reuses reuse, the batch's
// previous chunk, once that is written, counted and logged (nil for the
// first). ok is false when ctx ends.
func (s *Server) decideElems(ctx context.Context, rs *engine.Ruleset, q query, data []byte, elems []element, base int, reuse *batchChunkResult) (c *batchChunkResult, ok bool) {
	c = reuse
	if c == nil || cap(c.results) < len(elems) {
		c = &batchChunkResult{results: make([]batchResult, len(elems))}
	}
	c.parts, c.failed = c.parts[:0], 0
	results := c.results[:len(elems)]
	c.results = results
	// Each range of elements encodes its answers, comma-separated, into a
	// buffer of its own: the buffers in order are the answer's decisions.
	// A range reuses the buffer of the range that began at the same
	// element of the previous chunk: a full answer outgrows
	// answerSizeHint, and growing a new buffer for each chunk cost more
	// bytes than the decisions.
	var mu sync.Mutex
	previous := c.arenas                           // read, never written, while the ranges run
	answers := make(map[int][]byte, len(previous)) // by the range's first element
	var broken atomic.Bool
	inParallel(len(elems), func(from, to int) {
		arena := previous[from][:0]
		if cap(arena) < (to-from)*answerSizeHint {
			arena = make([]byte, 0, (to-from)*answerSizeHint)
		}
		for i := from; i < to; i++ {
			if broken.Load() {
				return
			}
			if ctx.Err() != nil {
				broken.Store(true) // the client is gone, or the time is up
				return
			}
			e, res := elems[i], &results[i]
			res.code, res.req = "", decided{} // the decision, res.d, is reused
			elem := data[e.start:e.end]
			if base+i > 0 {
				arena = append(arena, ',')
			}
			req, id, err := s.decideData(ctx, rs, q, elem, &res.d)
			if err != nil && ctx.Err() != nil {
				broken.Store(true) // the time is up, or the client gone
				return
			}
			if err != nil {
				_, body := errorResponse(shiftOffset(err, int64(e.start)))
				index := base + i
				res.code, arena = body.Code, appendItem(arena, rs, nil, &itemError{Index: &index, LeadID: id, Error: body})
				continue
			}
			res.req, arena = req, rs.AppendJSON(arena, &res.d)
		}
		mu.Lock()
		answers[from] = arena
		mu.Unlock()
	})
	if broken.Load() {
		return nil, false
	}
	c.arenas = answers
	for _, from := range slices.Sorted(maps.Keys(answers)) {
		c.parts = append(c.parts, answers[from])
	}
	for i := range results {
		if results[i].code != "" {
			c.failed++
		}
	}
	return c, true
}

// recordChunk counts and logs the decisions of a chunk, once the batch is known
// to be answered.
func (s *Server) recordChunk(ctx context.Context, rs *engine.Ruleset, c *batchChunkResult, data []byte, elems []element) {
	var counts tally
	for i := range c.results {
		res := &c.results[i]
		if res.code != "" {
			s.metrics.refused(res.code)
			continue
		}
		counts.add(s.metrics, &res.d)
		s.logDecision(ctx, rs, &res.d, res.req)
	}
	counts.flush(s.metrics)
}

// answerSizeHint is about the size of a full decision's JSON,
// briefAnswerSizeHint of a brief one's.
const (
	answerSizeHint      = 5 << 10
	briefAnswerSizeHint = 1 << 10
)
