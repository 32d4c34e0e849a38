package server_test

import (
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
	check := func(where string, a scored) {
		t.Helper()
		for _, w := range a.Warnings {
			if w.Field == "lead.company" && strings.Contains(w.Message, "not UTF-8") {
				return
			}
		}
		t.Errorf("%s: lead %s warnings %+v; want one on lead.company saying its value is not UTF-8", where, a.LeadID, a.Warnings)
	}
	a := decideEverywhere(t, ts, lead)
	if a.codes[0] != http.StatusOK || len(a.batch) != 1 || len(a.stream) != 1 {
		t.Fatalf("answers: status %d, %d in the batch, %d stream lines; want 200, one, one", a.codes[0], len(a.batch), len(a.stream))
	}
	for _, got := range []struct {
		where  string
		answer json.RawMessage
	}{{"POST /v1/score", a.single[0]}, {"POST /v1/score/batch", a.batch[0]}, {"POST /v1/score/stream", a.stream[0]}} {
		var x scored
		if err := json.Unmarshal(got.answer, &x); err != nil {
			t.Fatalf("%s: %s: %v", got.where, got.answer, err)
		}
		check(got.where, x)
	}
}
