// Package oparules is the b2b-saas ruleset as an OPA policy (b2b_saas.rego,
// Rego v1), evaluated with a prepared query: what a team that picked OPA
// instead of leadq would run. The policy renders the same reasons as leadq;
// Go only decodes the result and puts the sets in leadq's order.
//
// Engine is safe for concurrent use (a prepared query is).
package oparules

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Policy is the Rego source of the ruleset.
//
//go:embed b2b_saas.rego
var Policy string

// Query is the decision the engine evaluates.
const Query = "data.leadq.b2b.decision"

// Engine evaluates the prepared policy.
type Engine struct {
	q rego.PreparedEvalQuery
}

// New compiles the policy and prepares the decision query.
func New(ctx context.Context) (*Engine, error) {
	q, err := rego.New(rego.Query(Query), rego.Module("b2b_saas.rego", Policy)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", Query, err)
	}
	return &Engine{q: q}, nil
}

// Decision is the policy's verdict on one lead.
type Decision struct {
	LeadID     string
	Qualified  bool
	Tier       string
	Score      int
	Fit        int
	Engagement int
	Knockouts  []Hit  // in the ruleset's order
	Matched    []Hit  // in the ruleset's order
	Missed     []Miss // by points, largest first, then in the ruleset's order
}

// Hit is a knockout or score rule that fired.
type Hit struct {
	Rule   string
	Group  string
	Points int
	Reason string
}

// Miss is a positive score rule that did not fire.
type Miss struct {
	Rule        string
	Group       string
	Points      int
	Description string
}

// Decide evaluates input, {"id", "lead": {...}, "account": {...}} as Go
// values, with time.now_ns() at now.
func (e *Engine) Decide(ctx context.Context, input map[string]any, now time.Time) (Decision, error) {
	rs, err := e.q.Eval(ctx, rego.EvalInput(input), rego.EvalTime(now))
	if err != nil {
		return Decision{}, err
	}
	d, err := decode(rs)
	if id, ok := input["id"].(string); ok {
		d.LeadID = id
	}
	return d, err
}

// DecideJSON parses a JSON request into OPA's AST and evaluates it.
func (e *Engine) DecideJSON(ctx context.Context, data []byte, now time.Time) (Decision, error) {
	v, err := ast.ValueFromReader(bytes.NewReader(data))
	if err != nil {
		return Decision{}, err
	}
	rs, err := e.q.Eval(ctx, rego.EvalParsedInput(v), rego.EvalTime(now))
	if err != nil {
		return Decision{}, err
	}
	d, err := decode(rs)
	if obj, ok := v.(ast.Object); ok {
		if id := obj.Get(ast.InternedTerm("id")); id != nil {
			if s, ok := id.Value.(ast.String); ok {
				d.LeadID = string(s)
			}
		}
	}
	return d, err
}

// order is the position of each rule in the ruleset's files.
var order = func() map[string]int {
	ids := []string{
		"competitor", "student-or-intern", "unserved-country", "too-small", "free-email-no-company", "existing-customer",
		"target-industry", "adjacent-industry", "mid-market", "enterprise", "below-sweet-spot", "revenue-sweet-spot",
		"decision-maker", "influencer", "ops-title", "priority-country", "uses-our-crm", "modern-data-stack",
		"salesforce-and-snowflake", "spreadsheet-pain", "free-email", "demo-requested", "trial-started",
		"pricing-page", "heavy-browsing", "browsing", "email-engaged", "email-clicks", "webinar-attended",
		"content-downloads", "recent-activity", "stale", "cold", "unsubscribed", "high-intent-source",
		"low-intent-source", "budget-confirmed", "near-term-timeline", "long-timeline", "buying-committee",
		"engaged-decision-maker",
	}
	m := make(map[string]int, len(ids))
	for i, id := range ids {
		m[id] = i
	}
	return m
}()

var errResult = errors.New("unexpected policy result")

func decode(rs rego.ResultSet) (Decision, error) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return Decision{}, fmt.Errorf("%w: %d results", errResult, len(rs))
	}
	v, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("%w: %T", errResult, rs[0].Expressions[0].Value)
	}
	var d Decision
	d.Qualified, _ = v["qualified"].(bool)
	d.Tier, _ = v["tier"].(string)
	d.Score = num(v["score"])
	if g, ok := v["groups"].(map[string]any); ok {
		d.Fit, d.Engagement = num(g["fit"]), num(g["engagement"])
	}
	d.Knockouts = hits(v["knockouts"])
	d.Matched = hits(v["matched"])
	for _, x := range list(v["missed"]) {
		m, _ := x.(map[string]any)
		miss := Miss{Points: num(m["points"])}
		miss.Rule, _ = m["id"].(string)
		miss.Group, _ = m["group"].(string)
		miss.Description, _ = m["description"].(string)
		d.Missed = append(d.Missed, miss)
	}
	slices.SortFunc(d.Missed, func(a, b Miss) int {
		if a.Points != b.Points {
			return b.Points - a.Points
		}
		return order[a.Rule] - order[b.Rule]
	})
	return d, nil
}

func hits(v any) []Hit {
	out := []Hit{}
	for _, x := range list(v) {
		m, _ := x.(map[string]any)
		h := Hit{Points: num(m["points"])}
		h.Rule, _ = m["id"].(string)
		h.Group, _ = m["group"].(string)
		h.Reason, _ = m["reason"].(string)
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Hit) int { return order[a.Rule] - order[b.Rule] })
	return out
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func num(v any) int {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		return 0
	}
	return int(i)
}
