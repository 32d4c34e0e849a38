package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveWait bounds every wait in these tests; it is a failure deadline, not
// synchronisation.
const serveWait = 20 * time.Second

// serveRules is a one-file ruleset; desc tells versions apart.
func serveRules(desc string) string {
	return fmt.Sprintf(`ruleset: inbound
description: %s
fields:
  lead.employees: int
score:
  - id: big
    when: lead.employees >= 100
    points: 10
    reason: "{{lead.employees}} employees"
tiers:
  - {name: A, min: 10}
  - {name: D}
`, desc)
}

// lockedBuffer is stderr for a server running in another goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type reload struct {
	version string
	err     error
}

// testServe runs runServe on a free port until the test ends and returns
// its base URL, its reloads, stderr, and a stop function that cancels the
// context and returns runServe's error.
func testServe(t *testing.T, opts serveOptions) (url string, reloads chan reload, stderr *lockedBuffer, stop func() error) {
	t.Helper()
	addr := make(chan net.Addr, 1)
	reloads = make(chan reload, 64)
	opts.addr = "127.0.0.1:0"
	opts.listening = func(a net.Addr) { addr <- a }
	opts.onReload = func(v string, err error) { reloads <- reload{v, err} }
	if opts.maxBody == "" {
		opts.maxBody = "1MiB"
	}
	if opts.timeout == 0 {
		opts.timeout = 10 * time.Second
	}
	if opts.grace == 0 {
		opts.grace = serveWait
	}
	opts.logLevel, opts.logFormat = "info", "text"
	stderr = &lockedBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, e, opts) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(serveWait):
			return errors.New("runServe did not return after its context ended")
		}
	})
	t.Cleanup(func() { stop() })
	select {
	case a := <-addr:
		return "http://" + a.String(), reloads, stderr, stop
	case err := <-done:
		t.Fatalf("runServe: %v\n%s", err, stderr)
	case <-time.After(serveWait):
		t.Fatalf("runServe did not listen\n%s", stderr)
	}
	return
}

func waitFor(t *testing.T, reloads chan reload, what string, ok func(reload) bool) {
	t.Helper()
	deadline := time.After(serveWait)
	for {
		select {
		case r := <-reloads:
			if ok(r) {
				return
			}
		case <-deadline:
			t.Fatalf("no reload with %s within %v", what, serveWait)
		}
	}
}

func request(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func writeRules(t *testing.T, dir, content string) {
	t.Helper()
	tmp := filepath.Join(dir, ".inbound.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "inbound.yaml")); err != nil {
		t.Fatal(err)
	}
}

func description(t *testing.T, url, token string) string {
	t.Helper()
	code, body := request(t, "GET", url+"/v1/rulesets", token, "")
	var st struct {
		Rulesets []struct {
			Description string `json:"description"`
		} `json:"rulesets"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 || len(st.Rulesets) != 1 {
		t.Fatalf("GET /v1/rulesets = %d %s", code, body)
	}
	return st.Rulesets[0].Description
}

// A token rotates without a restart: SIGHUP rereads the token file. A
// token file that breaks (empty, or a bad entry) is not taken: the last
// tokens stay and the server is never left open.
func TestServeRotatesTokens(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, serveRules("v1"))
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	writeTokens := func(text string) {
		if err := os.WriteFile(tokenFile, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeTokens("score:old-token\n")
	url, reloads, stderr, _ := testServe(t, serveOptions{rules: []string{dir}, tokenFile: tokenFile, watch: false})
	waitFor(t, reloads, "the first load", func(r reload) bool { return r.err == nil })
	score := func(token string) int {
		code, _ := request(t, "POST", url+"/v1/score", token, `{"employees": 500}`)
		return code
	}
	// hup sends SIGHUP and waits for the log line that says what became
	// of the token file (the tokens are read after the rules).
	hup := func(what, logged string) {
		t.Helper()
		before := strings.Count(stderr.String(), logged)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, reloads, "the reload of "+what, func(r reload) bool { return r.err == nil })
		deadline := time.Now().Add(serveWait)
		for strings.Count(stderr.String(), logged) == before {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the log does not say %q again:\n%s", what, logged, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if code := score("old-token"); code != 200 {
		t.Fatalf("the first token: %d; want 200", code)
	}

	writeTokens("score:old-token\nscore:new-token\n") // the new one beside the old
	hup("both tokens", "tokens reloaded")
	if a, b := score("old-token"), score("new-token"); a != 200 || b != 200 {
		t.Errorf("both tokens: %d, %d; want 200, 200", a, b)
	}
	writeTokens("score:new-token\n") // the old one retired
	hup("the new token", "tokens reloaded")
	if a, b := score("old-token"), score("new-token"); a != 401 || b != 200 {
		t.Errorf("the old token retired: %d, %d; want 401, 200", a, b)
	}
	for _, broken := range []string{"", "score:\n", "reed:x-token\n"} {
		writeTokens(broken)
		hup(fmt.Sprintf("a broken token file %q", broken), "the tokens were not reloaded")
		if a, b := score(""), score("new-token"); a != 401 || b != 200 {
			t.Errorf("token file %q: without a token %d, the last token %d; want 401, 200", broken, a, b)
		}
	}
}

// TestServe runs leadq serve as a user would: token auth, scoring, a reload
// by SIGHUP, and a shutdown that lets an open stream finish.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, serveRules("v1"))
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	accountFile := filepath.Join(t.TempDir(), "accounts.csv")
	writeAccounts := func(plan string) {
		if err := os.WriteFile(accountFile, []byte("domain,plan\nacme.example,"+plan+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeAccounts("basic")
	shutdown := make(chan struct{})
	url, reloads, _, stop := testServe(t, serveOptions{rules: []string{dir}, tokenFile: tokenFile, watch: false,
		reps: repsOptions{accounts: accountFile}, shuttingDown: func() { close(shutdown) }})
	waitFor(t, reloads, "the first load", func(r reload) bool { return r.err == nil })

	if code, body := request(t, "GET", url+"/readyz", "", ""); code != 200 {
		t.Errorf("GET /readyz = %d %s; want 200", code, body)
	}
	if code, body := request(t, "POST", url+"/v1/score", "", `{"employees": 500}`); code != 401 {
		t.Errorf("POST /v1/score without the token = %d %s; want 401", code, body)
	}
	code, body := request(t, "POST", url+"/v1/score", "s3cret", `{"id": "L1", "employees": 500}`)
	if code != 200 || !strings.Contains(body, `"tier":"A"`) {
		t.Errorf("POST /v1/score = %d %s; want 200 tier A", code, body)
	}

	// SIGHUP reloads (the watcher is off, so nothing else could).
	writeRules(t, dir, serveRules("v2"))
	writeAccounts("enterprise")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, reloads, "v2 after SIGHUP", func(r reload) bool { return r.err == nil && description(t, url, "s3cret") == "v2" })
	// The account file reloads on SIGHUP too (the watcher is off).
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := request(t, "POST", url+"/v1/preview", "s3cret", `{"email": "ana@acme.example", "employees": 500}`)
		if strings.Contains(body, `"plan":"enterprise"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST /v1/preview after SIGHUP = %s; want the reloaded account (plan enterprise)", body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A stream open when shutdown starts stops taking lines, answers those
	// it has read and ends with a line saying the server is shutting down;
	// the server then exits at once, well within its grace period.
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", url+"/v1/score/stream", pr)
	req.Header.Set("Authorization", "Bearer s3cret")
	req.Header.Set("Content-Type", "application/x-ndjson")
	respc := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("stream: %v", err)
			close(respc)
			return
		}
		respc <- resp
	}()
	io.WriteString(pw, `{"id": "before", "employees": 5}`+"\n")
	resp, ok := <-respc
	if !ok {
		t.FailNow()
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, `"lead_id":"before"`) {
		t.Fatalf("first stream answer = %q, %v", line, err)
	}
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	<-shutdown
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, `"line":2`) || !strings.Contains(line, `"code":"shutting_down"`) {
		t.Errorf("stream's last line after shutdown began = %q, %v; want shutting_down at line 2", line, err)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("end of the stream = %q, %v; want a clean end", rest, err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("runServe = %v; want nil after a graceful shutdown", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown with an open stream took %v; want it well within the grace period", d)
	}
}

// TestServeBrokenAtStart starts with rules that do not compile: the server
// serves, not ready, logs the error at file:line:col, and becomes ready when
// the watcher sees the fix.
func TestServeBrokenAtStart(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, strings.Replace(serveRules("v1"), "lead.employees >= 100", "lead.employes >= 100", 1))
	url, reloads, stderr, _ := testServe(t, serveOptions{rules: []string{dir}, watch: true})
	waitFor(t, reloads, "the failed first load", func(r reload) bool { return r.err != nil })

	if code, body := request(t, "GET", url+"/readyz", "", ""); code != 503 || !strings.Contains(body, `"line":7,"col":11`) {
		t.Errorf("GET /readyz with broken rules = %d %s; want 503 with the error at line 7, col 11", code, body)
	}
	if code, body := request(t, "POST", url+"/v1/score", "", `{"employees": 500}`); code != 503 {
		t.Errorf("POST /v1/score with broken rules = %d %s; want 503", code, body)
	}
	if want := filepath.Join(dir, "inbound.yaml") + ":7:11"; !strings.Contains(stderr.String(), want) {
		t.Errorf("the log does not give the error's position %s:\n%s", want, stderr)
	}

	writeRules(t, dir, serveRules("fixed"))
	waitFor(t, reloads, "the fix", func(r reload) bool { return r.err == nil })
	if code, body := request(t, "GET", url+"/readyz", "", ""); code != 200 {
		t.Errorf("GET /readyz after the fix = %d %s; want 200", code, body)
	}
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, serveRules("v1"))
	tokenFile, badTokens := filepath.Join(dir, "tokens"), filepath.Join(dir, "bad-tokens")
	if err := os.WriteFile(tokenFile, []byte("read:r34d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badTokens, []byte("read:r34d\nwrite:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no rules", []string{"serve"}, exitUsage, "--rules is required"},
		{"bad size", []string{"serve", "--rules", dir, "--max-body", "lots"}, exitUsage, `"lots" is not a size`},
		{"bad log level", []string{"serve", "--rules", dir, "--log-level", "loud"}, exitUsage, "--log-level"},
		{"missing token file", []string{"serve", "--rules", dir, "--token-file", filepath.Join(dir, "nope")}, exitFailed, "--token-file"},
		{"missing rules dir", []string{"serve", "--rules", filepath.Join(dir, "nope"), "--addr", "127.0.0.1:0"}, exitFailed, "no such file"},
		{"bad addr", []string{"serve", "--rules", dir, "--addr", "127.0.0.1:99999"}, exitFailed, "99999"},
		// A negative budget turned the budget off, as 0 does, and served.
		{"negative budget", []string{"serve", "--rules", dir, "--addr", "127.0.0.1:0", "--budget", "-5ms"}, exitUsage, "--budget"},
		{"token on the command line", []string{"serve", "--rules", dir, "--token", "s3cret"}, exitUsage, "--token is not accepted"},
		{"insecure open with tokens", []string{"serve", "--rules", dir, "--token-file", tokenFile, "--insecure-open"}, exitUsage, "--insecure-open"},
		{"bad token file", []string{"serve", "--rules", dir, "--token-file", badTokens}, exitFailed, `token 2: unknown scope "write"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("leadq %v = exit %d, %q; want exit %d mentioning %q", tc.args, code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"1MiB", 1 << 20},
		{"512KiB", 512 << 10},
		{"1mb", 1000000},
		{"2 MB", 2000000},
		{"64k", 64 << 10},
		{"1048576", 1 << 20},
		{"100B", 100},
		{"1GiB", 1 << 30},
		{"", 0},
		{"0", 0},
		{"-1MiB", 0},
		{"1.5MiB", 0},
		{"MiB", 0},
		{"1TiB", 0},
		{"99999999GiB", 0},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (tc.want == 0) != (err != nil) || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// GOGC, when set, wins over the default --gc-percent; the flag given on
// the command line wins over GOGC.
func TestGCPercent(t *testing.T) {
	tests := []struct {
		flagGiven bool
		flag      int
		env       string
		want      string
		set       bool
	}{
		{false, defaultGCPercent, "", "400", true},
		{false, defaultGCPercent, "150", "150", false},
		{false, defaultGCPercent, "off", "off", false},
		{true, 200, "150", "200", true},
		{true, -1, "", "-1", true},
	}
	for _, tc := range tests {
		got, set := gcPercent(tc.flagGiven, tc.flag, tc.env)
		if got != tc.want || set != tc.set {
			t.Errorf("gcPercent(%v, %d, %q) = %q, %v; want %q, %v", tc.flagGiven, tc.flag, tc.env, got, set, tc.want, tc.set)
		}
	}
}

// TestReadTokens: tokens come from --token-file and LEADQ_TOKENS together.
func TestReadTokens(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("score:a1\nscore:a2 # rotation\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := readTokens(serveOptions{tokenFile: file}, "read:b1 admin:c1")
	if err != nil {
		t.Fatal(err)
	}
	if tokens.Len() != 4 || tokens.Count("score") != 3 || tokens.Count("read") != 2 {
		t.Errorf("readTokens = %d tokens, %d may score, %d may read; want 4, 3 (two and admin), 2", tokens.Len(), tokens.Count("score"), tokens.Count("read"))
	}
	if _, err := readTokens(serveOptions{}, "read:"); err == nil || !strings.Contains(err.Error(), "LEADQ_TOKENS") {
		t.Errorf("readTokens with a bad LEADQ_TOKENS = %v; want an error naming it", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("# none yet\n"), 0o600)
	if _, err := readTokens(serveOptions{tokenFile: empty}, ""); err == nil || !strings.Contains(err.Error(), "holds no token") {
		t.Errorf("readTokens with an empty file = %v; want an error", err)
	}
}
