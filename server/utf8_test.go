package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestInvalidUTF8WarnedAcrossEndpoints: a lead sent in Latin-1 is decided
// in a single answer, a batch and a stream, each warning on the field whose
// value held bytes that are not UTF-8 (read as U+FFFD, without a word).
func TestInvalidUTF8WarnedAcrossEndpoints(t *testing.T) {
	ts := newServer(t, newEngine(t))
	lead := "{\"id\": \"L-1\", \"lead\": {\"company\": \"M\xfcller GmbH\", \"employees\": 50}}"
	type answer struct {
		LeadID   string `json:"lead_id"`
		Warnings []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"warnings"`
	}
	check := func(where string, a answer) {
		t.Helper()
		for _, w := range a.Warnings {
			if w.Field == "lead.company" && strings.Contains(w.Message, "not UTF-8") {
				return
			}
		}
		t.Errorf("%s: lead %s warnings %+v; want one on lead.company saying its value is not UTF-8", where, a.LeadID, a.Warnings)
	}
	var single answer
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas&detail=brief", lead, &single); code != http.StatusOK {
		t.Fatalf("score: %d", code)
	}
	check("POST /v1/score", single)
	var batch struct {
		Decisions []answer `json:"decisions"`
	}
	if code := call(t, ts, "POST", "/v1/score/batch?ruleset=b2b-saas&detail=brief", "["+lead+"]", &batch); code != http.StatusOK || len(batch.Decisions) != 1 {
		t.Fatalf("batch: %d %+v", code, batch)
	}
	check("POST /v1/score/batch", batch.Decisions[0])
	req, err := http.NewRequest("POST", ts.URL+"/v1/score/stream?ruleset=b2b-saas&detail=brief", strings.NewReader(lead+"\n"))
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
	if !sc.Scan() {
		t.Fatal("stream: no answer")
	}
	var line answer
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatalf("stream line %q: %v", sc.Text(), err)
	}
	check("POST /v1/score/stream", line)
}
