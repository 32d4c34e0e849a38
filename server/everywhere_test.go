package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
)

// scored is what the tests over decideEverywhere read of an answer: the
// lead id, the warnings, and a refused item's error.
type scored struct {
	LeadID   string           `json:"lead_id"`
	Warnings []engine.Warning `json:"warnings"`
	Error    *refusal         `json:"error"`
}

type refusal struct {
	Code string `json:"code"`
}

// answers are each scoring endpoint's answers to the same requests, as
// brief decisions of b2b-saas (decideEverywhere).
type answers struct {
	single []json.RawMessage // POST /v1/score's answer to each request (an error's body when refused)
	codes  []int             // and its status
	batch  []json.RawMessage // POST /v1/score/batch's decisions, all the requests in one batch
	stream []json.RawMessage // POST /v1/score/stream's lines, all the requests in one stream
}

// decideEverywhere sends requests to the three scoring endpoints, so that
// a test can hold their answers to one another.
func decideEverywhere(t *testing.T, ts *httptest.Server, requests ...string) answers {
	t.Helper()
	const query = "?ruleset=b2b-saas&detail=brief"
	var a answers
	for _, r := range requests {
		var one json.RawMessage
		a.codes = append(a.codes, call(t, ts, "POST", "/v1/score"+query, r, &one))
		a.single = append(a.single, one)
	}
	var batch struct {
		Decisions []json.RawMessage `json:"decisions"`
	}
	if code := call(t, ts, "POST", "/v1/score/batch"+query, "["+strings.Join(requests, ",")+"]", &batch); code != http.StatusOK {
		t.Fatalf("batch: %d", code)
	}
	a.batch = batch.Decisions
	req, err := http.NewRequest("POST", ts.URL+"/v1/score/stream"+query, strings.NewReader(strings.Join(requests, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		a.stream = append(a.stream, json.RawMessage(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return a
}
