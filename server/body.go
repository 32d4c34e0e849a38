package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Media types a request body may be declared as. A missing Content-Type is
// taken as JSON.
var (
	jsonTypes   = []string{"application/json"}
	ndjsonTypes = []string{"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json"}
)

// utf8Charset reports whether a body in charset cs is UTF-8: US-ASCII,
// which some clients declare for JSON, is a part of it.
func utf8Charset(cs string) bool {
	for _, name := range []string{"utf-8", "utf8", "us-ascii", "ascii"} {
		if strings.EqualFold(cs, name) {
			return true
		}
	}
	return false
}

// checkContentType refuses a body declared as anything but the given types
// (or application/<anything>+json where JSON is accepted).
//
// The body is read as it arrives, in UTF-8 (RFC 8259): a body compressed
// (Content-Encoding) or declared in another charset is refused, where it
// was read as malformed JSON or had its text changed (Latin-1 "Café" read
// as "Caf\ufffd").
func checkContentType(r *http.Request, accepted []string) error {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("Content-Encoding %q is not accepted; send the body uncompressed", ce)}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if cs := params["charset"]; err == nil && cs != "" && !utf8Charset(cs) {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: fmt.Sprintf("charset %q is not accepted; send UTF-8 (Content-Type: %s; charset=utf-8)", cs, mt)}
	}
	if err == nil {
		for _, a := range accepted {
			if mt == a || (a == "application/json" && strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
				return nil
			}
		}
	}
	return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		msg: fmt.Sprintf("Content-Type %q is not accepted here; send %s", ct, strings.Join(accepted, " or "))}
}

// query is what a scoring request says in its URL.
type query struct {
	ruleset string
	strict  bool
	brief   bool // ?detail=brief: verdict, tier, score and knockouts, no reasons
	// ?map=NAME: the input map to read the request with (inputmap.go)
	inputMap string
}

// parseQuery reads ?ruleset= and ?strict=. strict=true makes this request
// strict; strict=false cannot relax a server started with --strict.
func parseQuery(r *http.Request) (query, error) {
	q, err := queryValues(r, "ruleset", "strict", "detail", "map")
	if err != nil {
		return query{}, err
	}
	out := query{ruleset: q.Get("ruleset"), inputMap: q.Get("map")}
	if v := q.Get("strict"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return out, &httpError{status: http.StatusBadRequest, code: "bad_parameter",
				msg:     fmt.Sprintf("strict=%q is not a boolean", v),
				details: []any{paramError{"strict", "use true or false"}}}
		}
		out.strict = b
	}
	switch v := q.Get("detail"); v {
	case "", "full":
	case "brief":
		out.brief = true
	default:
		return out, &httpError{status: http.StatusBadRequest, code: "bad_parameter",
			msg:     fmt.Sprintf("detail=%q is not full or brief", v),
			details: []any{paramError{"detail", "use full (the default) or brief"}}}
	}
	return out, nil
}

// queryValues parses the request's query string, refusing one that does
// not parse (r.URL.Query drops such a part silently: ?ruleset=b2b;strict=true
// was answered "name a ruleset") and any of the given parameters given
// twice, which would otherwise be taken by its first value.
func queryValues(r *http.Request, once ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &httpError{status: http.StatusBadRequest, code: "bad_parameter",
			msg: fmt.Sprintf("the query string does not parse: %v (separate parameters with &, and percent-encode %%, & and ; in values)", err)}
	}
	for _, name := range once {
		if n := len(q[name]); n > 1 {
			return nil, &httpError{status: http.StatusBadRequest, code: "bad_parameter",
				msg:     fmt.Sprintf("%s is given %d times (%s); give it once", name, n, strings.Join(q[name], ", ")),
				details: []any{paramError{name, "give it once"}}}
		}
	}
	return q, nil
}

// readBody reads the whole body, up to the server's limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.maxBody {
		// Refused before reading a byte of it.
		return nil, &http.MaxBytesError{Limit: s.maxBody}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBody)
	var buf bytes.Buffer
	if n := r.ContentLength; n > 0 && n <= s.maxBody {
		buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead free to see the end
	}
	if _, err := buf.ReadFrom(body); err != nil {
		return nil, bodyError(err, r.ContentLength)
	}
	return blankBOM(buf.Bytes()), nil
}

// blankBOM turns a UTF-8 byte order mark at the start of data, which
// Windows tools write and leadq score skips, into spaces, which JSON
// ignores: the offsets in error messages stay those of the bytes sent.
func blankBOM(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		copy(data, "   ")
	}
	return data
}

// bodyError says why a request body could not be read. A body over the
// limit and a read deadline keep their own errors (413, 408); any other
// failure is the client's (the connection closed or reset before the body
// ended): a 400 body_incomplete, never a 500, with the cause kept for the
// access log. length is the Content-Length, -1 when the body is chunked.
func bodyError(err error, length int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	msg := "the request body broke off before its end (the connection closed or was reset); send it again"
	if length >= 0 {
		msg = fmt.Sprintf("the request body ended before the %d bytes its Content-Length announced (the connection closed or was reset); send it again", length)
	}
	return &httpError{status: http.StatusBadRequest, code: "body_incomplete", msg: msg, cause: err}
}

// lineReader reads NDJSON lines of at most max bytes; a longer line is
// skipped to its end and reported, so one bad line does not end the stream.
type lineReader struct {
	br      *bufio.Reader
	max     int64
	buf     []byte
	started bool // a line was read: a byte order mark is blanked only in the first
}

// next returns the next line without its line ending; it may be the
// reader's buffer, valid until the next call. tooLong reports a line over
// the limit (line is then empty); err is io.EOF after the last line.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	line, tooLong, err = lr.read()
	if !lr.started {
		lr.started = true
		line = blankBOM(line)
	}
	return line, tooLong, err
}

func (lr *lineReader) read() (line []byte, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	// Most lines are whole in the reader's buffer: return them from it,
	// without a copy.
	if frag, err := lr.br.ReadSlice('\n'); err == nil || err == io.EOF {
		if err == io.EOF && len(frag) == 0 {
			return nil, false, io.EOF
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(frag, []byte("\n")), []byte("\r"))
		if int64(len(line)) > lr.max {
			return nil, true, nil
		}
		return line, false, nil
	} else if errors.Is(err, bufio.ErrBufferFull) {
		lr.buf = append(lr.buf, frag...)
	} else {
		return nil, false, err
	}
	for {
		frag, err := lr.br.ReadSlice('\n')
		if !tooLong {
			if int64(len(lr.buf)+len(frag)) > lr.max+2 { // room for "\r\n"
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && (len(lr.buf) > 0 || tooLong) {
			err = nil // the last line had no newline
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(lr.buf, []byte("\n")), []byte("\r"))
		if int64(len(line)) > lr.max {
			tooLong, line = true, nil
		}
		return line, tooLong, err
	}
}
