package server_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/server"
	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics scores a few leads and checks the series they must produce.
func TestMetrics(t *testing.T) {
	eng := newEngine(t)
	ts := newServer(t, eng)
	b2b, _ := eng.Ruleset("b2b-saas")
	acc, _ := eng.Ruleset("account-health")
	do(t, ts, httpCase{method: "POST", path: "/v1/score?ruleset=b2b-saas", body: readFile(t, "testdata/leads/vp-fintech.json")})
	do(t, ts, httpCase{method: "POST", path: "/v1/score?ruleset=b2b-saas", body: readFile(t, "testdata/leads/competitor.json")})
	do(t, ts, httpCase{method: "POST", path: "/v1/score/batch?ruleset=b2b-saas", body: "[" + readFile(t, "testdata/leads/vp-fintech.json") + ", 7]"})
	do(t, ts, httpCase{method: "POST", path: "/v1/score?ruleset=b2b-saas", body: "{"})
	do(t, ts, httpCase{method: "POST", path: "/v1/score?ruleset=b2b-saas&strict=true", body: readFile(t, "testdata/leads/wrong-type-employees.json")})
	do(t, ts, httpCase{method: "BREW", path: "/coffee"})
	do(t, ts, httpCase{method: "GET", path: "/v1/score"})           // 405, under its route
	do(t, ts, httpCase{method: "DELETE", path: "/v1/decisions/42"}) // 405 of a pattern
	// A stream is counted per chunk of lines, on every core: the same totals.
	line := strings.ReplaceAll(readFile(t, "testdata/leads/vp-fintech.json"), "\n", " ") + "\n"
	do(t, ts, httpCase{method: "POST", path: "/v1/score/stream?ruleset=b2b-saas", ctype: "application/x-ndjson",
		body: strings.Repeat(line, 6) + "{\n" + line})

	got := string(do(t, ts, httpCase{method: "GET", path: "/metrics"}).body)
	for _, want := range []string{
		`leadq_decisions_total{qualified="true",ruleset="b2b-saas",tier="A"} 9`,
		`leadq_decisions_total{qualified="false",ruleset="b2b-saas",tier="A"} 1`, // the competitor scores an A but is knocked out
		`leadq_rule_hits_total{rule="competitor",ruleset="b2b-saas"} 1`,
		`leadq_rule_hits_total{rule="target-industry",ruleset="b2b-saas"} 10`,
		`leadq_leads_refused_total{code="invalid_json"} 3`, // the bad batch item, the bad body, the bad line
		`leadq_leads_refused_total{code="invalid_input"} 1`,
		`leadq_http_request_duration_seconds_count{code="200",method="POST",route="/v1/score"} 2`,
		`leadq_http_request_duration_seconds_count{code="200",method="POST",route="/v1/score/batch"} 1`,
		`leadq_http_request_duration_seconds_count{code="400",method="POST",route="/v1/score"} 1`,
		`leadq_http_request_duration_seconds_count{code="422",method="POST",route="/v1/score"} 1`,
		`leadq_http_request_duration_seconds_count{code="404",method="other",route="other"} 1`, // no label from client input
		`leadq_http_request_duration_seconds_count{code="405",method="GET",route="/v1/score"} 1`,
		`leadq_http_request_duration_seconds_count{code="405",method="DELETE",route="/v1/decisions/{id}"} 1`,
		"leadq_rules_last_reload_successful 1",
		"leadq_rules_reloads_total 1",
		"leadq_rules_reload_failures_total 0",
		"leadq_rules_ready 1",
		`leadq_ruleset_info{ruleset="b2b-saas",version="` + b2b.Version + `"} 1`,
		`leadq_ruleset_info{ruleset="account-health",version="` + acc.Version + `"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("GET /metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`\nleadq_rules_last_reload_success_timestamp_seconds [0-9.e+]+\n`).MatchString(got) ||
		strings.Contains(got, "\nleadq_rules_last_reload_success_timestamp_seconds 0\n") {
		t.Errorf("GET /metrics lacks a non-zero leadq_rules_last_reload_success_timestamp_seconds")
	}
}

// TestRegistry checks that servers do not share metrics unless told to.
func TestRegistry(t *testing.T) {
	eng := engine.New(engine.Static())
	if _, err := server.New(eng); err != nil {
		t.Fatalf("first New: %v", err)
	}
	if _, err := server.New(eng); err != nil {
		t.Fatalf("second New with its own registry: %v", err)
	}
	reg := prometheus.NewRegistry()
	if _, err := server.New(eng, server.WithRegistry(reg)); err != nil {
		t.Fatalf("New(WithRegistry): %v", err)
	}
	if _, err := server.New(eng, server.WithRegistry(reg)); err == nil {
		t.Errorf("a second server registering in the same registry = nil error; want a conflict")
	}
	if _, err := server.New(eng, server.WithMaxBody(0)); err == nil {
		t.Errorf("New(WithMaxBody(0)) = nil error; want an error")
	}
}
