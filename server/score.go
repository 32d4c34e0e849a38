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
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
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
	rs, err := s.eng.Ruleset(q.ruleset)
	if err != nil {
		return err
	}
	d, _, err := s.scoreData(r.Context(), rs, q.strict, data)
	if err != nil {
		_, body := errorResponse(err)
		s.metrics.refused(body.Code)
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// batchResponse is the answer to a batch: one entry per input element, in
// order, each a decision or an itemError.
type batchResponse struct {
	Ruleset   engine.RulesetRef `json:"ruleset"`
	Decisions []any             `json:"decisions"`
	Failed    int               `json:"failed"`
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
	if err := checkDepth(data, maxDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		if err != nil && !errors.Is(err, io.EOF) {
			return &engine.InputError{Offset: dec.InputOffset(), Message: "malformed JSON: " + err.Error()}
		}
		return &engine.InputError{Message: "expected a JSON array of leads"}
	}
	// One version decides the whole batch, whatever reloads meanwhile.
	rs, err := s.eng.Ruleset(q.ruleset)
	if err != nil {
		return err
	}
	resp := batchResponse{Ruleset: engine.RulesetRef{Name: rs.Name, Version: rs.Version}, Decisions: []any{}}
	ctx := r.Context()
	for i := 0; dec.More(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := elementStart(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return jsonSyntax(err, dec.InputOffset())
		}
		d, id, err := s.scoreData(ctx, rs, q.strict, raw)
		if err != nil {
			_, body := errorResponse(shiftOffset(err, start-1))
			index := i
			resp.Decisions = append(resp.Decisions, itemError{Index: &index, LeadID: id, Error: body})
			resp.Failed++
			s.metrics.refused(body.Code)
			continue
		}
		resp.Decisions = append(resp.Decisions, d)
	}
	if _, err := dec.Token(); err != nil {
		return jsonSyntax(err, dec.InputOffset())
	}
	if _, err := dec.Token(); err != io.EOF {
		return &engine.InputError{Offset: dec.InputOffset(), Message: "unexpected data after the JSON array"}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
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
	if _, err := s.eng.Ruleset(q.ruleset); err != nil {
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
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	ctx := r.Context()
	for n := 1; ctx.Err() == nil; n++ {
		if lines.br.Buffered() == 0 {
			if err := flush(out, rc, s.timeout); err != nil {
				return nil // the client is gone; nothing to tell it
			}
		}
		_ = rc.SetReadDeadline(time.Now().Add(s.timeout))
		line, tooLong, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The body broke off (timeout, disconnect): say so on the
			// last line, if anyone is listening.
			_, body := errorResponse(fmt.Errorf("read line %d: %w", n, err))
			enc.Encode(itemError{Line: n, Error: body})
			flush(out, rc, s.timeout)
			return nil
		}
		var item any
		switch {
		case tooLong:
			_, body := errorResponse(&httpError{status: http.StatusRequestEntityTooLarge, code: "line_too_long",
				msg: fmt.Sprintf("line %d is longer than the limit of %d bytes", n, s.maxBody)})
			item = itemError{Line: n, Error: body}
		case len(bytes.TrimSpace(line)) == 0:
			continue
		default:
			d, id, err := s.scoreLine(ctx, q, line)
			if err != nil {
				_, body := errorResponse(err)
				item = itemError{Line: n, LeadID: id, Error: body}
				s.metrics.refused(body.Code)
			} else {
				item = d
			}
		}
		if err := enc.Encode(item); err != nil {
			return nil
		}
	}
	flush(out, rc, s.timeout)
	return nil
}

// scoreLine decides one line of a stream with the version live now.
func (s *Server) scoreLine(ctx context.Context, q query, line []byte) (engine.Decision, string, error) {
	rs, err := s.eng.Ruleset(q.ruleset)
	if err != nil {
		return engine.Decision{}, "", err
	}
	return s.scoreData(ctx, rs, q.strict, line)
}

// scoreData decides one lead's JSON (a body, a batch element, a stream
// line) against rs. On error, id is the lead's id when the JSON has one.
func (s *Server) scoreData(ctx context.Context, rs *rules.Ruleset, strict bool, data []byte) (d engine.Decision, id string, err error) {
	if err := checkDepth(data, maxDepth); err != nil {
		return d, "", err
	}
	if d, err = s.eng.ScoreJSONWith(ctx, rs, data, strict); err != nil {
		return d, leadID(data), err
	}
	s.metrics.decided(&d)
	return d, "", nil
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
	if json.Unmarshal(data, &doc) == nil {
		for _, v := range []any{doc.ID, doc.LeadID} {
			if id, ok := v.(string); ok {
				return id
			}
		}
	}
	return ""
}
