package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// reloadTimeout bounds each wait for a reload; it is a failure deadline,
// not synchronisation (the tests wait on the engine's OnReload hook).
const reloadTimeout = 20 * time.Second

type reloaded struct {
	version string
	err     error
}

// rulesDir copies the b2b-saas ruleset (two files) into a temporary
// directory and returns it with the contents.
func rulesDir(t *testing.T) (dir, main, lists string) {
	t.Helper()
	dir = t.TempDir()
	main = readFile(t, "testdata/rules/b2b-saas.yaml")
	lists = readFile(t, "testdata/rules/b2b-saas.lists.yaml")
	writeAtomic(t, dir, "b2b-saas.yaml", main)
	writeAtomic(t, dir, "b2b-saas.lists.yaml", lists)
	return dir, main, lists
}

// writeAtomic replaces a file as editors and deploy tools do: a temporary
// file renamed over it, so a reader never sees half a file.
func writeAtomic(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func waitReload(t *testing.T, ch chan reloaded, what string, ok func(reloaded) bool) reloaded {
	t.Helper()
	deadline := time.After(reloadTimeout)
	for {
		select {
		case r := <-ch:
			if ok(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no reload with %s within %v", what, reloadTimeout)
		}
	}
}

func postJSON(t testing.TB, client *http.Client, url, body string) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp, b.Bytes(), err
}

// TestReloadUnderLoad scores from many goroutines, single leads and
// batches, while the watched rule files are rewritten good, bad, good. No
// request may fail, and every decision must be exactly the decision of one
// version that was written and went live: the version it names, never a mix
// of two files' versions or a half-written file.
func TestReloadUnderLoad(t *testing.T) {
	dir, main, lists := rulesDir(t)
	variant := func(points int) string {
		const rule = "when: lead.budget_confirmed\n    points: 15\n"
		if !strings.Contains(main, rule) {
			t.Fatal("testdata/rules/b2b-saas.yaml changed: the budget-confirmed rule is not as expected")
		}
		return strings.Replace(main, rule, fmt.Sprintf("when: lead.budget_confirmed\n    points: %d\n", points), 1)
	}
	leads := []string{
		readFile(t, "testdata/leads/vp-fintech.json"),
		readFile(t, "testdata/leads/director-logistics.json"),
		readFile(t, "testdata/leads/wrong-type-employees.json"),
	}
	inputs := make([]engine.Input, len(leads))
	for i, l := range leads {
		in, err := engine.ParseInput([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = in
	}

	// expected[version][lead id] is the decision each version must give.
	expected := map[string]map[string]engine.Decision{}
	expect := func(mainSrc string) string {
		rs, err := rules.Load(fstest.MapFS{
			"b2b-saas.yaml":       {Data: []byte(mainSrc)},
			"b2b-saas.lists.yaml": {Data: []byte(lists)},
		})
		if err != nil {
			t.Fatalf("variant does not compile: %v", err)
		}
		byID := map[string]engine.Decision{}
		for _, in := range inputs {
			d, err := engine.NewRuleset(rs[0]).Score(context.Background(), in, engine.Options{Clock: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatal(err)
			}
			byID[d.LeadID] = d
		}
		expected[rs[0].Version] = byID
		return rs[0].Version
	}
	v0, v1, v2, v3 := expect(main), expect(variant(16)), expect(variant(17)), expect(variant(18))

	ch := make(chan reloaded, 256)
	var liveMu sync.Mutex
	var live []string // combined versions reported by OnReload
	eng, err := engine.Open(context.Background(), engine.FS(os.DirFS(dir)),
		engine.WithClock(func() time.Time { return fixedNow }),
		engine.WithOnReload(func(v string, err error) {
			liveMu.Lock()
			live = append(live, v)
			liveMu.Unlock()
			ch <- reloaded{v, err}
		}))
	if err != nil {
		t.Fatal(err)
	}
	<-ch // the first load
	w, err := eng.Watch(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ts := newServer(t, eng)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(client.CloseIdleConnections)

	var (
		requests, failures atomic.Int64
		seenMu             sync.Mutex
		seen               = map[string]int{}
		stop               = make(chan struct{})
		progress           = make(chan struct{}, 1)
		wg                 sync.WaitGroup
	)
	check := func(d engine.Decision) {
		want, ok := expected[d.Ruleset.Version]
		if !ok {
			failures.Add(1)
			t.Errorf("decision with version %s, which is none of the versions written", d.Ruleset.Version)
			return
		}
		if d.ID == "" {
			failures.Add(1)
			t.Errorf("decision about %s without an id", d.LeadID)
		}
		// The id is new for every decision.
		d.ID = ""
		if !reflect.DeepEqual(want[d.LeadID], d) { // cmp.Diff is too slow for every decision
			failures.Add(1)
			t.Errorf("decision for %s differs from what version %s decides (-want +got):\n%s", d.LeadID, d.Ruleset.Version, cmp.Diff(want[d.LeadID], d))
		}
		seenMu.Lock()
		seen[d.Ruleset.Version]++
		seenMu.Unlock()
	}
	// Batches long enough that reloads land inside them.
	var items []string
	for range 20 {
		items = append(items, leads...)
	}
	batch := "[" + strings.Join(items, ",") + "]"
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if (g+i)%4 == 0 {
					resp, body, err := postJSON(t, client, ts.URL+"/v1/score/batch?ruleset=b2b-saas", batch)
					if err != nil || resp.StatusCode != http.StatusOK {
						failures.Add(1)
						t.Errorf("batch: %v %v %s", err, resp, body)
						continue
					}
					var br struct {
						Ruleset   engine.RulesetRef `json:"ruleset"`
						Decisions []engine.Decision `json:"decisions"`
					}
					if err := json.Unmarshal(body, &br); err != nil {
						failures.Add(1)
						t.Errorf("batch: %v in %s", err, body)
						continue
					}
					for _, d := range br.Decisions {
						if d.Ruleset != br.Ruleset {
							failures.Add(1)
							t.Errorf("a batch decided by %s has a decision by %s", br.Ruleset.Version, d.Ruleset.Version)
						}
						check(d)
					}
				} else {
					resp, body, err := postJSON(t, client, ts.URL+"/v1/score?ruleset=b2b-saas", leads[i%len(leads)])
					if err != nil || resp.StatusCode != http.StatusOK {
						failures.Add(1)
						t.Errorf("score: %v %v %s", err, resp, body)
						continue
					}
					var d engine.Decision
					if err := json.Unmarshal(body, &d); err != nil {
						failures.Add(1)
						t.Errorf("score: %v in %s", err, body)
						continue
					}
					check(d)
				}
				requests.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	stopScorers := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopScorers) // before the server closes, if the test fails early

	// awaitLoad waits until n more requests have been answered, so each
	// state of the files is scored under load.
	awaitLoad := func(n int64) {
		target := requests.Load() + n
		deadline := time.After(reloadTimeout)
		for requests.Load() < target {
			select {
			case <-progress:
			case <-deadline:
				t.Fatalf("the scorers made fewer than %d requests within %v", n, reloadTimeout)
			}
		}
	}
	liveVersion := func() string {
		rs, err := eng.Ruleset("b2b-saas")
		if err != nil {
			t.Fatal(err)
		}
		return rs.Version
	}

	steps := []struct {
		name, file, content string
		want                string // the version live after the step
		wantErr             bool
	}{
		{"v1", "b2b-saas.yaml", variant(16), v1, false},
		{"lists broken", "b2b-saas.lists.yaml", strings.Replace(lists, "target_industries:", "target_industrie:", 1), v1, true},
		{"lists fixed", "b2b-saas.lists.yaml", lists, v1, false},
		{"v2", "b2b-saas.yaml", variant(17), v2, false},
		{"main broken", "b2b-saas.yaml", "ruleset: b2b-saas\nscore: [\n", v2, true},
		{"v3", "b2b-saas.yaml", variant(18), v3, false},
	}
	awaitLoad(100)
	for _, step := range steps {
		writeAtomic(t, dir, step.file, step.content)
		waitReload(t, ch, step.name, func(r reloaded) bool {
			if step.wantErr {
				return r.err != nil
			}
			return r.err == nil && liveVersion() == step.want
		})
		if got := liveVersion(); got != step.want {
			t.Fatalf("after %s the live version is %s; want %s", step.name, got, step.want)
		}
		awaitLoad(100)
	}
	stopScorers()

	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed or gave a wrong decision", n, requests.Load())
	}
	liveMu.Lock()
	defer liveMu.Unlock()
	for _, v := range []string{v0, v1, v2, v3} {
		if seen[v] == 0 {
			t.Errorf("no decision by %s; each version must have been scored under load", v)
		}
	}
	for v := range seen {
		wasLive := false
		for _, l := range live {
			wasLive = wasLive || strings.Contains(l, "b2b-saas="+v+";")
		}
		if !wasLive {
			t.Errorf("decisions by %s, which OnReload never reported live", v)
		}
	}
	t.Logf("%d requests, decisions by version: %v", requests.Load(), seen)
}

// TestReloadFailureKeepsServing breaks a file and reloads through the admin
// route: 422 with the error's file:line:col, the last good version still
// scores, readiness holds, and /v1/rulesets and the metrics show the error
// until a fix.
func TestReloadFailureKeepsServing(t *testing.T) {
	dir, _, lists := rulesDir(t)
	eng, err := engine.Open(context.Background(), engine.Paths(dir))
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, eng)
	lead := readFile(t, "testdata/leads/vp-fintech.json")
	good, _ := eng.Ruleset("")

	writeAtomic(t, dir, "b2b-saas.lists.yaml", strings.Replace(lists, "  target_industries:", "  target_industries: [software\n  oops:", 1))
	resp := do(t, ts, httpCase{method: "POST", path: "/-/reload"})
	var e struct {
		Code   string `json:"code"`
		Errors []struct {
			File string `json:"file"`
			Line int    `json:"line"`
			Col  int    `json:"col"`
			Code string `json:"code"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.body, &e); err != nil {
		t.Fatal(err)
	}
	wantFile := filepath.Join(dir, "b2b-saas.lists.yaml")
	if resp.status != http.StatusUnprocessableEntity || e.Code != "rules_invalid" || len(e.Errors) == 0 ||
		e.Errors[0].File != wantFile || e.Errors[0].Line == 0 || e.Errors[0].Col == 0 {
		t.Fatalf("POST /-/reload with a broken file = %d %s; want 422 rules_invalid with %s:line:col", resp.status, resp.body, wantFile)
	}

	resp = do(t, ts, httpCase{method: "POST", path: "/v1/score", body: lead})
	var d engine.Decision
	json.Unmarshal(resp.body, &d)
	if resp.status != http.StatusOK || d.Ruleset.Version != good.Version {
		t.Errorf("score after a failed reload = %d, version %q; want 200 by the last good version %s", resp.status, d.Ruleset.Version, good.Version)
	}
	if resp := do(t, ts, httpCase{method: "GET", path: "/readyz"}); resp.status != http.StatusOK {
		t.Errorf("GET /readyz after a failed reload = %d; want 200 (the last good rulesets serve)", resp.status)
	}
	resp = do(t, ts, httpCase{method: "GET", path: "/v1/rulesets"})
	var st struct {
		LastError *struct {
			Errors []struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"errors"`
		} `json:"last_error"`
		Rulesets []struct {
			Version string `json:"version"`
		} `json:"rulesets"`
		Failures int `json:"failures"`
	}
	json.Unmarshal(resp.body, &st)
	if st.LastError == nil || len(st.LastError.Errors) == 0 || st.LastError.Errors[0].File != wantFile || st.Failures != 1 ||
		len(st.Rulesets) != 1 || st.Rulesets[0].Version != good.Version {
		t.Errorf("GET /v1/rulesets after a failed reload = %s; want the last good version and the error at %s", resp.body, wantFile)
	}
	metrics := do(t, ts, httpCase{method: "GET", path: "/metrics"})
	for _, want := range []string{
		"leadq_rules_last_reload_successful 0\n",
		"leadq_rules_reload_failures_total 1\n",
		`leadq_ruleset_info{ruleset="b2b-saas",version="` + good.Version + `"} 1`,
	} {
		if !strings.Contains(string(metrics.body), want) {
			t.Errorf("metrics after a failed reload lack %q", want)
		}
	}

	writeAtomic(t, dir, "b2b-saas.lists.yaml", lists)
	if resp := do(t, ts, httpCase{method: "POST", path: "/-/reload"}); resp.status != http.StatusOK {
		t.Fatalf("POST /-/reload after the fix = %d %s; want 200", resp.status, resp.body)
	}
	metrics = do(t, ts, httpCase{method: "GET", path: "/metrics"})
	if !strings.Contains(string(metrics.body), "leadq_rules_last_reload_successful 1\n") {
		t.Errorf("metrics after the fix lack leadq_rules_last_reload_successful 1")
	}
}

// TestNotReadyAtStart starts with rules that do not compile: readiness and
// scoring answer 503 with the errors, until a fixed file is reloaded.
func TestNotReadyAtStart(t *testing.T) {
	dir, main, _ := rulesDir(t)
	writeAtomic(t, dir, "b2b-saas.yaml", strings.Replace(main, "when: lead.budget_confirmed", "when: lead.budget_confirmd", 1))
	eng := engine.New(engine.Paths(dir))
	if err := eng.Reload(context.Background()); err == nil {
		t.Fatal("Reload of broken rules succeeded")
	}
	ts := newServer(t, eng)
	resp := do(t, ts, httpCase{method: "GET", path: "/readyz"})
	if resp.status != http.StatusServiceUnavailable || !strings.Contains(string(resp.body), `"code":"not_ready"`) ||
		!strings.Contains(string(resp.body), `"file":"`+filepath.Join(dir, "b2b-saas.yaml")+`","line":285,"col":11`) {
		t.Errorf("GET /readyz = %d %s; want 503 not_ready with the error at b2b-saas.yaml:285:11", resp.status, resp.body)
	}
	lead := readFile(t, "testdata/leads/vp-fintech.json")
	for _, path := range []string{"/v1/score", "/v1/score/batch", "/v1/score/stream"} {
		body := lead
		if path == "/v1/score/batch" {
			body = "[" + lead + "]"
		}
		resp := do(t, ts, httpCase{method: "POST", path: path, body: body, ctype: "-"})
		if resp.status != http.StatusServiceUnavailable || !strings.Contains(string(resp.body), `"code":"not_ready"`) {
			t.Errorf("POST %s before any ruleset compiled = %d %s; want 503 not_ready", path, resp.status, resp.body)
		}
	}
	writeAtomic(t, dir, "b2b-saas.yaml", main)
	if resp := do(t, ts, httpCase{method: "POST", path: "/-/reload"}); resp.status != http.StatusOK {
		t.Fatalf("POST /-/reload after the fix = %d %s", resp.status, resp.body)
	}
	if resp := do(t, ts, httpCase{method: "GET", path: "/readyz"}); resp.status != http.StatusOK {
		t.Errorf("GET /readyz after the fix = %d %s; want 200", resp.status, resp.body)
	}
}

// A reload that finds a ruleset's files gone fails without
// WithAllowRemove (issue 17): the ruleset keeps serving, and the reload
// metric, /v1/rulesets and the answer say why.
func TestReloadRefusesRemovedRuleset(t *testing.T) {
	dir, _, _ := rulesDir(t)
	writeAtomic(t, dir, "other.yaml", strings.Replace(readFile(t, "testdata/rules/accounts.yaml"), "ruleset: account-health", "ruleset: other", 1))
	eng, err := engine.Open(context.Background(), engine.Paths(dir))
	if err != nil {
		t.Fatal(err)
	}
	ts := newServer(t, eng)
	if err := os.Remove(filepath.Join(dir, "other.yaml")); err != nil {
		t.Fatal(err)
	}
	resp := do(t, ts, httpCase{method: "POST", path: "/-/reload"})
	if resp.status != http.StatusUnprocessableEntity || !strings.Contains(string(resp.body), "other") || !strings.Contains(string(resp.body), "--allow-remove") {
		t.Fatalf("POST /-/reload after deleting other.yaml = %d %s; want 422 naming other and --allow-remove", resp.status, resp.body)
	}
	if resp := do(t, ts, httpCase{method: "POST", path: "/v1/score?ruleset=other", body: `{"id": "1"}`}); resp.status != http.StatusOK {
		t.Errorf("scoring with the removed ruleset = %d %s; want 200: it keeps serving", resp.status, resp.body)
	}
	resp = do(t, ts, httpCase{method: "GET", path: "/v1/rulesets"})
	if !strings.Contains(string(resp.body), `"last_error":{`) || !strings.Contains(string(resp.body), `"name":"other"`) {
		t.Errorf("GET /v1/rulesets = %s; want other still listed and the last error", resp.body)
	}
	metrics := do(t, ts, httpCase{method: "GET", path: "/metrics"})
	if !strings.Contains(string(metrics.body), "leadq_rules_last_reload_successful 0\n") {
		t.Errorf("metrics after a refused removal lack leadq_rules_last_reload_successful 0")
	}
}
