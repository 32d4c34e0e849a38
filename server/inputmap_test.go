package server_test

import (
	"encoding/json"
	"testing"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/server"
)

// inputMaps reads the example CRM maps, as leadq serve --input-map does.
func inputMaps(t *testing.T) map[string]server.InputMapper {
	t.Helper()
	maps := map[string]server.InputMapper{}
	for _, name := range []string{"hubspot", "salesforce"} {
		path := "../examples/crm/" + name + ".yaml"
		m, err := backtest.ParseMapping(path, []byte(readFile(t, path)))
		if err != nil {
			t.Fatal(err)
		}
		maps[name] = m
	}
	return maps
}

// TestInputMaps: a HubSpot contact and a Salesforce Lead are scored as
// sent, per request (?map=) or per ruleset, like the lead they describe
// sent in leadq's own shape; ?map=none and unknown maps behave.
func TestInputMaps(t *testing.T) {
	ts := newServer(t, newEngine(t), server.WithInputMaps(inputMaps(t), map[string]string{"b2b-saas": "salesforce"}))
	type decision struct {
		LeadID string `json:"lead_id"`
		Tier   string `json:"tier"`
		Score  int    `json:"score"`
	}
	var native decision
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas&map=none", readFile(t, "testdata/leads/vp-fintech.json"), &native); code != 200 {
		t.Fatalf("native lead with map=none: status %d", code)
	}
	var sf decision
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas", readFile(t, "../examples/crm/salesforce-lead.json"), &sf); code != 200 {
		t.Fatalf("Salesforce Lead through the ruleset's map: status %d", code)
	}
	if sf != native {
		t.Errorf("Salesforce Lead scored %+v; want %+v, as the same lead in leadq's shape", sf, native)
	}
	var hs struct {
		decision
		Missing []string `json:"missing_fields"`
	}
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas&map=hubspot", readFile(t, "../examples/crm/hubspot-contact.json"), &hs); code != 200 {
		t.Fatalf("HubSpot contact with map=hubspot: status %d", code)
	}
	if hs.LeadID != "51" || hs.Tier != "A" || hs.Score < 100 {
		t.Errorf("HubSpot contact scored %+v; want lead 51 in tier A (its properties read as typed fields)", hs.decision)
	}
	var batch struct {
		Decisions []decision `json:"decisions"`
	}
	body, _ := json.Marshal([]json.RawMessage{json.RawMessage(readFile(t, "../examples/crm/salesforce-lead.json"))})
	if code := call(t, ts, "POST", "/v1/score/batch?ruleset=b2b-saas", string(body), &batch); code != 200 || len(batch.Decisions) != 1 || batch.Decisions[0] != native {
		t.Errorf("batch of a Salesforce Lead = %d, %+v; want it scored as %+v", code, batch.Decisions, native)
	}
	var e struct{ Code, Message string }
	if code := call(t, ts, "POST", "/v1/score?ruleset=b2b-saas&map=pipedrive", "{}", &e); code != 400 || e.Code != "bad_parameter" {
		t.Errorf("unknown map = %d %+v; want 400 bad_parameter", code, e)
	}
	if _, err := server.New(newEngine(t), server.WithInputMaps(nil, map[string]string{"b2b-saas": "hubspot"})); err == nil {
		t.Error("New with a ruleset map naming no map succeeded; want an error")
	}
}
