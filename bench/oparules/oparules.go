// Package oparules is the b2b-saas ruleset as an OPA policy (b2b_saas.rego,
// Rego v1), evaluated with a prepared query: what a team that picked OPA
// instead of leadq would run. The policy decides the knockouts and matched
// rules, renders the same reasons as leadq, caps the groups and picks the
// tier; Go decodes the result, puts the sets in the ruleset's order and
// lists the positive rules that did not fire.
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

// rules are the knockouts and score rules in the ruleset's order, with
// what the decision shows of the positive rules that did not fire.
var rules = []struct {
	id          string
	group       string
	points      int
	description string
}{
	{"competitor", "", 0, ""}, {"student-or-intern", "", 0, ""}, {"unserved-country", "", 0, ""},
	{"too-small", "", 0, ""}, {"free-email-no-company", "", 0, ""}, {"existing-customer", "", 0, ""},
	{"target-industry", "fit", 20, "In one of the industries of our top accounts"},
	{"adjacent-industry", "fit", 8, "In an adjacent industry"},
	{"mid-market", "fit", 15, "100 to 999 employees"},
	{"enterprise", "fit", 20, "1,000+ employees or USD 250M+ annual revenue"},
	{"below-sweet-spot", "fit", -5, "10 to 49 employees"},
	{"revenue-sweet-spot", "fit", 10, "USD 10M to 250M annual revenue"},
	{"decision-maker", "fit", 15, "Director, VP or C-level"},
	{"influencer", "fit", 8, "Head-of or manager"},
	{"ops-title", "fit", 5, "Works in revenue, sales or marketing operations"},
	{"priority-country", "fit", 5, "In a country with a local sales team"},
	{"uses-our-crm", "fit", 10, "Uses Salesforce, HubSpot, Dynamics 365 or Pipedrive"},
	{"modern-data-stack", "fit", 5, "Uses a cloud warehouse or data pipeline"},
	{"salesforce-and-snowflake", "fit", 5, "Uses both Salesforce and Snowflake"},
	{"spreadsheet-pain", "fit", 5, "Manages pipeline in spreadsheets (a pain we remove)"},
	{"free-email", "fit", -10, "Free-mail address instead of a work address"},
	{"demo-requested", "engagement", 25, "Requested a demo"},
	{"trial-started", "engagement", 20, "Started a free trial"},
	{"pricing-page", "engagement", 10, "Two or more pricing-page visits in 30 days"},
	{"heavy-browsing", "engagement", 10, "20+ page views in 30 days"},
	{"browsing", "engagement", 5, "5 to 19 page views in 30 days"},
	{"email-engaged", "engagement", 5, "Five or more email opens in 90 days"},
	{"email-clicks", "engagement", 5, "Two or more email clicks in 90 days"},
	{"webinar-attended", "engagement", 10, "Attended a webinar"},
	{"content-downloads", "engagement", 5, "Two or more content downloads"},
	{"recent-activity", "engagement", 10, "Activity in the last 14 days"},
	{"stale", "engagement", -15, "No activity for more than 90 days"},
	{"cold", "engagement", -10, "Under 2 page views and under 2 email opens, no demo request"},
	{"unsubscribed", "engagement", -10, "Unsubscribed from marketing email"},
	{"high-intent-source", "", 10, "Demo request, referral, partner or event"},
	{"low-intent-source", "", -10, "Purchased list, giveaway or cold list"},
	{"budget-confirmed", "", 15, "Budget confirmed by the lead"},
	{"near-term-timeline", "", 10, "Plans to buy within three months"},
	{"long-timeline", "", -10, "Not buying within a year"},
	{"buying-committee", "", 5, "The account already has an open opportunity"},
	{"engaged-decision-maker", "", 10, "A decision maker who is engaged or raised a hand"},
}

// order is the position of each rule in the ruleset's files.
var order = func() map[string]int {
	m := make(map[string]int, len(rules))
	for i, r := range rules {
		m[r.id] = i
	}
	return m
}()

// missedOrder lists the positive score rules by points, largest first, then
// in the ruleset's order: the order of Decision.Missed.
var missedOrder = func() []int {
	var idx []int
	for i, r := range rules {
		if r.points > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return rules[b].points - rules[a].points })
	return idx
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
	var fired [64]bool
	for _, h := range d.Matched {
		fired[order[h.Rule]] = true
	}
	d.Missed = make([]Miss, 0, len(missedOrder))
	for _, i := range missedOrder {
		if r := rules[i]; !fired[i] {
			d.Missed = append(d.Missed, Miss{Rule: r.id, Group: r.group, Points: r.points, Description: r.description})
		}
	}
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
