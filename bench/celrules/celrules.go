// Package celrules is the b2b-saas ruleset in CEL (cel-go): each rule's
// condition is one CEL expression, compiled and planned once, evaluated per
// lead; Go adds the points, caps the groups, picks the tier and renders the
// reasons, as a team embedding CEL would.
//
// lead and account are map(string, dyn) variables holding the lead's JSON
// values, and now is a timestamp. leadq's functions are CEL functions with
// Go bindings: domain(string), is_free_email(string) and
// days_since(string, timestamp); contains_any and contains_all are written
// with CEL's exists() macro over lowerAscii() (leadq compares with
// strings.EqualFold, which is the same for ASCII).
//
// A missing field is a missing map key, which CEL evaluates to an error,
// and CEL's && and || absorb errors the way leadq's three-valued logic
// absorbs unknowns (error && false is false, error || true is true). A rule
// fires only when its expression evaluates to true, so a rule that reads a
// missing field does not fire, as in leadq.
//
// Engine is safe for concurrent use (cel.Program is).
package celrules

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/leadq/leadq/bench/freemail"
)

// list writes a CEL list literal of strings.
func list(xs ...string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// The ruleset's lists (b2b-saas.lists.yaml), as CEL literals: constant lists
// that the planner turns into set lookups.
var (
	targetIndustries   = list("software", "fintech", "healthcare", "insurance", "logistics")
	adjacentIndustries = list("manufacturing", "retail", "professional-services", "media", "education")
	servedCountries    = list("US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "NL", "BE", "SE", "DK", "NO", "FI", "AU", "NZ")
	priorityCountries  = list("US", "GB", "DE")
	competitorDomains  = list("rivalcrm.example", "pipelinepro.example", "leadlynx.example", "funnelforge.example")
	crmPlatforms       = list("salesforce", "hubspot", "dynamics-365", "pipedrive")
	dataStack          = list("snowflake", "bigquery", "redshift", "databricks", "segment", "dbt", "fivetran")
	highIntentSources  = list("demo-request", "referral", "partner", "event")
	lowIntentSources   = list("purchased-list", "giveaway", "cold-list")
)

// The ruleset's macros, expanded into the expressions that use them.
var (
	decisionMaker = `lead.seniority in ["c-level", "vp", "director"]`
	influencer    = `lead.seniority in ["head", "manager"]`
	midMarket     = `lead.employees >= 100 && lead.employees < 1000`
	enterprise    = `lead.employees >= 1000 || lead.annual_revenue >= 250000000.0`
	engaged       = `lead.page_views >= 10 || lead.email_opens >= 5 || lead.webinar_attended`
	handRaiser    = `lead.demo_requested || lead.trial_started`
	engagedBuyer  = "(" + decisionMaker + ") && (" + engaged + " || " + handRaiser + ")"
)

// ruleDef is a rule as written in the ruleset.
type ruleDef struct {
	id, group   string
	points      int
	description string
	expr        string
	reason      string // leadq template: {{lead.x}} is the lead's value
}

var knockoutDefs = []ruleDef{
	{id: "competitor", expr: "domain(lead.email) in " + competitorDomains,
		reason: "{{lead.email}} belongs to a competitor"},
	{id: "student-or-intern",
		expr:   `lead.title.matches(r'(?i)\b(student|intern|internship|apprentice)\b') || lead.seniority in ["intern", "student"]`,
		reason: "{{lead.title or This lead}} is a student or intern, not a buyer"},
	{id: "unserved-country", expr: "!(lead.country.upperAscii() in " + servedCountries + ")",
		reason: "We do not sell or support in {{lead.country or an unknown country}}"},
	{id: "too-small", expr: "lead.employees < 10",
		reason: "{{lead.company or This company}} has {{lead.employees}} employees; we serve 10 or more"},
	{id: "free-email-no-company", expr: `is_free_email(lead.email) && lead.company.trim() == ""`,
		reason: "Free-mail address {{lead.email}} and no company given"},
	{id: "existing-customer", expr: "account.is_customer",
		reason: "{{lead.company or This company}} is already a customer; route to the account manager"},
}

var scoreDefs = []ruleDef{
	{"target-industry", "fit", 20, "In one of the industries of our top accounts",
		"lead.industry.lowerAscii() in " + targetIndustries, "{{lead.industry}} is one of our best-customer industries"},
	{"adjacent-industry", "fit", 8, "In an adjacent industry",
		"lead.industry.lowerAscii() in " + adjacentIndustries, "{{lead.industry}} buys from us, though less often"},
	{"mid-market", "fit", 15, "100 to 999 employees", midMarket, "{{lead.employees}} employees is our sweet spot (100-999)"},
	{"enterprise", "fit", 20, "1,000+ employees or USD 250M+ annual revenue", enterprise, "{{lead.company or This company}} is an enterprise account"},
	{"below-sweet-spot", "fit", -5, "10 to 49 employees", "lead.employees >= 10 && lead.employees < 50",
		"Only {{lead.employees}} employees; small teams churn more"},
	{"revenue-sweet-spot", "fit", 10, "USD 10M to 250M annual revenue",
		"lead.annual_revenue >= 10000000.0 && lead.annual_revenue < 250000000.0", "{{lead.company or This company}} has USD 10M-250M annual revenue"},
	{"decision-maker", "fit", 15, "Director, VP or C-level", decisionMaker, "{{lead.title or Title unknown}} ({{lead.seniority}}) can sign"},
	{"influencer", "fit", 8, "Head-of or manager", influencer, "{{lead.title or Title unknown}} ({{lead.seniority}}) influences the purchase"},
	{"ops-title", "fit", 5, "Works in revenue, sales or marketing operations",
		`lead.title.matches(r'(?i)\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\b')`,
		`"{{lead.title}}" owns the process we automate`},
	{"priority-country", "fit", 5, "In a country with a local sales team",
		"lead.country.upperAscii() in " + priorityCountries, "We have a local sales team in {{lead.country}}"},
	{"uses-our-crm", "fit", 10, "Uses Salesforce, HubSpot, Dynamics 365 or Pipedrive",
		"lead.tech_stack.exists(t, t.lowerAscii() in " + crmPlatforms + ")", "Runs a CRM we integrate with natively"},
	{"modern-data-stack", "fit", 5, "Uses a cloud warehouse or data pipeline",
		"lead.tech_stack.exists(t, t.lowerAscii() in " + dataStack + ")", "Has a data warehouse or pipeline we connect to"},
	{"salesforce-and-snowflake", "fit", 5, "Uses both Salesforce and Snowflake",
		`lead.tech_stack.exists(t, t.lowerAscii() == "salesforce") && lead.tech_stack.exists(t, t.lowerAscii() == "snowflake")`,
		"Runs Salesforce and Snowflake, our most-deployed integration pair"},
	{"spreadsheet-pain", "fit", 5, "Manages pipeline in spreadsheets (a pain we remove)",
		`"spreadsheets" in lead.tech_stack`, "Still runs the pipeline in spreadsheets"},
	{"free-email", "fit", -10, "Free-mail address instead of a work address",
		"is_free_email(lead.email)", "Signed up with a free-mail address ({{lead.email}})"},

	{"demo-requested", "engagement", 25, "Requested a demo", "lead.demo_requested", "Requested a demo"},
	{"trial-started", "engagement", 20, "Started a free trial", "lead.trial_started", "Started a free trial"},
	{"pricing-page", "engagement", 10, "Two or more pricing-page visits in 30 days",
		"lead.pricing_page_visits >= 2", "Visited the pricing page {{lead.pricing_page_visits}} times"},
	{"heavy-browsing", "engagement", 10, "20+ page views in 30 days",
		"lead.page_views >= 20", "{{lead.page_views}} page views in the last 30 days"},
	{"browsing", "engagement", 5, "5 to 19 page views in 30 days",
		"lead.page_views >= 5 && lead.page_views < 20", "{{lead.page_views}} page views in the last 30 days"},
	{"email-engaged", "engagement", 5, "Five or more email opens in 90 days",
		"lead.email_opens >= 5", "Opened {{lead.email_opens}} of our emails"},
	{"email-clicks", "engagement", 5, "Two or more email clicks in 90 days",
		"lead.email_clicks >= 2", "Clicked through {{lead.email_clicks}} emails"},
	{"webinar-attended", "engagement", 10, "Attended a webinar", "lead.webinar_attended", "Attended a webinar"},
	{"content-downloads", "engagement", 5, "Two or more content downloads",
		"lead.content_downloads >= 2", "Downloaded {{lead.content_downloads}} guides or reports"},
	{"recent-activity", "engagement", 10, "Activity in the last 14 days",
		"days_since(lead.last_activity_date, now) <= 14", "Active in the last two weeks (last seen {{lead.last_activity_date}})"},
	{"stale", "engagement", -15, "No activity for more than 90 days",
		"days_since(lead.last_activity_date, now) > 90", "No activity since {{lead.last_activity_date}}"},
	{"cold", "engagement", -10, "Under 2 page views and under 2 email opens, no demo request",
		"lead.page_views < 2 && lead.email_opens < 2 && !lead.demo_requested",
		"Barely engaged: {{lead.page_views}} page views, {{lead.email_opens}} email opens, no demo request"},
	{"unsubscribed", "engagement", -10, "Unsubscribed from marketing email", "lead.unsubscribed", "Unsubscribed from our emails"},

	{"high-intent-source", "", 10, "Demo request, referral, partner or event",
		"lead.source in " + highIntentSources, "Came in through {{lead.source}}"},
	{"low-intent-source", "", -10, "Purchased list, giveaway or cold list",
		"lead.source in " + lowIntentSources, "Came in through {{lead.source}}"},
	{"budget-confirmed", "", 15, "Budget confirmed by the lead", "lead.budget_confirmed", "Budget confirmed"},
	{"near-term-timeline", "", 10, "Plans to buy within three months",
		"lead.timeline_months <= 3", "Plans to buy within {{lead.timeline_months}} months"},
	{"long-timeline", "", -10, "Not buying within a year",
		"lead.timeline_months > 12", "Not buying for {{lead.timeline_months}} months"},
	{"buying-committee", "", 5, "The account already has an open opportunity", "account.open_opportunities > 0",
		"{{account.open_opportunities}} open opportunities at this account; another member of the buying committee"},
	{"engaged-decision-maker", "", 10, "A decision maker who is engaged or raised a hand", engagedBuyer,
		"{{lead.seniority}} who is engaging with us"},
}

// Group caps and tiers of the ruleset.
const (
	fitMax        = 60
	engagementMax = 40
	engagementMin = -20
)

// rule is a compiled rule.
type rule struct {
	ruleDef
	prog   cel.Program
	reason template
}

// Engine holds the compiled programs.
type Engine struct {
	env       *cel.Env
	knockouts []rule
	rules     []rule
	missed    []int // positive score rules by points, largest first, then file order
}

// Decision is the verdict on one lead.
type Decision struct {
	LeadID     string
	Qualified  bool
	Tier       string
	Score      int
	Fit        int
	Engagement int
	Knockouts  []Hit
	Matched    []Hit
	Missed     []Miss
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

// New declares the variables and functions and compiles every rule.
func New() (*Engine, error) {
	env, err := cel.NewEnv(
		cel.Variable("lead", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("account", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
		cel.CrossTypeNumericComparisons(true),
		cel.Function("domain", cel.Overload("domain_string", []*cel.Type{cel.StringType}, cel.StringType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.MaybeNoSuchOverloadErr(v)
				}
				return types.String(domain(string(s)))
			}))),
		cel.Function("is_free_email", cel.Overload("is_free_email_string", []*cel.Type{cel.StringType}, cel.BoolType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.MaybeNoSuchOverloadErr(v)
				}
				return types.Bool(freemail.Is(domain(string(s))))
			}))),
		cel.Function("days_since", cel.Overload("days_since_string_timestamp",
			[]*cel.Type{cel.StringType, cel.TimestampType}, cel.IntType,
			cel.BinaryBinding(func(d, now ref.Val) ref.Val {
				s, ok1 := d.(types.String)
				n, ok2 := now.(types.Timestamp)
				if !ok1 || !ok2 {
					return types.MaybeNoSuchOverloadErr(d)
				}
				t, err := parseDate(string(s))
				if err != nil {
					return types.WrapErr(err)
				}
				return types.Int(int(n.Time.Sub(t).Hours() / 24))
			}))),
	)
	if err != nil {
		return nil, err
	}
	e := &Engine{env: env}
	compile := func(defs []ruleDef) ([]rule, error) {
		out := make([]rule, len(defs))
		for i, d := range defs {
			ast, iss := env.Compile(d.expr)
			if iss.Err() != nil {
				return nil, fmt.Errorf("rule %s: %w", d.id, iss.Err())
			}
			prog, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
			if err != nil {
				return nil, fmt.Errorf("rule %s: %w", d.id, err)
			}
			out[i] = rule{ruleDef: d, prog: prog, reason: parseTemplate(d.reason)}
		}
		return out, nil
	}
	if e.knockouts, err = compile(knockoutDefs); err != nil {
		return nil, err
	}
	if e.rules, err = compile(scoreDefs); err != nil {
		return nil, err
	}
	for i, r := range e.rules {
		if r.points > 0 {
			e.missed = append(e.missed, i)
		}
	}
	slices.SortStableFunc(e.missed, func(a, b int) int { return e.rules[b].points - e.rules[a].points })
	return e, nil
}

// activation binds lead, account and now for one lead.
type activation struct {
	lead, account, now ref.Val
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "lead":
		return a.lead, true
	case "account":
		return a.account, true
	case "now":
		return a.now, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

var emptyMap = map[string]any{}

// Decide decides one lead given as Go values (strings, numbers, booleans,
// lists of strings; dates as "2006-01-02"). account may be nil.
func (e *Engine) Decide(id string, lead, account map[string]any, now time.Time) (Decision, error) {
	if account == nil {
		account = emptyMap
	}
	adapter := e.env.CELTypeAdapter()
	act := &activation{
		lead:    adapter.NativeToValue(lead),
		account: adapter.NativeToValue(account),
		now:     types.Timestamp{Time: now},
	}
	d := Decision{LeadID: id, Knockouts: []Hit{}, Matched: make([]Hit, 0, 16), Missed: make([]Miss, 0, 16)}
	for i := range e.knockouts {
		r := &e.knockouts[i]
		if fires(r.prog, act) {
			d.Knockouts = append(d.Knockouts, Hit{Rule: r.id, Reason: r.reason.render(lead, account)})
		}
	}
	var fired [64]bool
	var fit, engagement, ungrouped int
	for i := range e.rules {
		r := &e.rules[i]
		if !fires(r.prog, act) {
			continue
		}
		fired[i] = true
		d.Matched = append(d.Matched, Hit{Rule: r.id, Group: r.group, Points: r.points, Reason: r.reason.render(lead, account)})
		switch r.group {
		case "fit":
			fit += r.points
		case "engagement":
			engagement += r.points
		default:
			ungrouped += r.points
		}
	}
	for _, i := range e.missed {
		if !fired[i] {
			r := &e.rules[i]
			d.Missed = append(d.Missed, Miss{Rule: r.id, Group: r.group, Points: r.points, Description: r.description})
		}
	}
	d.Fit = min(fit, fitMax)
	d.Engagement = max(min(engagement, engagementMax), engagementMin)
	d.Score = d.Fit + d.Engagement + ungrouped
	switch {
	case d.Score >= 75:
		d.Tier = "A"
	case d.Score >= 55:
		d.Tier = "B"
	case d.Score >= 35:
		d.Tier = "C"
	default:
		d.Tier = "D"
	}
	d.Qualified = len(d.Knockouts) == 0 && (d.Tier == "A" || d.Tier == "B")
	return d, nil
}

// request is the JSON scoring request.
type request struct {
	ID      string         `json:"id"`
	Lead    map[string]any `json:"lead"`
	Account map[string]any `json:"account"`
}

// DecideJSON decodes a request with encoding/json (numbers become float64)
// and decides it.
func (e *Engine) DecideJSON(data []byte, now time.Time) (Decision, error) {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return Decision{}, err
	}
	if req.Lead == nil {
		return Decision{}, errNoLead
	}
	return e.Decide(req.ID, req.Lead, req.Account, now)
}

var errNoLead = errors.New(`request has no "lead" object`)

// fires reports whether the program evaluates to true; an error (such as a
// missing field) or false does not fire.
func fires(p cel.Program, act interpreter.Activation) bool {
	out, _, err := p.Eval(act)
	return err == nil && out == types.True
}

// domain is the lower-cased part of an address after the last @.
func domain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

func parseDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Parse(time.RFC3339Nano, s)
	}
	return t, nil
}

// template is a parsed reason: literal text and field references.
type template []part

type part struct {
	lit     string // the literal, or the fallback of {{field or fallback}}
	account bool   // the field is account.key, else lead.key
	key     string // "" for a literal
	or      bool   // lit stands in for a missing, empty or blank value
}

func parseTemplate(s string) template {
	var t template
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				t = append(t, part{lit: s})
			}
			return t
		}
		if i > 0 {
			t = append(t, part{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		ref, fallback, or := strings.Cut(strings.TrimSpace(s[i+2:i+j]), " or ")
		ns, key, _ := strings.Cut(strings.TrimSpace(ref), ".")
		t = append(t, part{lit: strings.Trim(strings.TrimSpace(fallback), `"'`), account: ns == "account", key: key, or: or})
		s = s[i+j+2:]
	}
}

func (t template) render(lead, account map[string]any) string {
	if len(t) == 1 && t[0].key == "" {
		return t[0].lit
	}
	var b strings.Builder
	for _, p := range t {
		if p.key == "" {
			b.WriteString(p.lit)
			continue
		}
		src := lead
		if p.account {
			src = account
		}
		v := format(src[p.key])
		if p.or && (src[p.key] == nil || strings.TrimSpace(v) == "") {
			v = p.lit
		}
		b.WriteString(v)
	}
	return b.String()
}

// format shows a value as leadq does in reasons.
func format(v any) string {
	switch v := v.(type) {
	case nil:
		return "unknown"
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []string:
		return strings.Join(v, ", ")
	}
	return fmt.Sprint(v)
}
