package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLeadIDAcrossEndpoints: a lead id of each JSON type reads alike in a
// single answer, a batch and a stream (engine's TestLeadIDTypes holds the
// fast decoder to the map path): a number is its text as sent, an object,
// a list or a boolean is no id with a warning on its key. A lead refused
// in a batch or stream names its numeric id as well.
func TestLeadIDAcrossEndpoints(t *testing.T) {
	ts := newServer(t, newEngine(t))
	requests := []struct{ request, id, warned string }{
		{`{"id": "A-1", "lead": {"employees": 50}}`, "A-1", ""},
		{`{"id": 12345678901234567890, "lead": {"employees": 50}}`, "12345678901234567890", ""},
		{`{"id": -1.50e+3, "lead": {"employees": 50}}`, "-1.50e+3", ""},
		{`{"id": null, "lead": {"employees": 50}}`, "", ""},
		{`{"id": {"crm": 5}, "lead": {"employees": 50}}`, "", "id"},
		{`{"id": true, "lead_id": 9, "lead": {"employees": 50}}`, "9", "id"},
		{`{"lead": {"id": [77], "employees": 50}}`, "", "lead.id"},
		{`{"lead_id": 42, "employees": 50}`, "42", ""},
		{`{"id": 12345678901234567891, "lead": [1]}`, "12345678901234567891", "refused"},
	}
	type answer struct {
		LeadID   string `json:"lead_id"`
		Warnings []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"warnings"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	summary := func(a answer) string {
		var warned []string
		for _, w := range a.Warnings {
			if strings.Contains(w.Message, "expected the lead's id as a string or number") {
				warned = append(warned, w.Field)
			}
		}
		if a.Error != nil {
			warned = append(warned, "refused")
		}
		return a.LeadID + " " + strings.Join(warned, ",")
	}
	var want, single, lines []string
	var body []string
	for _, r := range requests {
		want = append(want, r.id+" "+r.warned)
		body = append(body, r.request)
		var a answer
		code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas&detail=brief", r.request, &a)
		if code != http.StatusOK {
			a = answer{LeadID: r.id} // the single answer is an error; its id is in batches and streams
			a.Error = &struct {
				Code string `json:"code"`
			}{"error"}
		}
		single = append(single, summary(a))
	}
	if diff := cmp.Diff(want, single); diff != "" {
		t.Errorf("POST /v1/score (-want +got):\n%s", diff)
	}

	var batch struct {
		Decisions []answer `json:"decisions"`
	}
	if code := call(t, ts, "POST", "/v1/score/batch?ruleset=b2b-saas&detail=brief", "["+strings.Join(body, ",")+"]", &batch); code != http.StatusOK {
		t.Fatalf("batch: %d", code)
	}
	var batched []string
	for _, a := range batch.Decisions {
		batched = append(batched, summary(a))
	}
	if diff := cmp.Diff(want, batched); diff != "" {
		t.Errorf("POST /v1/score/batch (-want +got):\n%s", diff)
	}

	req, err := http.NewRequest("POST", ts.URL+"/v1/score/stream?ruleset=b2b-saas&detail=brief", strings.NewReader(strings.Join(body, "\n")+"\n"))
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
		var a answer
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		lines = append(lines, summary(a))
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("POST /v1/score/stream (-want +got):\n%s", diff)
	}
}
