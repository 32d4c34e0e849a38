package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/server"
)

// streamLine is one line of a stream's answer: a decision or an item error.
type streamLine struct {
	engine.Decision
	Line  int `json:"line"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// openStream starts a request whose body the test writes as it goes.
func openStream(t *testing.T, url, ctype string) (io.WriteCloser, func() (*bufio.Reader, *http.Response)) {
	t.Helper()
	pr, pw := io.Pipe()
	// A server that stops reading or flushing would hang the test; the
	// deadline turns that into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "POST", url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	t.Cleanup(func() { pw.Close() })
	return pw, func() (*bufio.Reader, *http.Response) {
		r := <-done
		if r.err != nil {
			t.Fatalf("POST %s: %v", url, r.err)
		}
		t.Cleanup(func() { r.resp.Body.Close() })
		return bufio.NewReader(r.resp.Body), r.resp
	}
}

func readLine(t *testing.T, br *bufio.Reader) streamLine {
	t.Helper()
	data, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading the stream: %v (got %q)", err, data)
	}
	var l streamLine
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatalf("stream line %q: %v", data, err)
	}
	return l
}

// TestStreamInteractive sends one line at a time and reads each answer
// before sending the next: the server must read and write at once (full
// duplex) and flush when it has read everything sent so far.
func TestStreamInteractive(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithMaxBody(4096))
	body, response := openStream(t, ts.URL+"/v1/score/stream?ruleset=b2b-saas", "application/x-ndjson")

	io.WriteString(body, compact(t, readFile(t, "testdata/leads/vp-fintech.json"))+"\n")
	br, resp := response()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("stream answered %d %s; want 200 application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if l := readLine(t, br); l.LeadID != "00Q5e00001AbCdE" || l.Tier != "A" {
		t.Errorf("first answer = %+v; want the decision for 00Q5e00001AbCdE", l)
	}

	io.WriteString(body, `{"id": "x", "notes": "`+strings.Repeat("x", 5000)+`"}`+"\n")
	if l := readLine(t, br); l.Error == nil || l.Error.Code != "line_too_long" || l.Line != 2 {
		t.Errorf("answer to a line over the limit = %+v; want line 2 line_too_long", l)
	}

	io.WriteString(body, compact(t, readFile(t, "testdata/leads/competitor.json"))+"\r\n")
	if l := readLine(t, br); l.LeadID != "00Q5e00003KlMnO" || len(l.Knockouts) != 1 {
		t.Errorf("third answer = %+v; want the decision for 00Q5e00003KlMnO, knocked out", l)
	}
	body.Close()
	if data, err := br.ReadBytes('\n'); err != io.EOF || len(data) != 0 {
		t.Errorf("after the last line the stream gave %q, %v; want EOF", data, err)
	}
}

// TestStreamLineTimeout stops waiting for a line after the timeout, says so
// on a last line, and ends the stream.
func TestStreamLineTimeout(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithTimeout(100*time.Millisecond))
	body, response := openStream(t, ts.URL+"/v1/score/stream?ruleset=b2b-saas", "application/x-ndjson")
	io.WriteString(body, `{"id": "a", "employees": 50}`+"\n"+`{"id": "b", `)
	br, _ := response()
	if l := readLine(t, br); l.LeadID != "a" {
		t.Errorf("first answer = %+v; want the decision for a", l)
	}
	if l := readLine(t, br); l.Error == nil || l.Error.Code != "timeout" || l.Line != 2 {
		t.Errorf("answer to a line that never ends = %+v; want line 2 timeout", l)
	}
	if data, err := br.ReadBytes('\n'); err != io.EOF {
		t.Errorf("after the timeout the stream gave %q, %v; want EOF", data, err)
	}
}

// TestBodyTimeout answers 408 to a body that stops arriving.
func TestBodyTimeout(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithTimeout(100*time.Millisecond))
	body, response := openStream(t, ts.URL+"/v1/score?ruleset=b2b-saas", "application/json")
	io.WriteString(body, `{"lead": {"employees": `)
	br, resp := response()
	data, _ := io.ReadAll(br)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(data), `"code":"timeout"`) {
		t.Errorf("a body that stops = %d %s; want 408 timeout", resp.StatusCode, data)
	}
}

// A stream read to its end leaves its keep-alive connection fit for the
// next request, with or without a newline after the last line.
func TestStreamThenScoreOnOneConnection(t *testing.T) {
	ts := newServer(t, newEngine(t))
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	line := compact(t, readFile(t, "testdata/leads/vp-fintech.json"))
	for _, body := range []string{line + "\n" + line + "\n", line + "\n" + line} {
		for _, req := range []struct{ path, ctype, body string }{
			{"/v1/score/stream?ruleset=b2b-saas", "application/x-ndjson", body},
			{"/v1/score?ruleset=b2b-saas", "application/json", line},
			{"/v1/score/batch?ruleset=b2b-saas", "application/json", "[" + line + "]"},
		} {
			resp, err := client.Post(ts.URL+req.path, req.ctype, strings.NewReader(req.body))
			if err != nil {
				t.Fatalf("POST %s: %v", req.path, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s after a stream: %d %s", req.path, resp.StatusCode, b)
			}
		}
	}
}
