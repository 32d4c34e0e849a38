package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/server"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedNow is the engine's clock in every test, so days_since is stable.
var fixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// newEngine loads the rulesets in testdata/rules (b2b-saas over two files,
// and account-health). File names in versions and errors are relative.
func newEngine(t testing.TB, opts ...engine.Option) *engine.Engine {
	t.Helper()
	opts = append([]engine.Option{engine.WithClock(func() time.Time { return fixedNow })}, opts...)
	eng, err := engine.Open(context.Background(), engine.FS(os.DirFS("testdata/rules")), opts...)
	if err != nil {
		t.Fatalf("engine.Open(testdata/rules): %v", err)
	}
	return eng
}

// newServer serves eng over a real connection, as clients see it.
func newServer(t testing.TB, eng *engine.Engine, opts ...server.Option) *httptest.Server {
	t.Helper()
	srv, err := server.New(eng, opts...)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// compact makes a JSON file one NDJSON line.
func compact(t testing.TB, data string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(data)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

type httpCase struct {
	name   string // the golden file is testdata/golden/<name>.golden
	method string
	path   string
	ctype  string // Content-Type; "-" for none
	auth   string // Authorization
	// encoding is the Content-Encoding, if any.
	encoding string
	body     string
	// chunked sends the body without a Content-Length, as a client
	// streaming it would.
	chunked bool
}

// TestGolden sends each request and compares the status, the headers that
// matter and the body (indented, timestamps masked) with its golden file.
func TestGolden(t *testing.T) {
	lead := func(name string) string { return readFile(t, "testdata/leads/"+name+".json") }
	nested := `{"lead": {"tags": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`
	stream := strings.Join([]string{
		compact(t, lead("vp-fintech")),
		"",
		`{"id": "broken", "lead": {"employees": 12,}`,
		compact(t, lead("wrong-type-employees")),
		`42`,
		`{"id": "too-deep", "lead": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
		`{"id": "last-line-without-newline", "email": "x@rival.example", "employees": 50, "country": "US"}`,
	}, "\n")
	batch := "[" + strings.Join([]string{
		lead("vp-fintech"),
		lead("free-mail-unserved"),
		`42`,
		lead("wrong-type-employees"),
		`{"id": "lead-not-an-object", "lead": "ana@example.com"}`,
	}, ",\n") + "]"

	tests := []httpCase{
		{name: "score-vp-fintech", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: lead("vp-fintech")},
		{name: "score-bare-lead", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: lead("free-mail-unserved")},
		{name: "score-wrong-type-warns", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: lead("wrong-type-employees")},
		{name: "score-strict-rejects", method: "POST", path: "/v1/score?ruleset=b2b-saas&strict=true", body: lead("wrong-type-employees")},
		{name: "score-misspelt-keys-warn", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=brief", body: lead("misspelt-keys")},
		{name: "score-strict-refuses-misspelt-keys", method: "POST", path: "/v1/score?ruleset=b2b-saas&strict=true", body: lead("misspelt-keys")},
		{name: "score-account", method: "POST", path: "/v1/score?ruleset=account-health", ctype: "application/json; charset=utf-8", body: lead("northwind-freight")},
		{name: "score-ruleset-required", method: "POST", path: "/v1/score", body: lead("vp-fintech")},
		{name: "score-unknown-ruleset", method: "POST", path: "/v1/score?ruleset=b2c", body: lead("vp-fintech")},
		{name: "score-malformed", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `{"lead": {"employees": 12,}}`},
		{name: "score-empty-body", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: ``},
		{name: "score-array", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `[{"employees": 12}]`},
		{name: "score-null", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `null`},
		{name: "score-trailing-data", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `{"employees": 12} {"employees": 13}`},
		{name: "score-lead-not-object", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `{"lead": "ana@example.com"}`},
		{name: "score-too-deep", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: nested},
		{name: "score-too-large", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: `{"notes": "` + strings.Repeat("x", 1<<20) + `"}`},
		{name: "score-too-large-chunked", method: "POST", path: "/v1/score?ruleset=b2b-saas", chunked: true, body: `{"notes": "` + strings.Repeat("x", 1<<20) + `"}`},
		{name: "score-chunked", method: "POST", path: "/v1/score?ruleset=b2b-saas", chunked: true, body: lead("student-intern")},
		{name: "score-text-plain", method: "POST", path: "/v1/score?ruleset=b2b-saas", ctype: "text/plain", body: lead("vp-fintech")},
		{name: "score-form", method: "POST", path: "/v1/score?ruleset=b2b-saas", ctype: "application/x-www-form-urlencoded", body: lead("vp-fintech")},
		// A body in another charset or compressed was read as UTF-8 JSON:
		// Latin-1 "Café" became "Caf\ufffd", gzip "invalid character '\x1f'".
		{name: "score-latin1", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=brief", ctype: "application/json; charset=iso-8859-1", body: "{\"lead\": {\"company\": \"Caf\xe9\"}}"},
		{name: "score-utf8-charset", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=brief", ctype: "application/json; charset=UTF-8", body: lead("competitor")},
		{name: "score-gzip", method: "POST", path: "/v1/score?ruleset=b2b-saas", encoding: "gzip", body: "\x1f\x8b\x08\x00"},
		{name: "stream-gzip", method: "POST", path: "/v1/score/stream?ruleset=b2b-saas", ctype: "application/x-ndjson", encoding: "gzip", body: "\x1f\x8b\x08\x00"},
		{name: "score-no-content-type", method: "POST", path: "/v1/score?ruleset=b2b-saas", ctype: "-", body: lead("competitor")},
		{name: "score-bad-strict", method: "POST", path: "/v1/score?ruleset=b2b-saas&strict=maybe", body: lead("vp-fintech")},
		{name: "score-brief", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=brief", body: lead("competitor")},
		// A query that does not parse, or names a parameter twice, is refused
		// rather than read in part.
		{name: "score-query-semicolon", method: "POST", path: "/v1/score?ruleset=b2b-saas;strict=true", body: lead("vp-fintech")},
		{name: "score-ruleset-twice", method: "POST", path: "/v1/score?ruleset=b2b-saas&ruleset=account-health&detail=brief", body: lead("vp-fintech")},
		{name: "score-bad-detail", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=short", body: lead("vp-fintech")},
		// A parameter the route does not read is refused, not ignored: a typo
		// of detail=brief was answered in full.
		{name: "score-unknown-parameter", method: "POST", path: "/v1/score?ruleset=b2b-saas&detial=brief&verbose", body: lead("vp-fintech")},
		{name: "stream-brief", method: "POST", path: "/v1/score/stream?ruleset=b2b-saas&detail=brief", ctype: "application/x-ndjson", body: stream},
		{name: "score-get", method: "GET", path: "/v1/score"},
		// Windows tools start text with a byte order mark; leadq score skips it.
		{name: "score-bom", method: "POST", path: "/v1/score?ruleset=b2b-saas&detail=brief", body: "\ufeff" + lead("competitor")},
		{name: "batch-bom", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas&detail=brief", body: "\ufeff[" + lead("competitor") + "]"},
		{name: "stream-bom", method: "POST", path: "/v1/score/stream?ruleset=b2b-saas&detail=brief", ctype: "application/x-ndjson", body: "\ufeff" + compact(t, lead("competitor")) + "\n{\"lead\": 1}\n"},
		{name: "batch", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: batch},
		{name: "batch-strict", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas&strict=1", body: "[" + lead("wrong-type-employees") + "," + lead("competitor") + "]"},
		{name: "batch-too-deep", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: "[" + lead("vp-fintech") + "," + nested + "]"},
		{name: "batch-empty", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: ` [ ] `},
		{name: "batch-not-array", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: lead("vp-fintech")},
		{name: "batch-malformed", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: `[{"id": "a"}, {"id": ]`},
		{name: "batch-unterminated", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: `[{"id": "a"}`},
		{name: "batch-trailing-data", method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: `[{"id": "a"}] []`},
		{name: "batch-unknown-ruleset", method: "POST", path: "/v1/score/batch?ruleset=b2c", body: `[]`},
		{name: "stream", method: "POST", path: "/v1/score/stream?ruleset=b2b-saas&strict=true", ctype: "application/x-ndjson", body: stream},
		{name: "stream-unknown-ruleset", method: "POST", path: "/v1/score/stream?ruleset=b2c", ctype: "application/x-ndjson", body: "{}\n"},
		{name: "stream-text-plain", method: "POST", path: "/v1/score/stream?ruleset=b2b-saas", ctype: "text/plain", body: "{}\n"},
		{name: "rulesets", method: "GET", path: "/v1/rulesets"},
		{name: "reload", method: "POST", path: "/-/reload"},
		{name: "healthz", method: "GET", path: "/healthz"},
		{name: "readyz", method: "GET", path: "/readyz"},
		{name: "not-found", method: "GET", path: "/v2/score"},
		{name: "reload-get", method: "GET", path: "/-/reload"},
	}
	ts := newServer(t, newEngine(t))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, ts, tc)
		})
	}
}

// TestGoldenAuth runs the token checks: scoring and admin need the bearer
// token, the operational routes do not.
func TestGoldenAuth(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithToken("s3cret-t0ken"))
	body := readFile(t, "testdata/leads/competitor.json")
	tests := []httpCase{
		{name: "auth-missing", method: "POST", path: "/v1/score?ruleset=b2b-saas", body: body},
		{name: "auth-wrong", method: "POST", path: "/v1/score?ruleset=b2b-saas", auth: "Bearer guess", body: body},
		{name: "auth-basic", method: "POST", path: "/-/reload", auth: "Basic czNjcmV0LXQwa2Vu"},
		{name: "auth-ok", method: "POST", path: "/v1/score?ruleset=b2b-saas", auth: "Bearer s3cret-t0ken", body: body},
		{name: "auth-open-readyz", method: "GET", path: "/readyz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, ts, tc)
		})
	}
}

// timestamps are masked in goldens: they are the time the test ran.
var timestamps = regexp.MustCompile(`"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"`)

// decision ids are masked in goldens: they are new for every decision.
var uuids = regexp.MustCompile(`"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)

func checkGolden(t *testing.T, ts *httptest.Server, tc httpCase) {
	t.Helper()
	resp := do(t, ts, tc)
	got := formatResponse(t, tc, resp)
	path := filepath.Join("testdata", "golden", tc.name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./server -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s %s: response differs from %s (-want +got):\n%s", tc.method, tc.path, path, diff)
	}
	if resp.status >= 500 {
		t.Errorf("%s %s: status %d; no request may cause a 5xx", tc.method, tc.path, resp.status)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, ts *httptest.Server, tc httpCase) response {
	t.Helper()
	var body io.Reader
	if tc.method == "POST" {
		body = strings.NewReader(tc.body)
		if tc.chunked {
			body = io.MultiReader(body) // hides the length
		}
	}
	req, err := http.NewRequest(tc.method, ts.URL+tc.path, body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case tc.ctype == "-":
	case tc.ctype != "":
		req.Header.Set("Content-Type", tc.ctype)
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if tc.auth != "" {
		req.Header.Set("Authorization", tc.auth)
	}
	if tc.encoding != "" {
		req.Header.Set("Content-Encoding", tc.encoding)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", tc.method, tc.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", tc.method, tc.path, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

// formatResponse is the golden form: request line, status, the headers
// clients rely on, then each JSON value of the body indented.
func formatResponse(t *testing.T, tc httpCase, resp response) string {
	t.Helper()
	var b strings.Builder
	path := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`).ReplaceAllString(tc.path, "<uuid>")
	fmt.Fprintf(&b, "%s %s\n\nHTTP %d\n", tc.method, path, resp.status)
	for _, h := range []string{"Content-Type", "Allow", "WWW-Authenticate", "X-Decision-Id"} {
		if v := resp.header.Get(h); v != "" {
			if h == "X-Decision-Id" && uuids.MatchString(`"`+v+`"`) {
				v = "<uuid>"
			}
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(resp.body))
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s %s: the body is not JSON: %v\n%s", tc.method, tc.path, err, resp.body)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, v, "", "  "); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
		b.WriteString(uuids.ReplaceAllString(timestamps.ReplaceAllString(ind.String(), `"<time>"`), `"<uuid>"`))
		b.WriteString("\n")
	}
	return b.String()
}

// Decisions, batches and errors carry their length, so that net/http
// writes them as they are instead of chunking answers over 2 KB; the
// length must be the body's.
func TestJSONAnswersHaveTheirLength(t *testing.T) {
	ts := newServer(t, newEngine(t))
	vp := compact(t, readFile(t, "testdata/leads/vp-fintech.json"))
	for _, tc := range []struct{ path, body string }{
		{"/v1/score?ruleset=b2b-saas", vp},
		{"/v1/score/batch?ruleset=b2b-saas", "[" + vp + "," + vp + "]"},
		{"/v1/score?ruleset=b2b-saas", `{"lead": `},
	} {
		resp, err := ts.Client().Post(ts.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.TransferEncoding) > 0 || resp.ContentLength != int64(len(body)) {
			t.Errorf("POST %s = %d, Content-Length %d, Transfer-Encoding %v, %d bytes of body; want the body's length and no chunking",
				tc.path, resp.StatusCode, resp.ContentLength, resp.TransferEncoding, len(body))
		}
	}
}

// Every decision gets its own id, time-ordered (UUIDv7), in the body and,
// for a single score, in X-Decision-Id; batch items and stream lines carry
// theirs.
func TestDecisionIDs(t *testing.T) {
	ts := newServer(t, newEngine(t))
	vp := compact(t, readFile(t, "testdata/leads/vp-fintech.json"))
	var ids []string
	post := func(path, ctype, body string) []byte {
		resp, err := ts.Client().Post(ts.URL+path, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s = %d %s (%v)", path, resp.StatusCode, data, err)
		}
		if path == "/v1/score?ruleset=b2b-saas" {
			var d struct{ ID string }
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			if h := resp.Header.Get("X-Decision-Id"); h != d.ID {
				t.Errorf("X-Decision-Id %q; the body's id is %q", h, d.ID)
			}
		}
		return data
	}
	for range 3 {
		var d struct{ ID string }
		json.Unmarshal(post("/v1/score?ruleset=b2b-saas", "application/json", vp), &d)
		ids = append(ids, d.ID)
	}
	var batch struct{ Decisions []struct{ ID string } }
	json.Unmarshal(post("/v1/score/batch?ruleset=b2b-saas", "application/json", "["+vp+","+vp+"]"), &batch)
	for _, d := range batch.Decisions {
		ids = append(ids, d.ID)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(post("/v1/score/stream?ruleset=b2b-saas", "application/x-ndjson", vp+"\n"+vp+"\n"))), "\n") {
		var d struct{ ID string }
		json.Unmarshal([]byte(line), &d)
		ids = append(ids, d.ID)
	}
	if len(ids) != 7 {
		t.Fatalf("%d ids; want 7", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !uuids.MatchString(`"` + id + `"`) {
			t.Errorf("decision id %q is not a UUIDv7", id)
		}
		if seen[id] {
			t.Errorf("decision id %s given twice", id)
		}
		seen[id] = true
	}
	if !slices.IsSorted(ids[:3]) {
		t.Errorf("ids of decisions made one after the other are not in order: %v", ids[:3])
	}
}
