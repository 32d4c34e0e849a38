// Package handwritten is the b2b-saas ruleset (examples/rulesets/b2b-saas*.yaml)
// written by hand in Go over a typed struct: the practical limit a rules
// engine can be measured against. It computes the same decision as leadq,
// reasons and all: knockouts and matched rules with reasons rendered from
// the lead's values, missed positive rules by points with the fields that
// left them undecided, capped group totals, score, tier and qualification.
//
// A field the lead lacks is a nil pointer (or a nil slice), and conditions
// use leadq's three-valued logic: a comparison that reads a missing field is
// unknown, unknown && false is false, unknown || true is true, and a rule
// fires only when its condition is true.
//
// Decide and DecideJSON are safe for concurrent use.
package handwritten

import (
	"encoding/json"
	"errors"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/bench/freemail"
)

// Input is one scoring request, as JSON {"id", "lead", "account"}.
type Input struct {
	ID      string  `json:"id"`
	Lead    Lead    `json:"lead"`
	Account Account `json:"account"`
}

// Lead holds the lead.* fields; nil means missing.
type Lead struct {
	Email             *string  `json:"email"`
	Company           *string  `json:"company"`
	Title             *string  `json:"title"`
	Seniority         *string  `json:"seniority"`
	Employees         *int     `json:"employees"`
	AnnualRevenue     *float64 `json:"annual_revenue"`
	Industry          *string  `json:"industry"`
	Country           *string  `json:"country"`
	TechStack         []string `json:"tech_stack"`
	PageViews         *int     `json:"page_views"`
	PricingPageVisits *int     `json:"pricing_page_visits"`
	EmailOpens        *int     `json:"email_opens"`
	EmailClicks       *int     `json:"email_clicks"`
	ContentDownloads  *int     `json:"content_downloads"`
	WebinarAttended   *bool    `json:"webinar_attended"`
	DemoRequested     *bool    `json:"demo_requested"`
	TrialStarted      *bool    `json:"trial_started"`
	Unsubscribed      *bool    `json:"unsubscribed"`
	LastActivityDate  *Date    `json:"last_activity_date"`
	Source            *string  `json:"source"`
	BudgetConfirmed   *bool    `json:"budget_confirmed"`
	TimelineMonths    *int     `json:"timeline_months"`
}

// Account holds the account.* fields; nil means missing.
type Account struct {
	IsCustomer        *bool `json:"is_customer"`
	OpenOpportunities *int  `json:"open_opportunities"`
}

// Date is a calendar date, read from JSON as 2006-01-02 or RFC 3339.
type Date struct{ time.Time }

var errDate = errors.New("expected a date like 2026-11-01")

// UnmarshalJSON reads "2006-01-02" or an RFC 3339 timestamp.
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errDate
	}
	s := string(b[1 : len(b)-1])
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return errDate
		}
	}
	d.Time = t
	return nil
}

// Decision is the verdict on one lead, as leadq's engine.Decision.
type Decision struct {
	LeadID        string
	Qualified     bool
	Tier          string
	Score         int
	Fit           int // group totals after caps
	Engagement    int
	Knockouts     []Hit
	Matched       []Hit
	Missed        []Miss
	MissingFields []string
}

// Hit is a knockout or score rule that fired, with its reason rendered
// from the lead's values.
type Hit struct {
	Rule   *Rule
	Reason string
}

// Miss is a positive score rule that did not fire.
type Miss struct {
	Rule          *Rule
	Adds          int      // what the rule would add if it fired: its points under its group's caps
	MissingFields []string // set when missing fields left the rule undecided
}

// DecideJSON decodes a request with encoding/json and decides it.
func DecideJSON(data []byte, now time.Time) (Decision, error) {
	var in Input
	if err := json.Unmarshal(data, &in); err != nil {
		return Decision{}, err
	}
	return Decide(&in, now), nil
}

// tri is a truth value under three-valued logic.
type tri uint8

const (
	no tri = iota
	yes
	unknown // the condition read a missing field
)

func is(b bool) tri {
	if b {
		return yes
	}
	return no
}

func and(a, b tri) tri {
	switch {
	case a == no || b == no:
		return no
	case a == unknown || b == unknown:
		return unknown
	}
	return yes
}

func or(a, b tri) tri {
	switch {
	case a == yes || b == yes:
		return yes
	case a == unknown || b == unknown:
		return unknown
	}
	return no
}

func ge(p *int, n int) tri {
	if p == nil {
		return unknown
	}
	return is(*p >= n)
}

func lt(p *int, n int) tri {
	if p == nil {
		return unknown
	}
	return is(*p < n)
}

func fge(p *float64, x float64) tri {
	if p == nil {
		return unknown
	}
	return is(*p >= x)
}

func flt(p *float64, x float64) tri {
	if p == nil {
		return unknown
	}
	return is(*p < x)
}

func flag(p *bool) tri {
	if p == nil {
		return unknown
	}
	return is(*p)
}

func inSet(p *string, set map[string]bool) tri {
	if p == nil {
		return unknown
	}
	return is(set[*p])
}

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// The ruleset's lists (b2b-saas.lists.yaml).
var (
	targetIndustries   = set("software", "fintech", "healthcare", "insurance", "logistics")
	adjacentIndustries = set("manufacturing", "retail", "professional-services", "media", "education")
	servedCountries    = set("US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "NL", "BE", "SE", "DK", "NO", "FI", "AU", "NZ")
	priorityCountries  = set("US", "GB", "DE")
	competitorDomains  = set("rivalcrm.example", "pipelinepro.example", "leadlynx.example", "funnelforge.example")
	crmPlatforms       = []string{"salesforce", "hubspot", "dynamics-365", "pipedrive"}
	dataStack          = []string{"snowflake", "bigquery", "redshift", "databricks", "segment", "dbt", "fivetran"}
	highIntentSources  = set("demo-request", "referral", "partner", "event")
	lowIntentSources   = set("purchased-list", "giveaway", "cold-list")
	decisionMakers     = set("c-level", "vp", "director")
	influencers        = set("head", "manager")
	studentSeniority   = set("intern", "student")

	studentTitle = regexp.MustCompile(`(?i)\b(student|intern|internship|apprentice)\b`)
	opsTitle     = regexp.MustCompile(`(?i)\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\b`)
)

// domain is the lower-cased part of an address after the last @.
func domain(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// containsAny reports whether the stack holds any of want, ignoring case.
func containsAny(stack, want []string) bool {
	for _, w := range want {
		for _, s := range stack {
			if strings.EqualFold(s, w) {
				return true
			}
		}
	}
	return false
}

func containsFold(stack []string, w string) bool {
	for _, s := range stack {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

func has(stack []string, w string) bool {
	for _, s := range stack {
		if s == w {
			return true
		}
	}
	return false
}

// Fields, one bit each, in leadq's order (sorted by name), so that missing
// fields come out in the order leadq lists them.
const (
	fIsCustomer uint32 = 1 << iota
	fOpenOpportunities
	fAnnualRevenue
	fBudgetConfirmed
	fCompany
	fContentDownloads
	fCountry
	fDemoRequested
	fEmail
	fEmailClicks
	fEmailOpens
	fEmployees
	fIndustry
	fLastActivityDate
	fPageViews
	fPricingPageVisits
	fSeniority
	fSource
	fTechStack
	fTimelineMonths
	fTitle
	fTrialStarted
	fUnsubscribed
	fWebinarAttended
)

var fieldNames = [...]string{
	"account.is_customer", "account.open_opportunities", "lead.annual_revenue", "lead.budget_confirmed",
	"lead.company", "lead.content_downloads", "lead.country", "lead.demo_requested", "lead.email",
	"lead.email_clicks", "lead.email_opens", "lead.employees", "lead.industry", "lead.last_activity_date",
	"lead.page_views", "lead.pricing_page_visits", "lead.seniority", "lead.source", "lead.tech_stack",
	"lead.timeline_months", "lead.title", "lead.trial_started", "lead.unsubscribed", "lead.webinar_attended",
}

// names lists the fields in mask, in order; nil when it is empty.
func names(mask uint32) []string {
	if mask == 0 {
		return nil
	}
	out := make([]string, 0, bits.OnesCount32(mask))
	for mask != 0 {
		i := bits.TrailingZeros32(mask)
		out = append(out, fieldNames[i])
		mask &^= 1 << i
	}
	return out
}

// present returns the fields the request has.
func (in *Input) present() uint32 {
	l, a := &in.Lead, &in.Account
	var p uint32
	bit := func(ok bool, f uint32) {
		if ok {
			p |= f
		}
	}
	bit(a.IsCustomer != nil, fIsCustomer)
	bit(a.OpenOpportunities != nil, fOpenOpportunities)
	bit(l.AnnualRevenue != nil, fAnnualRevenue)
	bit(l.BudgetConfirmed != nil, fBudgetConfirmed)
	bit(l.Company != nil, fCompany)
	bit(l.ContentDownloads != nil, fContentDownloads)
	bit(l.Country != nil, fCountry)
	bit(l.DemoRequested != nil, fDemoRequested)
	bit(l.Email != nil, fEmail)
	bit(l.EmailClicks != nil, fEmailClicks)
	bit(l.EmailOpens != nil, fEmailOpens)
	bit(l.Employees != nil, fEmployees)
	bit(l.Industry != nil, fIndustry)
	bit(l.LastActivityDate != nil, fLastActivityDate)
	bit(l.PageViews != nil, fPageViews)
	bit(l.PricingPageVisits != nil, fPricingPageVisits)
	bit(l.Seniority != nil, fSeniority)
	bit(l.Source != nil, fSource)
	bit(l.TechStack != nil, fTechStack)
	bit(l.TimelineMonths != nil, fTimelineMonths)
	bit(l.Title != nil, fTitle)
	bit(l.TrialStarted != nil, fTrialStarted)
	bit(l.Unsubscribed != nil, fUnsubscribed)
	bit(l.WebinarAttended != nil, fWebinarAttended)
	return p
}

// Values as leadq shows them in reasons; a missing one is "unknown".
func vs(p *string) string {
	if p == nil {
		return "unknown"
	}
	return *p
}

// vsOr is vs for a reason's {{field or fallback}}: the fallback stands in
// for a missing value and for one that is empty or spaces only.
func vsOr(p *string, fallback string) string {
	if p == nil || strings.TrimSpace(*p) == "" {
		return fallback
	}
	return *p
}

func vi(p *int) string {
	if p == nil {
		return "unknown"
	}
	return strconv.Itoa(*p)
}

func vd(p *Date) string {
	switch {
	case p == nil:
		return "unknown"
	case p.Hour() == 0 && p.Minute() == 0 && p.Second() == 0:
		return p.Format("2006-01-02")
	}
	return p.Format(time.RFC3339)
}

// Rule is a knockout or score rule: what a decision shows of it. Hits and
// misses point to the rule rather than copy it.
type Rule struct {
	ID          string
	Group       string
	Points      int
	Description string
	When        string // the condition, as written in the ruleset
	reads       uint32 // the fields its condition reads
	reason      func(l *Lead, a *Account) string
}

func fixed(s string) func(*Lead, *Account) string { return func(*Lead, *Account) string { return s } }

const (
	fit        = "fit"
	engagement = "engagement"
)

var knockouts = [...]Rule{
	{ID: "competitor", reads: fEmail,
		reason: func(l *Lead, a *Account) string { return vs(l.Email) + " belongs to a competitor" }},
	{ID: "student-or-intern", reads: fTitle | fSeniority,
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Title, "This lead") + " is a student or intern, not a buyer"
		}},
	{ID: "unserved-country", reads: fCountry,
		reason: func(l *Lead, a *Account) string {
			return "We do not sell or support in " + vsOr(l.Country, "an unknown country")
		}},
	{ID: "too-small", reads: fEmployees,
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Company, "This company") + " has " + vi(l.Employees) + " employees; we serve 10 or more"
		}},
	{ID: "free-email-no-company", reads: fEmail | fCompany,
		reason: func(l *Lead, a *Account) string { return "Free-mail address " + vs(l.Email) + " and no company given" }},
	{ID: "existing-customer", reads: fIsCustomer,
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Company, "This company") + " is already a customer; route to the account manager"
		}},
}

// knockoutTruth evaluates the knockouts' conditions.
func knockoutTruth(l *Lead, a *Account, out *[len(knockouts)]tri) {
	out[0] = unknown
	if l.Email != nil {
		out[0] = is(competitorDomains[domain(*l.Email)])
	}
	title := tri(unknown)
	if l.Title != nil {
		title = is(studentTitle.MatchString(*l.Title))
	}
	out[1] = or(title, inSet(l.Seniority, studentSeniority))
	out[2] = unknown
	if l.Country != nil {
		out[2] = is(!servedCountries[strings.ToUpper(*l.Country)])
	}
	out[3] = lt(l.Employees, 10)
	free, noCompany := tri(unknown), tri(unknown)
	if l.Email != nil {
		free = is(freemail.Is(domain(*l.Email)))
	}
	if l.Company != nil {
		noCompany = is(strings.TrimSpace(*l.Company) == "")
	}
	out[4] = and(free, noCompany)
	out[5] = flag(a.IsCustomer)
}

const (
	pageViewsReason = "{{lead.page_views}} page views in the last 30 days"
	sourceReason    = "Came in through {{lead.source}}"
)

var scoreRules = [...]Rule{
	{ID: "target-industry", Group: fit, Points: 20, reads: fIndustry,
		Description: "In one of the industries of our top accounts", When: "lower(lead.industry) in target_industries",
		reason: func(l *Lead, a *Account) string { return vs(l.Industry) + " is one of our best-customer industries" }},
	{ID: "adjacent-industry", Group: fit, Points: 8, reads: fIndustry,
		Description: "In an adjacent industry", When: "lower(lead.industry) in adjacent_industries",
		reason: func(l *Lead, a *Account) string { return vs(l.Industry) + " buys from us, though less often" }},
	{ID: "mid-market", Group: fit, Points: 15, reads: fEmployees,
		Description: "100 to 999 employees", When: "mid_market",
		reason: func(l *Lead, a *Account) string { return vi(l.Employees) + " employees is our sweet spot (100-999)" }},
	{ID: "enterprise", Group: fit, Points: 20, reads: fEmployees | fAnnualRevenue,
		Description: "1,000+ employees or USD 250M+ annual revenue", When: "enterprise",
		reason: func(l *Lead, a *Account) string { return vsOr(l.Company, "This company") + " is an enterprise account" }},
	{ID: "below-sweet-spot", Group: fit, Points: -5, reads: fEmployees,
		Description: "10 to 49 employees", When: "lead.employees >= 10 && lead.employees < 50",
		reason: func(l *Lead, a *Account) string {
			return "Only " + vi(l.Employees) + " employees; small teams churn more"
		}},
	{ID: "revenue-sweet-spot", Group: fit, Points: 10, reads: fAnnualRevenue,
		Description: "USD 10M to 250M annual revenue",
		When:        "lead.annual_revenue >= 10_000_000.0 && lead.annual_revenue < 250_000_000.0",
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Company, "This company") + " has USD 10M-250M annual revenue"
		}},
	{ID: "decision-maker", Group: fit, Points: 15, reads: fSeniority,
		Description: "Director, VP or C-level", When: "decision_maker",
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Title, "Title unknown") + " (" + vs(l.Seniority) + ") can sign"
		}},
	{ID: "influencer", Group: fit, Points: 8, reads: fSeniority,
		Description: "Head-of or manager", When: "influencer",
		reason: func(l *Lead, a *Account) string {
			return vsOr(l.Title, "Title unknown") + " (" + vs(l.Seniority) + ") influences the purchase"
		}},
	{ID: "ops-title", Group: fit, Points: 5, reads: fTitle,
		Description: "Works in revenue, sales or marketing operations",
		When:        `lead.title matches "(?i)\\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\\b"`,
		reason:      func(l *Lead, a *Account) string { return `"` + vs(l.Title) + `" owns the process we automate` }},
	{ID: "priority-country", Group: fit, Points: 5, reads: fCountry,
		Description: "In a country with a local sales team", When: "upper(lead.country) in priority_countries",
		reason: func(l *Lead, a *Account) string { return "We have a local sales team in " + vs(l.Country) }},
	{ID: "uses-our-crm", Group: fit, Points: 10, reads: fTechStack,
		Description: "Uses Salesforce, HubSpot, Dynamics 365 or Pipedrive",
		When:        "contains_any(lead.tech_stack, crm_platforms)",
		reason:      fixed("Runs a CRM we integrate with natively")},
	{ID: "modern-data-stack", Group: fit, Points: 5, reads: fTechStack,
		Description: "Uses a cloud warehouse or data pipeline", When: "contains_any(lead.tech_stack, data_stack)",
		reason: fixed("Has a data warehouse or pipeline we connect to")},
	{ID: "salesforce-and-snowflake", Group: fit, Points: 5, reads: fTechStack,
		Description: "Uses both Salesforce and Snowflake",
		When:        `contains_all(lead.tech_stack, ["salesforce", "snowflake"])`,
		reason:      fixed("Runs Salesforce and Snowflake, our most-deployed integration pair")},
	{ID: "spreadsheet-pain", Group: fit, Points: 5, reads: fTechStack,
		Description: "Manages pipeline in spreadsheets (a pain we remove)", When: `"spreadsheets" in lead.tech_stack`,
		reason: fixed("Still runs the pipeline in spreadsheets")},
	{ID: "free-email", Group: fit, Points: -10, reads: fEmail,
		Description: "Free-mail address instead of a work address", When: "is_free_email(lead.email)",
		reason: func(l *Lead, a *Account) string { return "Signed up with a free-mail address (" + vs(l.Email) + ")" }},

	{ID: "demo-requested", Group: engagement, Points: 25, reads: fDemoRequested,
		Description: "Requested a demo", When: "lead.demo_requested", reason: fixed("Requested a demo")},
	{ID: "trial-started", Group: engagement, Points: 20, reads: fTrialStarted,
		Description: "Started a free trial", When: "lead.trial_started", reason: fixed("Started a free trial")},
	{ID: "pricing-page", Group: engagement, Points: 10, reads: fPricingPageVisits,
		Description: "Two or more pricing-page visits in 30 days", When: "lead.pricing_page_visits >= 2",
		reason: func(l *Lead, a *Account) string {
			return "Visited the pricing page " + vi(l.PricingPageVisits) + " times"
		}},
	{ID: "heavy-browsing", Group: engagement, Points: 10, reads: fPageViews,
		Description: "20+ page views in 30 days", When: "lead.page_views >= 20",
		reason: func(l *Lead, a *Account) string { return vi(l.PageViews) + " page views in the last 30 days" }},
	{ID: "browsing", Group: engagement, Points: 5, reads: fPageViews,
		Description: "5 to 19 page views in 30 days", When: "lead.page_views >= 5 && lead.page_views < 20",
		reason: func(l *Lead, a *Account) string { return vi(l.PageViews) + " page views in the last 30 days" }},
	{ID: "email-engaged", Group: engagement, Points: 5, reads: fEmailOpens,
		Description: "Five or more email opens in 90 days", When: "lead.email_opens >= 5",
		reason: func(l *Lead, a *Account) string { return "Opened " + vi(l.EmailOpens) + " of our emails" }},
	{ID: "email-clicks", Group: engagement, Points: 5, reads: fEmailClicks,
		Description: "Two or more email clicks in 90 days", When: "lead.email_clicks >= 2",
		reason: func(l *Lead, a *Account) string { return "Clicked through " + vi(l.EmailClicks) + " emails" }},
	{ID: "webinar-attended", Group: engagement, Points: 10, reads: fWebinarAttended,
		Description: "Attended a webinar", When: "lead.webinar_attended", reason: fixed("Attended a webinar")},
	{ID: "content-downloads", Group: engagement, Points: 5, reads: fContentDownloads,
		Description: "Two or more content downloads", When: "lead.content_downloads >= 2",
		reason: func(l *Lead, a *Account) string {
			return "Downloaded " + vi(l.ContentDownloads) + " guides or reports"
		}},
	{ID: "recent-activity", Group: engagement, Points: 10, reads: fLastActivityDate,
		Description: "Activity in the last 14 days", When: "days_since(lead.last_activity_date) <= 14",
		reason: func(l *Lead, a *Account) string {
			return "Active in the last two weeks (last seen " + vd(l.LastActivityDate) + ")"
		}},
	{ID: "stale", Group: engagement, Points: -15, reads: fLastActivityDate,
		Description: "No activity for more than 90 days", When: "days_since(lead.last_activity_date) > 90",
		reason: func(l *Lead, a *Account) string { return "No activity since " + vd(l.LastActivityDate) }},
	{ID: "cold", Group: engagement, Points: -10, reads: fPageViews | fEmailOpens | fDemoRequested,
		Description: "Under 2 page views and under 2 email opens, no demo request",
		When:        "lead.page_views < 2 && lead.email_opens < 2 && !lead.demo_requested",
		reason: func(l *Lead, a *Account) string {
			return "Barely engaged: " + vi(l.PageViews) + " page views, " + vi(l.EmailOpens) +
				" email opens, no demo request"
		}},
	{ID: "unsubscribed", Group: engagement, Points: -10, reads: fUnsubscribed,
		Description: "Unsubscribed from marketing email", When: "lead.unsubscribed",
		reason: fixed("Unsubscribed from our emails")},

	{ID: "high-intent-source", Points: 10, reads: fSource,
		Description: "Demo request, referral, partner or event", When: "lead.source in high_intent_sources",
		reason: func(l *Lead, a *Account) string { return "Came in through " + vs(l.Source) }},
	{ID: "low-intent-source", Points: -10, reads: fSource,
		Description: "Purchased list, giveaway or cold list", When: "lead.source in low_intent_sources",
		reason: func(l *Lead, a *Account) string { return "Came in through " + vs(l.Source) }},
	{ID: "budget-confirmed", Points: 15, reads: fBudgetConfirmed,
		Description: "Budget confirmed by the lead", When: "lead.budget_confirmed", reason: fixed("Budget confirmed")},
	{ID: "near-term-timeline", Points: 10, reads: fTimelineMonths,
		Description: "Plans to buy within three months", When: "lead.timeline_months <= 3",
		reason: func(l *Lead, a *Account) string { return "Plans to buy within " + vi(l.TimelineMonths) + " months" }},
	{ID: "long-timeline", Points: -10, reads: fTimelineMonths,
		Description: "Not buying within a year", When: "lead.timeline_months > 12",
		reason: func(l *Lead, a *Account) string { return "Not buying for " + vi(l.TimelineMonths) + " months" }},
	{ID: "buying-committee", Points: 5, reads: fOpenOpportunities,
		Description: "The account already has an open opportunity", When: "account.open_opportunities > 0",
		reason: func(l *Lead, a *Account) string {
			return vi(a.OpenOpportunities) + " open opportunities at this account; another member of the buying committee"
		}},
	{ID: "engaged-decision-maker", Points: 10,
		reads:       fSeniority | fPageViews | fEmailOpens | fWebinarAttended | fDemoRequested | fTrialStarted,
		Description: "A decision maker who is engaged or raised a hand", When: "engaged_buyer",
		reason: func(l *Lead, a *Account) string { return vs(l.Seniority) + " who is engaging with us" }},
}

// scoreTruth evaluates the score rules' conditions, in scoreRules order.
func scoreTruth(l *Lead, a *Account, now time.Time, out *[len(scoreRules)]tri) {
	out[0], out[1] = unknown, unknown
	if l.Industry != nil {
		industry := strings.ToLower(*l.Industry)
		out[0] = is(targetIndustries[industry])
		out[1] = is(adjacentIndustries[industry])
	}
	out[2] = and(ge(l.Employees, 100), lt(l.Employees, 1000))
	out[3] = or(ge(l.Employees, 1000), fge(l.AnnualRevenue, 250_000_000))
	out[4] = and(ge(l.Employees, 10), lt(l.Employees, 50))
	out[5] = and(fge(l.AnnualRevenue, 10_000_000), flt(l.AnnualRevenue, 250_000_000))
	decisionMaker := inSet(l.Seniority, decisionMakers)
	out[6] = decisionMaker
	out[7] = inSet(l.Seniority, influencers)
	out[8] = unknown
	if l.Title != nil {
		out[8] = is(opsTitle.MatchString(*l.Title))
	}
	out[9] = unknown
	if l.Country != nil {
		out[9] = is(priorityCountries[strings.ToUpper(*l.Country)])
	}
	for i := 10; i <= 13; i++ {
		out[i] = unknown
	}
	if l.TechStack != nil {
		out[10] = is(containsAny(l.TechStack, crmPlatforms))
		out[11] = is(containsAny(l.TechStack, dataStack))
		out[12] = is(containsFold(l.TechStack, "salesforce") && containsFold(l.TechStack, "snowflake"))
		out[13] = is(has(l.TechStack, "spreadsheets"))
	}
	out[14] = unknown
	if l.Email != nil {
		out[14] = is(freemail.Is(domain(*l.Email)))
	}

	out[15] = flag(l.DemoRequested)
	out[16] = flag(l.TrialStarted)
	out[17] = ge(l.PricingPageVisits, 2)
	out[18] = ge(l.PageViews, 20)
	out[19] = and(ge(l.PageViews, 5), lt(l.PageViews, 20))
	out[20] = ge(l.EmailOpens, 5)
	out[21] = ge(l.EmailClicks, 2)
	out[22] = flag(l.WebinarAttended)
	out[23] = ge(l.ContentDownloads, 2)
	out[24], out[25] = unknown, unknown
	if l.LastActivityDate != nil {
		days := int(now.Sub(l.LastActivityDate.Time).Hours() / 24)
		out[24] = is(days <= 14)
		out[25] = is(days > 90)
	}
	notDemo := tri(unknown)
	if l.DemoRequested != nil {
		notDemo = is(!*l.DemoRequested)
	}
	out[26] = and(and(lt(l.PageViews, 2), lt(l.EmailOpens, 2)), notDemo)
	out[27] = flag(l.Unsubscribed)

	out[28] = inSet(l.Source, highIntentSources)
	out[29] = inSet(l.Source, lowIntentSources)
	out[30] = flag(l.BudgetConfirmed)
	out[31], out[32] = unknown, unknown
	if l.TimelineMonths != nil {
		out[31] = is(*l.TimelineMonths <= 3)
		out[32] = is(*l.TimelineMonths > 12)
	}
	out[33] = unknown
	if a.OpenOpportunities != nil {
		out[33] = is(*a.OpenOpportunities > 0)
	}
	engaged := or(or(ge(l.PageViews, 10), ge(l.EmailOpens, 5)), flag(l.WebinarAttended))
	handRaiser := or(flag(l.DemoRequested), flag(l.TrialStarted))
	out[34] = and(decisionMaker, or(engaged, handRaiser))
}

// missedOrder lists the positive score rules by points, largest first, then
// in file order: the order of Decision.Missed, fixed once.
var missedOrder = func() []int {
	var order []int
	for p := 100; p > 0; p-- {
		for i, r := range scoreRules {
			if r.Points == p {
				order = append(order, i)
			}
		}
	}
	return order
}()

// Decide decides one lead at the clock now.
func Decide(in *Input, now time.Time) Decision {
	l, a := &in.Lead, &in.Account
	present := in.present()
	var kt [len(knockouts)]tri
	var st [len(scoreRules)]tri
	knockoutTruth(l, a, &kt)
	scoreTruth(l, a, now, &st)

	d := Decision{LeadID: in.ID, Knockouts: []Hit{}, Matched: make([]Hit, 0, 16), Missed: make([]Miss, 0, len(missedOrder))}
	var missing uint32
	for i, t := range kt {
		r := &knockouts[i]
		switch t {
		case yes:
			d.Knockouts = append(d.Knockouts, Hit{Rule: r, Reason: r.reason(l, a)})
		case unknown:
			missing |= r.reads &^ present
		}
	}
	var fitTotal, engagementTotal, ungrouped int
	for i, t := range st {
		r := &scoreRules[i]
		switch t {
		case yes:
			d.Matched = append(d.Matched, Hit{Rule: r, Reason: r.reason(l, a)})
			switch r.Group {
			case fit:
				fitTotal += r.Points
			case engagement:
				engagementTotal += r.Points
			default:
				ungrouped += r.Points
			}
		case unknown:
			missing |= r.reads &^ present
		}
	}
	for _, i := range missedOrder {
		if st[i] == yes {
			continue
		}
		m := Miss{Rule: &scoreRules[i]}
		if st[i] == unknown {
			m.MissingFields = names(scoreRules[i].reads &^ present)
		}
		d.Missed = append(d.Missed, m)
	}

	fitCap := func(total int) int { return min(total, 60) }
	engagementCap := func(total int) int { return max(min(total, 40), -20) }
	for k := range d.Missed {
		m := &d.Missed[k]
		switch m.Rule.Group {
		case fit:
			m.Adds = fitCap(fitTotal+m.Rule.Points) - fitCap(fitTotal)
		case engagement:
			m.Adds = engagementCap(engagementTotal+m.Rule.Points) - engagementCap(engagementTotal)
		default:
			m.Adds = m.Rule.Points
		}
	}
	d.Fit = fitCap(fitTotal)
	d.Engagement = engagementCap(engagementTotal)
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
	d.MissingFields = names(missing)
	if d.MissingFields == nil {
		d.MissingFields = []string{}
	}
	return d
}
