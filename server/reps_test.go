package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadq/leadq/accounts"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/server"
)

// accountFile lists the accounts the reps tests resolve by email domain.
const accountFile = `domain,name,is_customer,open_opportunities
northbank.example,Northbank,false,2
polderverzekering.example,Polder Verzekering,true,1
gmail.com,A free-mail account,true,9
`

// repsServer serves testdata/rules with a decision log and an account file
// in a temp dir, and returns the log to flush and inspect.
func repsServer(t testing.TB, opts ...server.Option) (*httptest.Server, *decisionlog.Log) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, err := decisionlog.Open(ctx, filepath.Join(dir, "decisions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	path := filepath.Join(dir, "accounts.csv")
	if err := os.WriteFile(path, []byte(accountFile), 0o644); err != nil {
		t.Fatal(err)
	}
	accts, err := accounts.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Lead data is open here as with --insecure-open; a token in opts closes it.
	opts = append([]server.Option{server.WithDecisionLog(l), server.WithDecisionStore(l), server.WithAccounts(accts), server.WithInsecureOpen(true)}, opts...)
	return newServer(t, newEngine(t), opts...), l
}

// call sends a request and decodes a JSON answer into out (if not nil).
func call(t testing.TB, ts *httptest.Server, method, path, body string, out any) int {
	t.Helper()
	return send(t, ts, method, path, body, "", out)
}

// callAuth is call with a bearer token.
func callAuth(t testing.TB, ts *httptest.Server, method, path, body, token string) int {
	t.Helper()
	return send(t, ts, method, path, body, token, nil)
}

func send(t testing.TB, ts *httptest.Server, method, path, body, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func flush(t testing.TB, l *decisionlog.Log) {
	t.Helper()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestRepsGolden scores leads through every scoring route, then looks them
// up, re-explains one and asks for statistics, comparing each answer with
// testdata/golden/reps-*.golden.
func TestRepsGolden(t *testing.T) {
	ts, l := repsServer(t)
	lead := func(name string) string { return readFile(t, "testdata/leads/"+name+".json") }
	var ids []string // of the single scores, as answered
	for _, body := range []string{lead("vp-fintech"), lead("competitor"), lead("student-intern")} {
		var d struct{ ID string }
		if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", body, &d); code != 200 {
			t.Fatalf("score: status %d", code)
		}
		ids = append(ids, d.ID)
	}
	if code := call(t, ts, "POST", "/v1/score/batch?ruleset=b2b-saas", "["+lead("vp-fintech")+"]", nil); code != 200 {
		t.Fatalf("batch: status %d", code)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/v1/score/stream?ruleset=b2b-saas", strings.NewReader(compact(t, lead("competitor"))+"\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	flush(t, l)
	if n, err := l.Count(context.Background()); err != nil || n != 5 {
		t.Fatalf("logged %d decisions, %v; want 5 (3 single, 1 batch, 1 stream)", n, err)
	}

	contact := `{"id": "00Q-polder", "lead": {"email": "eva.jansen@polderverzekering.example", "company": "Polder Verzekering", "title": "VP Finance",
		"seniority": "vp", "employees": 2000, "industry": "insurance", "country": "NL"}}`
	tests := []httpCase{
		{name: "reps-find-lead-id", method: "GET", path: "/v1/decisions?lead_id=00Q5e00001AbCdE"},
		{name: "reps-find-email", method: "GET", path: "/v1/decisions?email=Jordan.Lee@PipelinePro.example&limit=1"},
		{name: "reps-find-none", method: "GET", path: "/v1/decisions?lead_id=nobody"},
		{name: "reps-find-q", method: "GET", path: "/v1/decisions?q=PIPELINEpro&limit=1"},
		{name: "reps-find-two-params", method: "GET", path: "/v1/decisions?q=x&lead_id=x"},
		{name: "reps-find-no-param", method: "GET", path: "/v1/decisions"},
		{name: "reps-find-q-twice", method: "GET", path: "/v1/decisions?q=pipeline&q=northbank"},
		{name: "reps-find-bad-limit", method: "GET", path: "/v1/decisions?lead_id=x&limit=0"},
		{name: "reps-get", method: "GET", path: "/v1/decisions/" + ids[2]},
		{name: "reps-get-missing", method: "GET", path: "/v1/decisions/0193a000-0000-7000-8000-000000000999"},
		{name: "reps-get-bad-id", method: "GET", path: "/v1/decisions/3"},
		{name: "reps-explain", method: "GET", path: "/v1/decisions/" + ids[1] + "/explain"},
		{name: "reps-stats", method: "GET", path: "/v1/stats?since=2h"},
		{name: "reps-stats-bad-since", method: "GET", path: "/v1/stats?since=recently"},
		{name: "reps-stats-negative-since", method: "GET", path: "/v1/stats?since=-5h"},
		{name: "reps-stats-since-after-until", method: "GET", path: "/v1/stats?since=2026-12-01&until=2026-11-01"},
		{name: "reps-preview-resolved-account", method: "POST", path: "/v1/preview?ruleset=b2b-saas", body: contact},
		{name: "reps-preview-request-account", method: "POST", path: "/v1/preview?ruleset=b2b-saas",
			body: `{"id": "x", "lead": {"email": "eva@polderverzekering.example", "country": "NL"}, "account": {"is_customer": false}}`},
		{name: "reps-preview-free-mail", method: "POST", path: "/v1/preview?ruleset=b2b-saas", body: lead("student-intern")},
		{name: "reps-preview-malformed", method: "POST", path: "/v1/preview?ruleset=b2b-saas", body: `{"lead": `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, ts, tc)
		})
	}
	flush(t, l)
	if n, _ := l.Count(context.Background()); n != 5 {
		t.Errorf("logged %d decisions after the previews; want still 5: previews are not logged", n)
	}
}

func TestScoreWithResolvedAccount(t *testing.T) {
	ts, l := repsServer(t)
	contact := `{"id": "00Q-polder", "lead": {"email": "eva.jansen@polderverzekering.example", "company": "Polder Verzekering", "title": "VP Finance",
		"seniority": "vp", "employees": 2000, "industry": "insurance", "country": "NL"}}`
	var d engine.Decision
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", contact, &d); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(d.Knockouts) != 1 || d.Knockouts[0].Rule != "existing-customer" {
		t.Errorf("knockouts = %+v; want existing-customer, from the account resolved by domain", d.Knockouts)
	}
	withAccount := strings.Replace(contact, `"id": "00Q-polder",`, `"id": "00Q-polder-2", "account": {"is_customer": false},`, 1)
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", withAccount, &d); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(d.Knockouts) != 0 {
		t.Errorf("knockouts = %+v; want none: the request's own account wins", d.Knockouts)
	}
	free := `{"id": "free", "lead": {"email": "kim@gmail.com", "company": "Acme", "employees": 50, "country": "US"}}`
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", free, &d); code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, h := range append(d.Knockouts, d.Matched...) {
		if h.Rule == "existing-customer" || h.Rule == "buying-committee" {
			t.Errorf("free-mail lead matched %s: a free-mail domain must not resolve an account", h.Rule)
		}
	}

	flush(t, l)
	recs, err := l.Find(context.Background(), decisionlog.Query{LeadID: "00Q-polder"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Find = %v, %v", recs, err)
	}
	in, err := engine.ParseInput(recs[0].Input)
	if err != nil || in.Account["name"] != "Polder Verzekering" {
		t.Errorf("logged input = %s; want the resolved account in it", recs[0].Input)
	}
}

// TestExplainResolvesAccountAgain: a decision made with a resolved account
// is re-explained with the account as it resolves now.
func TestExplainResolvesAccountAgain(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l, err := decisionlog.Open(ctx, filepath.Join(dir, "decisions.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	path := filepath.Join(dir, "accounts.csv")
	write := func(content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("domain,name,is_customer\nacme.example,Acme,false\n")
	accts, err := accounts.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, newEngine(t), server.WithDecisionLog(l), server.WithDecisionStore(l), server.WithAccounts(accts), server.WithInsecureOpen(true))
	lead := `{"id": "A-1", "lead": {"email": "pat@acme.example", "seniority": "vp", "employees": 300, "industry": "software", "country": "US"}}`
	var decided struct{ ID string }
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", lead, &decided); code != 200 {
		t.Fatalf("status %d", code)
	}
	flush(t, l)
	write("domain,name,is_customer\nacme.example,Acme,true\n") // Acme became a customer
	if err := accts.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Changes       decisionlog.Comparison `json:"changes"`
		AccountSource string                 `json:"account_source"`
		Account       map[string]any         `json:"account"`
	}
	if code := call(t, ts, "GET", "/v1/decisions/"+decided.ID+"/explain", "", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(got.Changes.KnockoutsAdded) != 1 || got.Changes.KnockoutsAdded[0].Rule != "existing-customer" || got.AccountSource != "resolved" || got.Account["is_customer"] != true {
		t.Errorf("explain = %+v; want the existing-customer knockout from today's account", got)
	}
}

func TestRepsWithoutLog(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithInsecureOpen(true))
	var body struct{ Code string }
	for _, path := range []string{"/v1/decisions?lead_id=x", "/v1/decisions/1", "/v1/decisions/1/explain", "/v1/stats"} {
		if code := call(t, ts, "GET", path, "", &body); code != 404 || body.Code != "no_decision_log" {
			t.Errorf("GET %s = %d %s; want 404 no_decision_log", path, code, body.Code)
		}
	}
	var p struct {
		AccountSource string `json:"account_source"`
	}
	if code := call(t, ts, "POST", "/v1/preview?ruleset=b2b-saas", `{"lead": {"email": "eva@polderverzekering.example"}}`, &p); code != 200 || p.AccountSource != "none" {
		t.Errorf("preview without accounts = %d %+v; want 200, account_source none", code, p)
	}
}

// blockedLog is a decision logger whose buffer is always full.
type blockedLog struct{ dropped int }

func (b *blockedLog) Log(context.Context, decisionlog.Entry) bool { b.dropped++; return false }
func (b *blockedLog) Health() decisionlog.Health {
	return decisionlog.Health{Backend: "test", Dropped: uint64(b.dropped), Queued: 7, Buffer: 7, LagSeconds: 2.5, Unindexed: 40, JournalBound: 100, LastError: "database down"}
}

func TestDroppedMetric(t *testing.T) {
	bl := &blockedLog{}
	ts := newServer(t, newEngine(t), server.WithDecisionLog(bl))
	for range 3 {
		if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", `{"id": "x", "employees": 50}`, nil); code != 200 {
			t.Fatalf("score with a full log: status %d; scoring must not depend on the log", code)
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"leadq_decision_log_dropped_total 3", "leadq_decision_log_queued 7", "leadq_decision_log_lag_seconds 2.5",
		"leadq_decision_log_unindexed 40", "leadq_decision_log_journal_bound 100", "leadq_decision_log_up 0"} {
		if !strings.Contains(string(data), "\n"+want+"\n") {
			t.Errorf("/metrics has no %s:\n%s", want, grepLines(string(data), "decision_log"))
		}
	}
	// The log's health is in /v1/rulesets and /readyz too; /readyz stays
	// 200: scoring works without the log.
	var status struct {
		DecisionLog decisionlog.Health `json:"decision_log"`
	}
	if code := call(t, ts, "GET", "/v1/rulesets", "", &status); code != 200 || status.DecisionLog.Dropped != 3 || status.DecisionLog.LastError != "database down" {
		t.Errorf("/v1/rulesets = %d, decision_log %+v; want its health", code, status.DecisionLog)
	}
	var ready struct {
		DecisionLog struct {
			OK      bool
			Dropped int
		} `json:"decision_log"`
	}
	if code := call(t, ts, "GET", "/readyz", "", &ready); code != 200 || ready.DecisionLog.OK || ready.DecisionLog.Dropped != 3 {
		t.Errorf("/readyz = %d, %+v; want 200 with the log's health", code, ready)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestRepsPage(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithToken("t0ken"))
	tests := []struct {
		path, ctype, contains string
		status                int
	}{
		{"/reps/", "text/html; charset=utf-8", "<h1>Why this lead?</h1>", 200},
		{"/reps/reps.js", "text/javascript; charset=utf-8", "textContent", 200},
		{"/reps/reps.css", "text/css; charset=utf-8", "--focus", 200},
		{"/reps/../openapi.yaml", "application/json", "not_found", 404},
		{"/reps/missing.js", "application/json", "not_found", 404},
	}
	for _, tc := range tests {
		resp, err := ts.Client().Get(ts.URL + tc.path) // no token: the page is open, its API calls are not
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(data), tc.contains) {
			t.Errorf("GET %s = %d %s; want %d %s containing %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype, tc.contains)
		}
		if tc.status == 200 && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no Content-Security-Policy", tc.path)
		}
	}
	resp, err := ts.Client().Get(ts.URL + "/reps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/reps/" {
		t.Errorf("GET /reps ended at %s; want a redirect to /reps/", resp.Request.URL.Path)
	}
}

// BenchmarkScoreLogged is BenchmarkHandler with the decision log and the
// account file on. "sqlite" logs to a file: the writer shares the cores
// with the handler; "full" has a log that always drops, which is the
// handler's own cost of logging; "accounts" resolves the lead's account.
func BenchmarkScoreLogged(b *testing.B) {
	ctx := context.Background()
	body := benchLeads(b)[0]
	bench := func(b *testing.B, opts ...server.Option) {
		srv, err := server.New(newEngine(b), opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/v1/score?ruleset=b2b-saas", strings.NewReader(body))
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("log=sqlite", func(b *testing.B) {
		l, err := decisionlog.Open(ctx, filepath.Join(b.TempDir(), "decisions.db"), decisionlog.WithBuffer(1<<17))
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		bench(b, server.WithDecisionLog(l))
		b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
	})
	b.Run("log=full", func(b *testing.B) { bench(b, server.WithDecisionLog(&blockedLog{})) })
	b.Run("accounts", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "accounts.csv")
		if err := os.WriteFile(path, []byte(accountFile), 0o644); err != nil {
			b.Fatal(err)
		}
		accts, err := accounts.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		bench(b, server.WithAccounts(accts))
	})
}

// A person who types the server's address lands on the reps' page; other
// unknown paths stay JSON 404s for machines.
func TestRootRedirectsToRepsPage(t *testing.T) {
	ts := newServer(t, newEngine(t))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/reps/" {
		t.Errorf("GET / = %d Location %q; want 302 to /reps/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, err = client.Get(ts.URL + "/nope"); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %d; want 404", resp.StatusCode)
	}
}

// reloadingAccounts is an account source that can reload, as
// *accounts.Directory can.
type reloadingAccounts struct {
	reloads int
	err     error
}

func (a *reloadingAccounts) Resolve(string) (map[string]any, bool) { return nil, false }
func (a *reloadingAccounts) Reload(context.Context) error          { a.reloads++; return a.err }

// POST /-/reload reloads the account file with the rules; a broken one
// is a 422 that says the rules did reload.
func TestAdminReloadReloadsAccounts(t *testing.T) {
	acc := &reloadingAccounts{}
	ts := newServer(t, newEngine(t), server.WithAccounts(acc))
	if code := call(t, ts, "POST", "/-/reload", "", nil); code != 200 || acc.reloads != 1 {
		t.Errorf("POST /-/reload = %d with %d account reloads; want 200 and 1", code, acc.reloads)
	}
	acc.err = errors.New("accounts.csv:3: no domain")
	var body struct{ Code, Message string }
	if code := call(t, ts, "POST", "/-/reload", "", &body); code != 422 || body.Code != "accounts_invalid" || !strings.Contains(body.Message, "accounts.csv:3") {
		t.Errorf("POST /-/reload with a broken account file = %d %+v; want 422 accounts_invalid naming the file", code, body)
	}
}

// TestDefaultRuleset: with WithDefaultRuleset a request that names no
// ruleset is scored with it, and /v1/rulesets says which it is, for the
// reps' page to preselect.
func TestDefaultRuleset(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithDefaultRuleset("b2b-saas"))
	var d struct {
		Ruleset struct{ Name string } `json:"ruleset"`
	}
	if code := call(t, ts, "POST", "/v1/score", readFile(t, "testdata/leads/vp-fintech.json"), &d); code != 200 || d.Ruleset.Name != "b2b-saas" {
		t.Errorf("POST /v1/score without ?ruleset= = %d, ruleset %q; want 200 and b2b-saas", code, d.Ruleset.Name)
	}
	var st struct{ Default string }
	if code := call(t, ts, "GET", "/v1/rulesets", "", &st); code != 200 || st.Default != "b2b-saas" {
		t.Errorf("GET /v1/rulesets = %d, default %q; want b2b-saas", code, st.Default)
	}
	ts = newServer(t, newEngine(t))
	if code := call(t, ts, "POST", "/v1/score", readFile(t, "testdata/leads/vp-fintech.json"), nil); code != 400 {
		t.Errorf("POST /v1/score without ?ruleset= or a default = %d; want 400 (two rulesets are loaded)", code)
	}
}
