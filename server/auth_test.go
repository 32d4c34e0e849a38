package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/server"
)

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name, text string
		count      map[server.Scope]int // tokens that may act in each scope
		err        string
	}{
		{name: "one bare token may do everything", text: "s3cret\n",
			count: map[server.Scope]int{server.ScopeScore: 1, server.ScopeRead: 1, server.ScopeMetrics: 1, server.ScopeAdmin: 1}},
		{name: "scoped, two for rotation, comments", text: "# routing systems\nscore:old-0ne\nscore:new-0ne # from Monday\nread:reps-t0ken\nmetrics:prom\n",
			count: map[server.Scope]int{server.ScopeScore: 2, server.ScopeRead: 1, server.ScopeMetrics: 1, server.ScopeAdmin: 0}},
		{name: "an environment variable's form", text: "score:a1, read+metrics:b2  admin:c3",
			count: map[server.Scope]int{server.ScopeScore: 2, server.ScopeRead: 2, server.ScopeMetrics: 2, server.ScopeAdmin: 1}},
		{name: "empty", text: " \n# nothing\n", count: map[server.Scope]int{}},
		{name: "unknown scope", text: "score:a1\nwrite:b2", err: `token 2: unknown scope "write"`},
		{name: "empty token", text: "read:", err: "token 1: a token is 1 to 512 characters long"},
		{name: "bad character", text: "read:caf\u00e9", err: "token 1: a token may hold only"},
		{name: "listed twice", text: "score:dup1 read:dup1", err: "token 2: the same token is listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := server.ParseTokens(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseTokens(%q) = %v; want an error with %q", tc.text, err, tc.err)
				}
				if strings.Contains(err.Error(), "caf") || strings.Contains(err.Error(), "dup1") {
					t.Errorf("the error %q shows the token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTokens(%q) = %v", tc.text, err)
			}
			got := map[server.Scope]int{}
			for _, sc := range []server.Scope{server.ScopeScore, server.ScopeRead, server.ScopeMetrics, server.ScopeAdmin} {
				if n := toks.Count(sc); n > 0 {
					got[sc] = n
				}
			}
			want := map[server.Scope]int{}
			for sc, n := range tc.count {
				if n > 0 {
					want[sc] = n
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseTokens(%q) tokens per scope (-want +got):\n%s", tc.text, diff)
			}
		})
	}
}

func FuzzParseTokens(f *testing.F) {
	for _, s := range []string{"s3cret", "score:a read:b", "score+read:x,admin:y # c", "x:y", ":", "read:", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		toks, err := server.ParseTokens(text)
		if err != nil {
			if toks.Len() != 0 {
				t.Fatalf("ParseTokens(%q) failed with %d tokens", text, toks.Len())
			}
			return
		}
		if toks.Count(server.ScopeAdmin) > toks.Len() {
			t.Fatalf("ParseTokens(%q): more admin tokens than tokens", text)
		}
	})
}

// TestScopes: each route needs a token of its scope (or admin); health,
// readiness, metrics, the document and the page stay open.
func TestScopes(t *testing.T) {
	toks, err := server.ParseTokens("score:sc0re-old score:sc0re-new read:re4d metrics:pr0m admin:adm1n")
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, newEngine(t), server.WithTokens(toks))
	lead := readFile(t, "testdata/leads/competitor.json")
	routes := []struct {
		method, path, body string
		scope              string // "" for open
	}{
		{"POST", "/v1/score?ruleset=b2b-saas", lead, "score"},
		{"POST", "/v1/score/batch?ruleset=b2b-saas", "[" + lead + "]", "score"},
		{"POST", "/v1/score/stream?ruleset=b2b-saas", lead, "score"},
		{"GET", "/v1/rulesets", "", "score"},
		{"GET", "/v1/decisions?lead_id=x", "", "read"},
		{"GET", "/v1/decisions/1", "", "read"},
		{"GET", "/v1/decisions/1/explain", "", "read"},
		{"GET", "/v1/stats", "", "read"},
		{"POST", "/v1/preview?ruleset=b2b-saas", lead, "read"},
		{"POST", "/-/reload", "", "admin"},
		{"GET", "/healthz", "", ""},
		{"GET", "/readyz", "", ""},
		{"GET", "/metrics", "", ""},
		{"GET", "/openapi.json", "", ""},
		{"GET", "/reps/", "", ""},
	}
	tokens := map[string]string{"": "", "wrong": "guess", "score": "sc0re-old", "score (rotated)": "sc0re-new", "read": "re4d", "metrics": "pr0m", "admin": "adm1n"}
	for _, rt := range routes {
		for who, token := range tokens {
			var want int
			switch scope := strings.TrimSuffix(who, " (rotated)"); {
			case rt.scope == "" || scope == rt.scope || scope == "admin":
				want = 0 // allowed: whatever the route answers
			case token == "" || who == "wrong":
				want = http.StatusUnauthorized
			default:
				want = http.StatusForbidden
			}
			req, _ := http.NewRequest(rt.method, ts.URL+rt.path, strings.NewReader(rt.body))
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			denied := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
			if (want == 0 && denied) || (want != 0 && resp.StatusCode != want) {
				t.Errorf("%s %s with the %s token = %d %s; want %s", rt.method, rt.path, who, resp.StatusCode, body, map[bool]string{true: "it allowed", false: http.StatusText(want)}[want == 0])
			}
		}
	}
}

// TestLeadDataClosedByDefault: a server without tokens scores for anyone,
// as before, but refuses lead data unless started with --insecure-open.
func TestLeadDataClosedByDefault(t *testing.T) {
	closed := newServer(t, newEngine(t))
	open := newServer(t, newEngine(t), server.WithInsecureOpen(true))
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/decisions?lead_id=x", ""},
		{"GET", "/v1/decisions/1", ""},
		{"GET", "/v1/decisions/1/explain", ""},
		{"GET", "/v1/stats", ""},
		{"POST", "/v1/preview?ruleset=b2b-saas", `{"email": "ana@x.example"}`},
	} {
		if code, body := anon(t, closed.URL, tc.method, tc.path, tc.body); code != http.StatusForbidden || !strings.Contains(body, `"code":"lead_data_closed"`) || !strings.Contains(body, "--insecure-open") {
			t.Errorf("%s %s without tokens = %d %s; want 403 lead_data_closed naming --insecure-open", tc.method, tc.path, code, body)
		}
		if code, body := anon(t, open.URL, tc.method, tc.path, tc.body); code == http.StatusForbidden || code == http.StatusUnauthorized {
			t.Errorf("%s %s with --insecure-open = %d %s; want it served", tc.method, tc.path, code, body)
		}
	}
	if code, body := anon(t, closed.URL, "POST", "/v1/score?ruleset=b2b-saas", `{"employees": 12}`); code != 200 {
		t.Errorf("POST /v1/score without tokens = %d %s; want 200 (scoring stays open without tokens)", code, body)
	}
}

// TestOpenRoutesHideRules: with tokens, /metrics and /readyz answer anyone,
// but name rules and ruleset versions only for a metrics or admin token.
func TestOpenRoutesHideRules(t *testing.T) {
	toks, err := server.ParseTokens("score:sc0re metrics:pr0m")
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, newEngine(t), server.WithTokens(toks))
	// A decision, so that a rule has hits.
	if code, body := sendAuth(t, ts.URL, "POST", "/v1/score?ruleset=b2b-saas", readFile(t, "testdata/leads/vp-fintech.json"), "sc0re"); code != 200 {
		t.Fatalf("POST /v1/score = %d %s", code, body)
	}
	detail := []string{"leadq_rule_hits_total{", "leadq_ruleset_info{", "sha256:"}
	for _, who := range []string{"", "sc0re", "pr0m"} {
		_, metrics := sendAuth(t, ts.URL, "GET", "/metrics", "", who)
		_, ready := sendAuth(t, ts.URL, "GET", "/readyz", "", who)
		if !strings.Contains(metrics, "leadq_http_request_duration_seconds") || !strings.Contains(metrics, "leadq_decisions_total{") || !strings.Contains(ready, `"status":"ready"`) {
			t.Errorf("with token %q /metrics or /readyz lost what probes and dashboards need:\n%s\n%s", who, metrics, ready)
		}
		for _, d := range detail {
			shown := strings.Contains(metrics, d) || strings.Contains(ready, d)
			if want := who == "pr0m"; shown != want {
				t.Errorf("with token %q: %s shown %v; want %v", who, d, shown, want)
			}
		}
	}
}

func anon(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	return sendAuth(t, base, method, path, body, "")
}

func sendAuth(t *testing.T, base, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}
