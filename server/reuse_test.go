package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/server"
)

// recordingLog keeps the JSON of each decision it is given, encoded when
// Log is called, by decision id.
type recordingLog struct {
	mu  sync.Mutex
	got map[string]string
}

func (r *recordingLog) Log(_ context.Context, e decisionlog.Entry) bool {
	b := e.Decision.AppendJSON(nil)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[e.Decision.ID] = string(b)
	return true
}

func (r *recordingLog) Health() decisionlog.Health { return decisionlog.Health{Backend: "test"} }

// idField is the decision id at the start of an answer.
var idField = regexp.MustCompile(`^\{"id":"[^"]*",`)

func withoutID(answer string) string { return idField.ReplaceAllString(answer, "{") }

// Streams and batches decide each worker's leads into a reused decision
// (engine.Ruleset.ScoreJSONInto); the answers, the decision log's entries
// and the counters are what fresh decisions give: each line and element is
// the answer /v1/score gives its lead, in both details, with bad lines and
// elements among them; the log is given the decision answered; the rule
// hits and decisions counted are those of the leads' decisions.
func TestStreamAndBatchReuseDecisions(t *testing.T) {
	rec := &recordingLog{got: map[string]string{}}
	ts := newServer(t, newEngine(t), server.WithDecisionLog(rec))
	var leads []string
	for _, name := range []string{"vp-fintech", "director-logistics", "competitor", "missing-firmographics", "wrong-type-employees", "free-mail-unserved", "student-intern", "misspelt-keys"} {
		leads = append(leads, compact(t, readFile(t, "testdata/leads/"+name+".json")))
	}
	const bad = `{"lead": [}`

	post := func(path, ctype, body string) string {
		t.Helper()
		resp := do(t, ts, httpCase{method: "POST", path: path, ctype: ctype, body: body})
		if resp.status != http.StatusOK {
			t.Fatalf("POST %s = %d: %s", path, resp.status, resp.body)
		}
		return strings.TrimSuffix(string(resp.body), "\n")
	}
	// What a fresh decision says of each lead, and the counts it adds.
	want := map[string][]string{} // by detail
	hitsOf := make([]map[string]int, len(leads))
	for _, detail := range []string{"", "&detail=brief"} {
		for i, lead := range leads {
			answer := post("/v1/score?ruleset=b2b-saas"+detail, "application/json", lead)
			want[detail] = append(want[detail], withoutID(answer))
			if detail != "" {
				continue
			}
			var d struct {
				Qualified          bool
				Tier               string
				Knockouts, Matched []struct{ Rule string }
			}
			if err := json.Unmarshal([]byte(answer), &d); err != nil {
				t.Fatal(err)
			}
			hitsOf[i] = map[string]int{fmt.Sprintf(`leadq_decisions_total{qualified="%t",ruleset="b2b-saas",tier="%s"}`, d.Qualified, d.Tier): 1}
			for _, h := range append(d.Knockouts, d.Matched...) {
				hitsOf[i][fmt.Sprintf(`leadq_rule_hits_total{rule="%s",ruleset="b2b-saas"}`, h.Rule)]++
			}
		}
	}
	before := counters(t, ts)
	counted := map[string]int{}
	order := func(k int) int { return (k*5 + k/len(leads)) % len(leads) } // leads in varying order and neighbours

	for _, detail := range []string{"", "&detail=brief"} {
		var lines []string
		for k := range 1500 {
			if k%101 == 50 {
				lines = append(lines, bad)
				continue
			}
			lines = append(lines, leads[order(k)])
		}
		answers := strings.Split(post("/v1/score/stream?ruleset=b2b-saas"+detail, "application/x-ndjson", strings.Join(lines, "\n")+"\n"), "\n")
		if len(answers) != len(lines) {
			t.Fatalf("stream%s: %d answers to %d lines", detail, len(answers), len(lines))
		}
		for k, answer := range answers {
			if lines[k] == bad {
				if !strings.Contains(answer, `"line":`+strconv.Itoa(k+1)) {
					t.Errorf("stream%s line %d: %s; want its error", detail, k+1, answer)
				}
				continue
			}
			if got := withoutID(answer); got != want[detail][order(k)] {
				t.Fatalf("stream%s line %d:\n%s\nwant /v1/score's\n%s", detail, k+1, got, want[detail][order(k)])
			}
			checkLogged(t, rec, answer)
			for key, n := range hitsOf[order(k)] {
				counted[key] += n
			}
		}

		// 300 elements: chunks of 64 decided into the previous chunk's decisions.
		var elems []string
		for k := range 300 {
			if k%61 == 30 {
				elems = append(elems, `"not a lead"`)
				continue
			}
			elems = append(elems, leads[order(k)])
		}
		var batch struct {
			Decisions []json.RawMessage
			Failed    int
		}
		if err := json.Unmarshal([]byte(post("/v1/score/batch?ruleset=b2b-saas"+detail, "application/json", "["+strings.Join(elems, ",")+"]")), &batch); err != nil {
			t.Fatal(err)
		}
		if len(batch.Decisions) != len(elems) || batch.Failed != 5 {
			t.Fatalf("batch%s: %d decisions, %d failed; want %d and 5", detail, len(batch.Decisions), batch.Failed, len(elems))
		}
		for k, raw := range batch.Decisions {
			answer := string(raw)
			if strings.HasPrefix(elems[k], `"`) {
				if !strings.Contains(answer, `"index":`+strconv.Itoa(k)) {
					t.Errorf("batch%s element %d: %s; want its error", detail, k, answer)
				}
				continue
			}
			if got := withoutID(answer); got != want[detail][order(k)] {
				t.Fatalf("batch%s element %d:\n%s\nwant /v1/score's\n%s", detail, k, got, want[detail][order(k)])
			}
			checkLogged(t, rec, answer)
			for key, n := range hitsOf[order(k)] {
				counted[key] += n
			}
		}
	}
	after := counters(t, ts)
	for key := range after {
		after[key] -= before[key]
		if after[key] == 0 {
			delete(after, key)
		}
	}
	if diff := cmp.Diff(counted, after); diff != "" {
		t.Errorf("counters added by the streams and batches (-the leads' decisions +counted):\n%s", diff)
	}
}

// checkLogged checks that the decision log was given the decision
// answered.
func checkLogged(t *testing.T, rec *recordingLog, answer string) {
	t.Helper()
	var d struct{ ID string }
	if err := json.Unmarshal([]byte(answer), &d); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	logged, ok := rec.got[d.ID]
	rec.mu.Unlock()
	if !ok || logged != answer {
		t.Fatalf("decision %s: logged\n%s\nanswered\n%s", d.ID, logged, answer)
	}
}

// counters reads leadq_decisions_total and leadq_rule_hits_total from
// /metrics, by series.
func counters(t *testing.T, ts *httptest.Server) map[string]int {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "leadq_decisions_total{") && !strings.HasPrefix(line, "leadq_rule_hits_total{") {
			continue
		}
		series, value, _ := strings.Cut(line, " ")
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		out[series] = int(n)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
