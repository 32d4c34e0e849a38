package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadq/leadq/server"
)

// FuzzHandlers sends arbitrary bodies to the scoring routes: never a 5xx,
// always a JSON body (one JSON value per line for a stream), and the same
// answer twice.
func FuzzHandlers(f *testing.F) {
	files, _ := filepath.Glob("testdata/leads/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{``, `{`, `[]`, `[{}, 1, "x", null]`, `{"lead": 1}`, `{"lead": {"employees": 1e400}}`,
		`{"employees": "12"}` + "\n" + `{"employees": 12.5}`, "\xff\xfe", `{"a": "\ud800"}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`} {
		f.Add([]byte(s))
	}
	srv, err := server.New(newEngine(f), server.WithMaxBody(64<<10),
		server.WithDecisionIDs(func() string { return "01930000-0000-7000-8000-000000000000" })) // answers are compared twice
	if err != nil {
		f.Fatal(err)
	}
	send := func(t *testing.T, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q = %d %s; no body may cause a 5xx", path, body, rec.Code, rec.Body)
		}
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("POST %s %q answered with invalid JSON: %v\n%s", path, body, err, rec.Body)
			}
		}
		return rec
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/score?ruleset=b2b-saas", "/v1/score/batch?ruleset=b2b-saas", "/v1/score/stream?ruleset=account-health&strict=true"} {
			first := send(t, path, body)
			if again := send(t, path, body); again.Code != first.Code || !bytes.Equal(again.Body.Bytes(), first.Body.Bytes()) {
				t.Fatalf("POST %s %q answered differently twice:\n%d %s\n%d %s", path, body, first.Code, first.Body, again.Code, again.Body)
			}
		}
		batch := append(append([]byte("["), body...), ']')
		if rec := send(t, "/v1/score/batch?ruleset=b2b-saas", batch); rec.Code == http.StatusOK {
			var resp struct {
				Decisions []json.RawMessage `json:"decisions"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Decisions == nil {
				t.Fatalf("batch answered 200 without decisions: %s", rec.Body)
			}
		}
	})
}
