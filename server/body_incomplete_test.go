package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadq/leadq/server"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sendCut sends a request whose body is cut short: the head (with the
// headers given), then body, then the write side is closed. It returns
// the response, read until the server closes.
func sendCut(t *testing.T, addr, head, body string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\n"+body); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, data
}

// TestBodyCutShort is the client's fault, so a 4xx: a body that ends
// before its Content-Length, or a chunked stream that breaks off, answers
// 400 body_incomplete (in place, for a stream) and logs nothing at ERROR.
func TestBodyCutShort(t *testing.T) {
	var logs syncBuffer
	ts := newServer(t, newEngine(t), server.WithInsecureOpen(true), server.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	addr := strings.TrimPrefix(ts.URL, "http://")
	lead := `{"id": "cut", "lead": {"employees": 120, "industry": "fintech", "country": "US", "email": "ana@x.example"}}`
	body70 := lead[:70]

	for _, path := range []string{"/v1/score?ruleset=b2b-saas", "/v1/score/batch?ruleset=b2b-saas", "/v1/preview?ruleset=b2b-saas"} {
		t.Run(path, func(t *testing.T) {
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n", path)
			resp, data := sendCut(t, addr, head, body70)
			var e struct{ Code, Message string }
			json.Unmarshal(data, &e)
			if resp.StatusCode != http.StatusBadRequest || e.Code != "body_incomplete" {
				t.Errorf("POST %s with 70 of 1000 bytes = %d %s; want 400 body_incomplete", path, resp.StatusCode, data)
			}
			if !strings.Contains(e.Message, "1000 bytes") {
				t.Errorf("message %q does not name the announced length", e.Message)
			}
		})
	}
	streamCases := []struct{ name, head, body string }{
		{"content-length", "POST /v1/score/stream?ruleset=b2b-saas HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n",
			lead + "\n" + body70},
		{"chunked", "POST /v1/score/stream?ruleset=b2b-saas HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n",
			fmt.Sprintf("%x\r\n%s\n\r\n%x\r\n%s", len(lead)+1, lead, 1000, body70)},
	}
	for _, tc := range streamCases {
		t.Run("stream-"+tc.name, func(t *testing.T) {
			resp, data := sendCut(t, addr, tc.head, tc.body)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			var last struct {
				Line  int
				Error struct{ Code string }
			}
			json.Unmarshal([]byte(lines[len(lines)-1]), &last)
			if resp.StatusCode != http.StatusOK || len(lines) != 2 || last.Error.Code != "body_incomplete" || last.Line != 2 {
				t.Errorf("a stream cut in its second line = %d\n%s\nwant 200, a decision, then line 2 body_incomplete", resp.StatusCode, data)
			}
		})
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a body cut short was logged at ERROR:\n%s", logs.String())
	}
}
