package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
)

// leadIDCases are requests whose lead id is of each JSON type, for the
// tests of every path that reads it (the fast decoder and the map path
// here; the server's single, batch and stream answers and leadq score in
// theirs): a number is its text as sent, null is no id, and an object, a
// list or a boolean is no id with a warning on its key.
var leadIDCases = []struct {
	name, request string
	id            string
	warned        []string // fields of the id warnings, sorted
}{
	{"string", `{"id": "A-1", "lead": {"employees": 50}}`, "A-1", nil},
	{"integer", `{"id": 123, "lead": {"employees": 50}}`, "123", nil},
	{"integer past float64", `{"id": 12345678901234567890, "lead": {"employees": 50}}`, "12345678901234567890", nil},
	{"number as sent", `{"id": -1.50e+3, "lead": {"employees": 50}}`, "-1.50e+3", nil},
	{"null", `{"id": null, "lead": {"employees": 50}}`, "", nil},
	{"object", `{"id": {"crm": 5}, "lead": {"employees": 50}}`, "", []string{"id"}},
	{"list", `{"id": [1], "lead": {"employees": 50}}`, "", []string{"id"}},
	{"boolean", `{"id": true, "lead": {"employees": 50}}`, "", []string{"id"}},
	{"lead's number", `{"lead": {"id": 77, "employees": 50}}`, "77", nil},
	{"lead's boolean", `{"lead": {"id": false, "employees": 50}}`, "", []string{"lead.id"}},
	{"lead_id after a bad id", `{"id": {"x": 1}, "lead_id": 9, "lead": {"employees": 50}}`, "9", []string{"id"}},
	{"bad lead_id after an id", `{"id": 8, "lead_id": [9], "lead": {"lead_id": {}, "employees": 50}}`, "8", []string{"lead.lead_id", "lead_id"}},
	{"bare lead's list", `{"id": [2], "employees": 50}`, "", []string{"id"}},
	{"bare lead's number", `{"lead_id": 42, "employees": 50}`, "42", nil},
	{"flat lead with its account", `{"id": true, "employees": 50, "account": {}}`, "", []string{"id"}},
}

// idWarnings lists the fields of d's warnings about the lead id.
func idWarnings(d engine.Decision) []string {
	var out []string
	for _, w := range d.Warnings {
		switch w.Field {
		case "id", "lead_id", "lead.id", "lead.lead_id":
			if !strings.Contains(w.Message, "expected the lead's id as a string or number, got ") {
				continue
			}
			out = append(out, w.Field)
		}
	}
	slices.Sort(out)
	return out
}

// TestLeadIDTypes: the fast decoder and the map path read a lead id of
// each JSON type alike. An id of the wrong type was dropped without a word.
func TestLeadIDTypes(t *testing.T) {
	rss := decodeRulesets(t)
	rs := b2bSaaSOf(t, rss)
	for _, tc := range leadIDCases {
		t.Run(tc.name, func(t *testing.T) {
			checkSameDecision(t, rss, []byte(tc.request))
			for _, strict := range []bool{false, true} {
				opts := engine.Options{Clock: func() time.Time { return fixedNow }, Strict: strict}
				d, err := rs.ScoreJSON(context.Background(), []byte(tc.request), opts)
				if err != nil && !strict {
					t.Fatalf("ScoreJSON(%s): %v", tc.request, err)
				}
				if err != nil {
					continue // a flat lead with its account is refused in strict mode
				}
				if d.LeadID != tc.id {
					t.Errorf("ScoreJSON(%s) strict=%v: lead id %q; want %q", tc.request, strict, d.LeadID, tc.id)
				}
				if diff := cmp.Diff(tc.warned, idWarnings(d)); diff != "" {
					t.Errorf("ScoreJSON(%s) strict=%v: id warnings (-want +got):\n%s\nall warnings: %v", tc.request, strict, diff, d.Warnings)
				}
			}
		})
	}
}
