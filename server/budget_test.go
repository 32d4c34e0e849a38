package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/server"
)

// slowRules has the rule: a regexp over a 100 KB title in a loop
// as long as the lead's employee count (69 s for 20,000 employees).
const slowRules = `ruleset: slow
fields:
  lead.employees: int
  lead.title: string
score:
  - id: slow
    when: any(1..lead.employees, lead.title matches '(a+)+$')
    points: 10
  - id: big
    when: lead.employees > 100
    points: 20
tiers:
  - {name: A, min: 20}
  - {name: D}
`

func slowEngine(t *testing.T, opts ...engine.Option) *engine.Engine {
	t.Helper()
	eng, err := engine.Open(context.Background(), engine.FS(fstest.MapFS{"slow.yaml": {Data: []byte(slowRules)}}), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func slowBody(employees int) string {
	b, _ := json.Marshal(map[string]any{"employees": employees, "title": strings.Repeat("a", 100_000) + "b"})
	return string(b)
}

// TestTimeoutStopsWork: --timeout ends the decision, not only the wait:
// the answer is a 503 timeout within moments of it, where the loop would
// run for minutes.
func TestTimeoutStopsWork(t *testing.T) {
	ts := newServer(t, slowEngine(t), server.WithTimeout(200*time.Millisecond))
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/v1/score", "/v1/score/batch"} {
		body := slowBody(200_000)
		if path == "/v1/score/batch" {
			body = "[" + body + "]"
		}
		start := time.Now()
		resp, err := client.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v (the server did not stop deciding)", path, err)
		}
		var e struct{ Code string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if took := time.Since(start); resp.StatusCode != http.StatusServiceUnavailable || e.Code != "timeout" || took > 3*time.Second {
			t.Errorf("POST %s with a loop of minutes = %d %s after %v; want 503 timeout soon after the 200ms timeout", path, resp.StatusCode, e.Code, took)
		}
	}
}

// TestBudgetInAnswer: a decision whose loop runs out of the engine's
// budget answers 200, with the rule errored and the others decided.
func TestBudgetInAnswer(t *testing.T) {
	ts := newServer(t, slowEngine(t, engine.WithBudget(50*time.Millisecond)))
	code, body := anon(t, ts.URL, "POST", "/v1/score", slowBody(20_000))
	var d engine.Decision
	json.Unmarshal([]byte(body), &d)
	if code != 200 || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Message, "time budget exceeded") || d.Tier != "A" {
		t.Errorf("POST /v1/score = %d %s; want 200, rule slow errored with time budget exceeded, tier A from the others", code, body)
	}
}
