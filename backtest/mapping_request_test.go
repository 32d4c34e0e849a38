package backtest_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/backtest"
)

func TestMappingRequest(t *testing.T) {
	m, err := backtest.ParseMapping("crm.yaml", []byte(`id: Id
missing: ["", "n/a"]
fields:
  lead.employees: properties.numberofemployees
  lead.industry: properties.industry
  lead.title: Title
  account.is_customer: Account.IsCustomer__c
`))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"Id": 42, "Title": "n/a", "properties": {"numberofemployees": "250", "industry": ""},
		"Account": {"IsCustomer__c": true}, "Unmapped": 1}`), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "42", "lead": map[string]any{"employees": "250"}, "account": map[string]any{"is_customer": true}}
	if diff := cmp.Diff(want, m.Request(doc)); diff != "" {
		t.Errorf("Request mismatch (-want +got):\n%s", diff)
	}
}
