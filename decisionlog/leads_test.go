package decisionlog

import (
	"fmt"
	"testing"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// B2BSaaS is examples/rulesets' b2b-saas, compiled: the ruleset the
// tests and benchmarks of both test packages log decisions of.
func B2BSaaS(t testing.TB) *engine.Ruleset {
	t.Helper()
	sets, err := rules.LoadPaths("../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range sets {
		if rs.Name == "b2b-saas" {
			return engine.NewRuleset(rs)
		}
	}
	t.Fatal("no b2b-saas ruleset in examples/rulesets")
	return nil
}

// DistinctLead makes doc, a request of examples/leads, the request of lead
// i of its own: lead id 00Q%08d, email lead.i@company(i/10).example and
// company "Company (i/10) Holdings" (ten leads a company). The request and
// its lead object are copies: doc is left as it was. It returns both, for
// a caller to change more of the lead. The tests and benchmarks of both
// test packages log decisions about many distinct leads with it.
func DistinctLead(doc map[string]any, i int) (request, lead map[string]any) {
	request = cloneMap(doc)
	lead = request
	if l, ok := request["lead"].(map[string]any); ok {
		lead = cloneMap(l)
		request["lead"] = lead
	}
	request["id"] = fmt.Sprintf("00Q%08d", i)
	lead["email"] = fmt.Sprintf("lead.%d@company%d.example", i, i/10)
	lead["company"] = fmt.Sprintf("Company %d Holdings", i/10)
	return request, lead
}
