package server_test

import (
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
	summary := func(a scored) string {
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
	var want, body []string
	for _, r := range requests {
		want = append(want, r.id+" "+r.warned)
		body = append(body, r.request)
	}
	a := decideEverywhere(t, ts, body...)
	summaries := func(where string, list []json.RawMessage) []string {
		var out []string
		for i, raw := range list {
			var x scored
			if err := json.Unmarshal(raw, &x); err != nil {
				t.Fatalf("%s: %s: %v", where, raw, err)
			}
			if where == "POST /v1/score" && a.codes[i] != http.StatusOK {
				// The single answer is an error; the id is in batches and streams.
				x = scored{LeadID: requests[i].id, Error: &refusal{"error"}}
			}
			out = append(out, summary(x))
		}
		return out
	}
	for _, got := range []struct {
		where string
		list  []json.RawMessage
	}{{"POST /v1/score", a.single}, {"POST /v1/score/batch", a.batch}, {"POST /v1/score/stream", a.stream}} {
		if diff := cmp.Diff(want, summaries(got.where, got.list)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", got.where, diff)
		}
	}
}
