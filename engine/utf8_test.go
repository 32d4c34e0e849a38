package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
)

// TestInvalidUTF8Warned: a value holding bytes that are not UTF-8 (a
// sender of Latin-1) is still read, as U+FFFD, and the decision warns on
// each declared field that held one, on the fast decoder (which leaves
// such values to the map path) and the map path alike. It was replaced
// without a word.
func TestInvalidUTF8Warned(t *testing.T) {
	testReplacedWarned(t, "the value holds bytes that are not UTF-8 (sent as Latin-1 or Windows-1252?): each was read as U+FFFD (\ufffd); send UTF-8", []replacedCase{
		{"valid", `{"lead": {"industry": "Café", "company": "Ärzte \u00e9"}}`, nil},
		{"string field", "{\"lead\": {\"industry\": \"Caf\xe9\", \"employees\": 50}}", []string{"lead.industry"}},
		{"two fields", "{\"lead\": {\"company\": \"M\xfcller \xff\", \"country\": \"DE\", \"industry\": \"Caf\xe9\"}}", []string{"lead.company", "lead.industry"}},
		{"list item", "{\"lead\": {\"tech_stack\": [\"hubspot\", \"sales\xffforce\"]}}", []string{"lead.tech_stack"}},
		{"account field", "{\"lead\": {\"employees\": 50}, \"account\": {\"open_opportunities\": \"\xff\"}}", []string{"account.open_opportunities"}},
		{"bare lead", "{\"id\": \"B-1\", \"industry\": \"\xe9nergie\"}", []string{"lead.industry"}},
		{"flat lead with its account", "{\"industry\": \"\xe9nergie\", \"account\": {}}", []string{"lead.industry"}},
		{"undeclared key", "{\"lead\": {\"notes\": \"\xff\", \"nope\xff\": 1}}", nil},
		{"escaped, not invalid", `{"lead": {"industry": "\u00ff"}}`, nil},
		{"request's id", "{\"id\": \"L-\xff\", \"lead\": {\"employees\": 50}}", []string{"id"}},
		{"lead object's id", "{\"lead\": {\"lead_id\": \"L-\xff\", \"employees\": 50}}", []string{"lead.lead_id"}},
		{"bare lead's id", "{\"id\": \"B-\xe9\", \"industry\": \"retail\"}", []string{"id"}},
		{"flat lead's id", "{\"lead_id\": \"B-\xe9\", \"account\": {}}", []string{"lead_id"}},
	})
}

// TestLoneSurrogateWarned: a value escaping half of a UTF-16 pair without
// the other ("\ud83d" alone, a text cut inside an emoji by a sender that
// counts UTF-16 units) is read as U+FFFD, as encoding/json reads it, and
// the decision warns on its field, on the fast decoder (which leaves such
// values to the map path) and the map path alike. A whole pair, or an
// escaped backslash before "ud83d", is no lone half.
func TestLoneSurrogateWarned(t *testing.T) {
	testReplacedWarned(t, "the value escapes half of a UTF-16 pair", []replacedCase{
		{"a whole pair", `{"lead": {"industry": "fintech \ud83d\ude00"}}`, nil},
		{"first half alone", `{"lead": {"industry": "fintech \ud83d", "employees": 50}}`, []string{"lead.industry"}},
		{"second half alone", `{"lead": {"company": "\ude00 Acme"}}`, []string{"lead.company"}},
		{"first half before another escape", `{"lead": {"industry": "\ud83d\u0041"}}`, []string{"lead.industry"}},
		{"an escaped backslash", `{"lead": {"industry": "a\\ud83d"}}`, nil},
		{"list item", `{"lead": {"tech_stack": ["hubspot", "x\ud83d"]}}`, []string{"lead.tech_stack"}},
		{"undeclared key", `{"lead": {"notes": "\ud83d"}}`, nil},
		{"the id", `{"id": "L-\ud83d", "lead": {"employees": 50}}`, []string{"id"}},
		{"bare lead", `{"industry": "\udfff"}`, []string{"lead.industry"}},
	})
}

// replacedCase is a request and the fields its decision should warn of
// (testReplacedWarned).
type replacedCase struct {
	name, request string
	warned        []string
}

// testReplacedWarned decides each case's request with b2b-saas, on the
// fast decoder and the map path alike (checkSameDecision), and compares
// the fields of the warnings whose message starts with prefix with the
// case's.
func testReplacedWarned(t *testing.T, prefix string, cases []replacedCase) {
	rss := decodeRulesets(t)
	rs := b2bSaaSOf(t, rss)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkSameDecision(t, rss, []byte(tc.request))
			d, err := rs.ScoreJSON(context.Background(), []byte(tc.request), engine.Options{Clock: func() time.Time { return fixedNow }})
			if err != nil {
				t.Fatalf("ScoreJSON(%q): %v", tc.request, err)
			}
			var warned []string
			for _, w := range d.Warnings {
				if strings.HasPrefix(w.Message, prefix) {
					warned = append(warned, w.Field)
				}
			}
			if diff := cmp.Diff(tc.warned, warned); diff != "" {
				t.Errorf("ScoreJSON(%q): fields warned %q... (-want +got):\n%s\nall warnings: %v", tc.request, prefix, diff, d.Warnings)
			}
		})
	}
}
