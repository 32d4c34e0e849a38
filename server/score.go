package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leadq/leadq/engine"
)

// score decides one lead: POST /v1/score[?ruleset=NAME][&strict=true] with
// the engine.ParseInput format, answered by the decision.
func (s *Server) score(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	if err := checkContentType(r, jsonTypes); err != nil {
		return err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	rs, err := s.ruleset(q.ruleset)
	if err != nil {
		return err
	}
	var d engine.Decision
	if _, err := s.scoreData(r.Context(), rs, q, data, nil, &d); err != nil {
		_, body := errorResponse(err)
		s.metrics.refused(body.Code)
		return err
	}
	w.Header().Set("X-Decision-Id", d.ID)
	s.writeDecision(w, rs, &d)
	return nil
}

// writeDecision answers with one decision of rs, encoded without
// reflection into a buffer an earlier answer left (Server.responseBufs).
func (s *Server) writeDecision(w http.ResponseWriter, rs *engine.Ruleset, d *engine.Decision) {
	bp, ok := s.responseBufs.Get().(*[]byte)
	if !ok {
		bp = new([]byte)
	}
	buf := append(rs.AppendJSON((*bp)[:0], d), '\n')
	writeBody(w, buf) // copies into the connection's buffer: buf can be reused
	if cap(buf) <= maxPooledResponse {
		*bp = buf
		s.responseBufs.Put(bp)
	}
}

// maxPooledResponse is the largest answer buffer kept for the next single
// decision (a full decision is 4-5 KB; one with a huge lead is left to the
// collector).
const maxPooledResponse = 64 << 10

// appendItem appends a batch element or stream line: a decision of rs, or
// an itemError, encoded as encoding/json would without HTML escaping.
func appendItem(b []byte, rs *engine.Ruleset, d *engine.Decision, item *itemError) []byte {
	if item == nil {
		return rs.AppendJSON(b, d)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(item) // our own type: always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// itemError is an element of a batch (Index, from 0) or a line of a stream
// (Line, from 1) that could not be decided; the others still are.
type itemError struct {
	Index  *int     `json:"index,omitempty"`
	Line   int      `json:"line,omitempty"`
	LeadID string   `json:"lead_id,omitempty"`
	Error  apiError `json:"error"`
}

// scoreBatch decides a JSON array of leads against one ruleset version:
// POST /v1/score/batch. An element that is not a lead, or that strict mode
// refuses, is an error in its place; the others are decided. JSON that does
// not parse fails the whole request, since nothing after the error can be
// trusted.
func (s *Server) scoreBatch(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	if err := checkContentType(r, jsonTypes); err != nil {
		return err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if err := engine.CheckDepth(data, maxDepth); err != nil {
		return err
	}
	// One version decides the whole batch, whatever reloads meanwhile.
	rs, err := s.ruleset(q.ruleset)
	if err != nil {
		return err
	}
	sp := newArraySplitter(data)
	if s.writeBatch(r.Context(), w, rs, q, data, &sp) {
		return nil
	}
	if err := r.Context().Err(); err != nil {
		return err
	}
	// Not an array whose quotes and brackets balance: encoding/json finds
	// the exact error.
	return s.scoreBatchSlowly(r.Context(), w, rs, q, data)
}

// scoreBatchSlowly is scoreBatch with encoding/json splitting the array,
// for the bodies arraySplitter and the decoder do not take: it says precisely
// what is wrong with them, and decides nothing of a body that is not JSON.
func (s *Server) scoreBatchSlowly(ctx context.Context, w http.ResponseWriter, rs *engine.Ruleset, q query, data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil && !errors.Is(err, io.EOF) {
			return &engine.InputError{Offset: dec.InputOffset(), Message: "malformed JSON: " + err.Error()}
		}
		return &engine.InputError{Message: "expected a JSON array of leads"}
	}
	elems := []element{}
	for dec.More() {
		start := int(elementStart(data, dec.InputOffset())) - 1
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonSyntax(err, dec.InputOffset())
		}
		elems = append(elems, element{start, start + len(raw)})
	}
	if _, err := dec.Token(); err != nil {
		return jsonSyntax(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return &engine.InputError{Offset: dec.InputOffset(), Message: "unexpected data after the JSON array"}
	}
	if !s.writeBatch(ctx, w, rs, q, data, &sliceSplitter{elems}) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("batch: an element encoding/json read is not JSON") // a bug: a 500
	}
	return nil
}

// batchStart and batchEnd are what comes before and after a batch's
// decisions. Batch answers are written by hand around AppendJSON:
// encoding/json would spend more on the decisions than deciding them costs.
func batchStart(rs *engine.Ruleset) []byte {
	ref, _ := json.Marshal(engine.RulesetRef{Name: rs.Name, Version: rs.Version})
	return append(append([]byte(`{"ruleset":`), ref...), `,"decisions":[`...)
}

func batchEnd(failed int) []byte {
	out := strconv.AppendInt([]byte(`],"failed":`), int64(failed), 10)
	return append(out, "}\n"...)
}

// writeBody answers 200 with a JSON body, given in parts, and its length.
// A known length is written as is; without it, net/http chunks any
// response over 2 KB, and a full decision is 4-5 KB.
func writeBody(w http.ResponseWriter, parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return // the client is gone
		}
	}
}

// elementStart is the offset of the next array element at or after off,
// counted like encoding/json's offsets (bytes read through its first byte).
func elementStart(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off + 1
}

// shiftOffset makes the byte offset of an element's input error an
// offset in the whole body.
func shiftOffset(err error, by int64) error {
	var ie *engine.InputError
	if errors.As(err, &ie) && ie.Offset > 0 {
		shifted := *ie
		shifted.Offset += by
		return &shifted
	}
	return err
}

// scoreStream decides NDJSON: POST /v1/score/stream, one lead per line, and
// answers one line per non-blank input line, in order: the decision, or an
// itemError naming the line. A bad line never ends the stream; each line is
// decided by the version live when it is read. Output is flushed whenever
// the input has nothing more buffered, so an interactive client gets each
// answer at once and a bulk client gets full packets.
func (s *Server) scoreStream(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	if err := checkContentType(r, ndjsonTypes); err != nil {
		return err
	}
	if _, err := s.ruleset(q.ruleset); err != nil {
		return err // fail before the first line if no line can succeed
	}
	rc := http.NewResponseController(w)
	// HTTP/1.1 stops reading a request once the response starts, unless
	// told otherwise; HTTP/2 is always full duplex.
	_ = rc.EnableFullDuplex()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)

	lines := &lineReader{br: bufio.NewReaderSize(r.Body, 64<<10), max: s.maxBody}
	out := bufio.NewWriterSize(w, 32<<10)
	ctx := r.Context()
	// On shutdown (Drain) the stream stops at its next chunk: it answers
	// the lines it has read and says it is shutting down. A read waiting
	// for an idle client is ended by a deadline, a moment later, unless
	// the stream stopped by itself meanwhile (a busy stream reaches its
	// next chunk within milliseconds, and ending a read by a deadline
	// breaks the request's body).
	handled := make(chan struct{})
	var stopped atomic.Bool
	defer close(handled)
	go func() {
		select {
		case <-s.draining:
		case <-handled:
			return
		}
		select {
		case <-time.After(drainWait):
			if !stopped.Load() {
				_ = rc.SetReadDeadline(time.Now())
			}
		case <-handled:
		}
	}()
	shutDown := func(n int) {
		stopped.Store(true)
		_, body := errorResponse(errShuttingDown(n))
		out.Write(append(appendItem(nil, nil, nil, &itemError{Line: n, Error: body}), '\n'))
		flush(out, rc, s.timeout)
		// What the client still sends is read and dropped until it stops
		// (it has the last line) or for a moment: closing a connection
		// with input unread resets it, and the reset destroys the answers
		// the client has not read yet, the last line among them.
		_ = rc.SetReadDeadline(time.Now().Add(drainDiscard))
		io.Copy(io.Discard, lines.br)
	}
	c := s.streamChunk()
	defer s.putStreamChunk(c) // out has copied every answer it was given
	for n := 1; ctx.Err() == nil; {
		if s.isDraining() {
			shutDown(n)
			break
		}
		// Gather the lines already here (at least one, waiting for it),
		// decide them on every core, and write the answers in order.
		c.reset()
		var readErr error
		for len(c.lines) < streamChunkMax {
			if len(c.lines) > 0 && lines.br.Buffered() == 0 {
				break
			}
			if len(c.lines) == 0 {
				if lines.br.Buffered() == 0 {
					if err := flush(out, rc, s.timeout); err != nil {
						return nil // the client is gone; nothing to tell it
					}
				}
				// The chunk's first line may wait for the client; the others
				// are buffered but for the end of the last, so one deadline
				// a chunk bounds the wait for each line.
				_ = rc.SetReadDeadline(time.Now().Add(s.timeout))
			}
			line, tooLong, err := lines.next()
			if err != nil {
				readErr = err
				break
			}
			if !tooLong && len(bytes.TrimSpace(line)) == 0 {
				n++
				continue
			}
			c.add(n, line, tooLong)
			n++
		}
		// The decision log may hold a chunk (--log-overflow block) for up
		// to the time limit of a line, never longer.
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		s.decideChunk(cctx, q, c)
		cancel()
		// Writing the answers (the buffer fills and goes out) gets its own
		// time limit: deciding may have waited for the log, past the
		// deadline of the last flush.
		_ = rc.SetWriteDeadline(time.Now().Add(s.timeout))
		for i := range c.lines {
			if _, err := out.Write(c.outs[i]); err != nil {
				return nil
			}
		}
		if readErr != nil {
			switch {
			case errors.Is(readErr, io.EOF):
			case s.isDraining():
				shutDown(n)
			default:
				// The body broke off (timeout, disconnect): say so on the
				// last line, if anyone is listening.
				_, body := errorResponse(bodyError(fmt.Errorf("read line %d: %w", n, readErr), r.ContentLength))
				out.Write(append(appendItem(nil, nil, nil, &itemError{Line: n, Error: body}), '\n'))
			}
			break
		}
	}
	flush(out, rc, s.timeout)
	return nil
}

// drainDiscard is how long a stream ended by shutdown keeps reading and
// dropping what the client still sends, so that its answer arrives whole:
// a client stops sending once it has read the last line, and one that
// reads slowly may have megabytes of answers before it (2 s cut the fleet
// test's answer short on a loaded machine); a client that never stops
// holds the exit this long, well within the grace period.
// drainWait is how long Drain leaves a stream to stop by itself before it
// ends a read that waits for the client.
const (
	drainDiscard = 5 * time.Second
	drainWait    = 200 * time.Millisecond
)

// errShuttingDown is the last line of a stream cut by shutdown: every line
// before line n was answered; n and the rest were not read.
func errShuttingDown(n int) error {
	return &httpError{status: http.StatusServiceUnavailable, code: "shutting_down",
		msg: fmt.Sprintf("the server is shutting down: the lines before line %d were answered; send line %d and the rest again", n, n)}
}

// streamChunkMax bounds how many buffered lines a stream decides at once.
const streamChunkMax = 512

// streamChunk is a run of stream lines and their encoded answers. Lines are
// copied into one arena, since the reader reuses its buffer. A stream
// reuses one from chunk to chunk, and the next stream reuses it
// (Server.streamChunks): each answer's buffer grows to a decision's size
// (4-8 KB in full) once, and growing 512 of them was half the bytes a
// 10,000-lead stream allocated.
type streamChunk struct {
	arena []byte
	lines []streamLine
	outs  [][]byte
}

type streamLine struct {
	n          int // line number, from 1
	start, end int // in arena
	tooLong    bool
}

// streamChunk returns a stream's chunk, one a finished stream left if any.
func (s *Server) streamChunk() *streamChunk {
	if c, ok := s.streamChunks.Get().(*streamChunk); ok {
		return c
	}
	return new(streamChunk)
}

// putStreamChunk keeps c for the next stream, unless a line made its
// arena large (a line may be up to maxBody); of its answers' buffers it
// keeps those no larger than maxPooledResponse (a huge lead's answer, its
// id echoed, is left to the collector, as writeDecision leaves it).
func (s *Server) putStreamChunk(c *streamChunk) {
	if cap(c.arena) > maxPooledArena {
		return
	}
	for i := range c.outs {
		if cap(c.outs[i]) > maxPooledResponse {
			c.outs[i] = nil // decideChunk sizes a new one
		}
	}
	c.reset()
	s.streamChunks.Put(c)
}

// maxPooledArena is the largest line arena kept for the next stream: 512
// lines of leads are 250-500 KB.
const maxPooledArena = 4 << 20

func (c *streamChunk) reset() {
	c.arena, c.lines = c.arena[:0], c.lines[:0]
}

func (c *streamChunk) add(n int, line []byte, tooLong bool) {
	start := len(c.arena)
	c.arena = append(c.arena, line...)
	c.lines = append(c.lines, streamLine{n: n, start: start, end: len(c.arena), tooLong: tooLong})
}

// decideChunk decides every line of c into c.outs, splitting the work
// across GOMAXPROCS goroutines when there is enough of it. Each goroutine
// decides its lines into one Decision, reused from line to line: a line's
// decision is encoded, counted and logged before the next is decided, and
// none of those keeps any of it (the tally and the log keep strings, the
// log's row its own copies).
func (s *Server) decideChunk(ctx context.Context, q query, c *streamChunk) {
	hint := answerSizeHint // a new answer's buffer is sized once, not grown
	if q.brief {
		hint = briefAnswerSizeHint
	}
	for len(c.outs) < len(c.lines) {
		c.outs = append(c.outs, make([]byte, 0, hint))
	}
	one := func(i int, t *tally, d *engine.Decision) {
		l := c.lines[i]
		buf := c.outs[i][:0]
		if buf == nil { // dropped by putStreamChunk
			buf = make([]byte, 0, hint)
		}
		if l.tooLong {
			_, body := errorResponse(&httpError{status: http.StatusRequestEntityTooLarge, code: "line_too_long",
				msg: fmt.Sprintf("line %d is longer than the limit of %d bytes", l.n, s.maxBody)})
			buf = appendItem(buf, nil, nil, &itemError{Line: l.n, Error: body})
		} else {
			rs, id, err := s.scoreLine(ctx, q, c.arena[l.start:l.end], t, d)
			if err != nil {
				_, body := errorResponse(err)
				buf = appendItem(buf, nil, nil, &itemError{Line: l.n, LeadID: id, Error: body})
				s.metrics.refused(body.Code)
			} else {
				buf = appendItem(buf, rs, d, nil)
			}
		}
		c.outs[i] = append(buf, '\n')
	}
	inParallel(len(c.lines), func(from, to int) {
		var t tally
		var d engine.Decision
		for i := from; i < to; i++ {
			one(i, &t, &d)
		}
		t.flush(s.metrics)
	})
}

// inParallel calls work over [0, n) split in a range per core, and
// returns when all are done; on one core, or for little work, it calls
// work once, on this goroutine.
func inParallel(n int, work func(from, to int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 || n < 2*workers {
		work(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for from := 0; from < n; from += per {
		wg.Go(func() { work(from, min(from+per, n)) })
	}
	wg.Wait()
}

// scoreLine decides one line of a stream into *d with the version live
// now, which it returns to encode the decision with.
func (s *Server) scoreLine(ctx context.Context, q query, line []byte, t *tally, d *engine.Decision) (*engine.Ruleset, string, error) {
	rs, err := s.ruleset(q.ruleset)
	if err != nil {
		return nil, "", err
	}
	id, err := s.scoreData(ctx, rs, q, line, t, d)
	return rs, id, err
}

// scoreData decides one lead's JSON (a body, a batch element, a stream
// line) against rs into *d, and counts and logs the decision. On error, id
// is the lead's id when the JSON has one. Decisions are counted in t (nil:
// in the shared counters). The decision is written in place, not
// returned: it is some 400 bytes, and each layer copied it.
func (s *Server) scoreData(ctx context.Context, rs *engine.Ruleset, q query, data []byte, t *tally, d *engine.Decision) (string, error) {
	req, id, err := s.decideData(ctx, rs, q, data, d)
	if err != nil {
		return id, err
	}
	t.add(s.metrics, d)
	s.logDecision(ctx, rs, d, req)
	return "", nil
}

// decided is what the decision log keeps of a decided request beside the
// decision (decisionlog.Entry).
type decided struct {
	input   []byte         // the request scored: the body, or the body read through an input map
	account map[string]any // the account the engine resolved for it, if any
	email   string         // the lead's email, as the engine read it
}

// decideData is scoreData without counting or logging: it sets *d to the
// decision and returns what the log keeps of the request, or the error and
// the lead's id.
// JSON nested deeper than maxDepth is refused; the engine checks it only
// when its own decoder gives up on a request, which reads the declared
// fields and stops at maxDepth, so the bytes of a lead are scanned once.
func (s *Server) decideData(ctx context.Context, rs *engine.Ruleset, q query, payload []byte, d *engine.Decision) (req decided, id string, err error) {
	data, err := s.mapInput(rs.Ruleset, q, payload)
	if err != nil {
		return decided{}, "", err
	}
	req, err = s.scoreResolving(ctx, rs, s.options(q), data, d)
	if err == nil && ctx.Err() != nil {
		// The request's time ran out, or its client went away, while
		// deciding: the conditions' loops stopped and their rules
		// errored, so the answer is the timeout, not that decision.
		err = ctx.Err()
	}
	if err != nil {
		if engine.CheckDepth(data, maxDepth) != nil {
			return decided{}, "", err // deep nesting is not decoded, not even for the id
		}
		return decided{}, leadID(data), err
	}
	d.ID = s.newID()
	return req, "", nil
}

// flush sends what is buffered to the client, within the timeout.
func flush(out *bufio.Writer, rc *http.ResponseController, timeout time.Duration) error {
	if out.Buffered() == 0 {
		return nil
	}
	_ = rc.SetWriteDeadline(time.Now().Add(timeout))
	if err := out.Flush(); err != nil {
		return err
	}
	return rc.Flush()
}

func jsonSyntax(err error, offset int64) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		offset = syn.Offset
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &engine.InputError{Offset: offset, Message: "malformed JSON: unexpected end of the array"}
	}
	return &engine.InputError{Offset: offset, Message: "malformed JSON: " + err.Error()}
}

// leadID finds the id of a lead that could not be decided, for its error;
// only failures pay for this second parse.
func leadID(data []byte) string {
	if in, err := engine.ParseInput(data); err == nil {
		return in.ID
	}
	var doc struct {
		ID     any `json:"id"`
		LeadID any `json:"lead_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // an id 12345678901234567890 is that text, as ParseInput reads it
	if dec.Decode(&doc) == nil {
		for _, v := range []any{doc.ID, doc.LeadID} {
			switch id := v.(type) {
			case string:
				if id != "" {
					return id
				}
			case json.Number:
				return id.String()
			}
		}
	}
	return ""
}
