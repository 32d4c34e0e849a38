# The b2b-saas ruleset (examples/rulesets/b2b-saas*.yaml) in Rego v1.
#
# input: {"id": ..., "lead": {...}, "account": {...}}; the decision is
# data.leadq.b2b.decision. Knockouts and matched rules are sets: putting them
# in the ruleset's order, and listing the positive rules that did not fire,
# is left to the caller (oparules.go).
#
# Missing fields follow leadq: a condition that reads a missing field does
# not fire. Rego gets most of this for free (a reference to an absent key is
# undefined, and an undefined expression fails the rule body), as long as no
# negation sees the field: `not upper(lead.country) in served_countries` would
# be true for a lead without a country, so the value is bound first and only
# then negated. Disjunctions (a || b) are one rule body per branch.
package leadq.b2b

import input.account
import input.lead

# ---- lists (b2b-saas.lists.yaml) -------------------------------------------------
target_industries := {"software", "fintech", "healthcare", "insurance", "logistics"}

adjacent_industries := {"manufacturing", "retail", "professional-services", "media", "education"}

served_countries := {"US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "NL", "BE", "SE", "DK", "NO", "FI", "AU", "NZ"}

priority_countries := {"US", "GB", "DE"}

competitor_domains := {"rivalcrm.example", "pipelinepro.example", "leadlynx.example", "funnelforge.example"}

crm_platforms := {"salesforce", "hubspot", "dynamics-365", "pipedrive"}

data_stack := {"snowflake", "bigquery", "redshift", "databricks", "segment", "dbt", "fivetran"}

high_intent_sources := {"demo-request", "referral", "partner", "event"}

low_intent_sources := {"purchased-list", "giveaway", "cold-list"}

# leadq's is_free_email() providers (rules/builtins.go).
free_mail_domains := {
	"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com",
	"hotmail.com", "hotmail.co.uk", "outlook.com", "live.com", "msn.com",
	"aol.com", "icloud.com", "me.com", "mac.com", "proton.me",
	"protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de",
	"mail.com", "yandex.com", "yandex.ru", "mail.ru", "zoho.com",
	"qq.com", "163.com", "126.com", "rediffmail.com", "fastmail.com",
	"hey.com", "tutanota.com", "laposte.net", "orange.fr", "free.fr",
	"libero.it", "t-online.de", "comcast.net", "verizon.net", "att.net",
}

# ---- functions leadq provides ------------------------------------------------------

# domain is the lower-cased part after the last @, "" when there is none.
domain(email) := lower(trim_space(parts[count(parts) - 1])) if {
	parts := split(email, "@")
	count(parts) > 1
} else := ""

is_free_email(email) if domain(email) in free_mail_domains

# date_ns reads a date as leadq does: 2006-01-02 or RFC 3339.
date_ns(s) := time.parse_ns("2006-01-02", s) if {
	regex.match(`^\d{4}-\d{2}-\d{2}$`, s)
} else := time.parse_rfc3339_ns(s)

# days_since counts whole days to now, truncated toward zero as leadq does.
days_since(date) := n if {
	d := (time.now_ns() - date_ns(date)) / 86400000000000
	d >= 0
	n := floor(d)
} else := n if {
	d := (time.now_ns() - date_ns(date)) / 86400000000000
	n := ceil(d)
}

# show renders a field for a reason; a missing field reads "unknown".
show(obj, key) := sprintf("%v", [obj[key]]) if obj[key] != null
else := "unknown"

# show_or renders a field for a reason's {{field or fallback}}: the fallback
# stands in for a missing value and for an empty or blank string.
show_or(obj, key, fallback) := s if {
	obj[key] != null
	s := sprintf("%v", [obj[key]])
	trim_space(s) != ""
} else := fallback

tech_lower contains lower(t) if some t in lead.tech_stack

# ---- macros ----------------------------------------------------------------------
decision_maker if lead.seniority in {"c-level", "vp", "director"}

influencer if lead.seniority in {"head", "manager"}

engaged if lead.page_views >= 10

engaged if lead.email_opens >= 5

engaged if lead.webinar_attended == true

hand_raiser if lead.demo_requested == true

hand_raiser if lead.trial_started == true

engaged_buyer if {
	decision_maker
	engaged
}

engaged_buyer if {
	decision_maker
	hand_raiser
}

# ---- knockouts -------------------------------------------------------------------
knockouts contains {"id": "competitor", "reason": sprintf("%s belongs to a competitor", [lead.email])} if {
	domain(lead.email) in competitor_domains
}

knockouts contains {"id": "student-or-intern", "reason": reason} if {
	regex.match(`(?i)\b(student|intern|internship|apprentice)\b`, lead.title)
	reason := sprintf("%s is a student or intern, not a buyer", [show_or(lead, "title", "This lead")])
}

knockouts contains {"id": "student-or-intern", "reason": reason} if {
	lead.seniority in {"intern", "student"}
	reason := sprintf("%s is a student or intern, not a buyer", [show_or(lead, "title", "This lead")])
}

knockouts contains {"id": "unserved-country", "reason": sprintf("We do not sell or support in %s", [show_or(lead, "country", "an unknown country")])} if {
	country := upper(lead.country)
	not country in served_countries
}

knockouts contains {"id": "too-small", "reason": reason} if {
	lead.employees < 10
	reason := sprintf("%s has %v employees; we serve 10 or more", [show_or(lead, "company", "This company"), lead.employees])
}

knockouts contains {"id": "free-email-no-company", "reason": reason} if {
	is_free_email(lead.email)
	trim_space(lead.company) == ""
	reason := sprintf("Free-mail address %s and no company given", [lead.email])
}

knockouts contains {"id": "existing-customer", "reason": reason} if {
	account.is_customer == true
	reason := sprintf("%s is already a customer; route to the account manager", [show_or(lead, "company", "This company")])
}

# ---- score rules: fit ------------------------------------------------------------
matched contains {"id": "target-industry", "group": "fit", "points": 20, "reason": sprintf("%s is one of our best-customer industries", [lead.industry])} if {
	lower(lead.industry) in target_industries
}

matched contains {"id": "adjacent-industry", "group": "fit", "points": 8, "reason": sprintf("%s buys from us, though less often", [lead.industry])} if {
	lower(lead.industry) in adjacent_industries
}

matched contains {"id": "mid-market", "group": "fit", "points": 15, "reason": sprintf("%v employees is our sweet spot (100-999)", [lead.employees])} if {
	lead.employees >= 100
	lead.employees < 1000
}

matched contains {"id": "enterprise", "group": "fit", "points": 20, "reason": sprintf("%s is an enterprise account", [show_or(lead, "company", "This company")])} if {
	lead.employees >= 1000
}

matched contains {"id": "enterprise", "group": "fit", "points": 20, "reason": sprintf("%s is an enterprise account", [show_or(lead, "company", "This company")])} if {
	lead.annual_revenue >= 250000000
}

matched contains {"id": "below-sweet-spot", "group": "fit", "points": -5, "reason": sprintf("Only %v employees; small teams churn more", [lead.employees])} if {
	lead.employees >= 10
	lead.employees < 50
}

matched contains {"id": "revenue-sweet-spot", "group": "fit", "points": 10, "reason": sprintf("%s has USD 10M-250M annual revenue", [show_or(lead, "company", "This company")])} if {
	lead.annual_revenue >= 10000000
	lead.annual_revenue < 250000000
}

matched contains {"id": "decision-maker", "group": "fit", "points": 15, "reason": sprintf("%s (%s) can sign", [show_or(lead, "title", "Title unknown"), lead.seniority])} if {
	decision_maker
}

matched contains {"id": "influencer", "group": "fit", "points": 8, "reason": sprintf("%s (%s) influences the purchase", [show_or(lead, "title", "Title unknown"), lead.seniority])} if {
	influencer
}

matched contains {"id": "ops-title", "group": "fit", "points": 5, "reason": sprintf("\"%s\" owns the process we automate", [lead.title])} if {
	regex.match(`(?i)\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\b`, lead.title)
}

matched contains {"id": "priority-country", "group": "fit", "points": 5, "reason": sprintf("We have a local sales team in %s", [lead.country])} if {
	upper(lead.country) in priority_countries
}

matched contains {"id": "uses-our-crm", "group": "fit", "points": 10, "reason": "Runs a CRM we integrate with natively"} if {
	some t in tech_lower
	t in crm_platforms
}

matched contains {"id": "modern-data-stack", "group": "fit", "points": 5, "reason": "Has a data warehouse or pipeline we connect to"} if {
	some t in tech_lower
	t in data_stack
}

matched contains {"id": "salesforce-and-snowflake", "group": "fit", "points": 5, "reason": "Runs Salesforce and Snowflake, our most-deployed integration pair"} if {
	"salesforce" in tech_lower
	"snowflake" in tech_lower
}

matched contains {"id": "spreadsheet-pain", "group": "fit", "points": 5, "reason": "Still runs the pipeline in spreadsheets"} if {
	"spreadsheets" in lead.tech_stack
}

matched contains {"id": "free-email", "group": "fit", "points": -10, "reason": sprintf("Signed up with a free-mail address (%s)", [lead.email])} if {
	is_free_email(lead.email)
}

# ---- score rules: engagement -----------------------------------------------------
matched contains {"id": "demo-requested", "group": "engagement", "points": 25, "reason": "Requested a demo"} if lead.demo_requested == true

matched contains {"id": "trial-started", "group": "engagement", "points": 20, "reason": "Started a free trial"} if lead.trial_started == true

matched contains {"id": "pricing-page", "group": "engagement", "points": 10, "reason": sprintf("Visited the pricing page %v times", [lead.pricing_page_visits])} if {
	lead.pricing_page_visits >= 2
}

matched contains {"id": "heavy-browsing", "group": "engagement", "points": 10, "reason": sprintf("%v page views in the last 30 days", [lead.page_views])} if {
	lead.page_views >= 20
}

matched contains {"id": "browsing", "group": "engagement", "points": 5, "reason": sprintf("%v page views in the last 30 days", [lead.page_views])} if {
	lead.page_views >= 5
	lead.page_views < 20
}

matched contains {"id": "email-engaged", "group": "engagement", "points": 5, "reason": sprintf("Opened %v of our emails", [lead.email_opens])} if {
	lead.email_opens >= 5
}

matched contains {"id": "email-clicks", "group": "engagement", "points": 5, "reason": sprintf("Clicked through %v emails", [lead.email_clicks])} if {
	lead.email_clicks >= 2
}

matched contains {"id": "webinar-attended", "group": "engagement", "points": 10, "reason": "Attended a webinar"} if lead.webinar_attended == true

matched contains {"id": "content-downloads", "group": "engagement", "points": 5, "reason": sprintf("Downloaded %v guides or reports", [lead.content_downloads])} if {
	lead.content_downloads >= 2
}

matched contains {"id": "recent-activity", "group": "engagement", "points": 10, "reason": sprintf("Active in the last two weeks (last seen %s)", [lead.last_activity_date])} if {
	days_since(lead.last_activity_date) <= 14
}

matched contains {"id": "stale", "group": "engagement", "points": -15, "reason": sprintf("No activity since %s", [lead.last_activity_date])} if {
	days_since(lead.last_activity_date) > 90
}

matched contains {"id": "cold", "group": "engagement", "points": -10, "reason": reason} if {
	lead.page_views < 2
	lead.email_opens < 2
	lead.demo_requested == false
	reason := sprintf("Barely engaged: %v page views, %v email opens, no demo request", [lead.page_views, lead.email_opens])
}

matched contains {"id": "unsubscribed", "group": "engagement", "points": -10, "reason": "Unsubscribed from our emails"} if lead.unsubscribed == true

# ---- score rules: buying signals (ungrouped) -------------------------------------
matched contains {"id": "high-intent-source", "group": "", "points": 10, "reason": sprintf("Came in through %s", [lead.source])} if {
	lead.source in high_intent_sources
}

matched contains {"id": "low-intent-source", "group": "", "points": -10, "reason": sprintf("Came in through %s", [lead.source])} if {
	lead.source in low_intent_sources
}

matched contains {"id": "budget-confirmed", "group": "", "points": 15, "reason": "Budget confirmed"} if lead.budget_confirmed == true

matched contains {"id": "near-term-timeline", "group": "", "points": 10, "reason": sprintf("Plans to buy within %v months", [lead.timeline_months])} if {
	lead.timeline_months <= 3
}

matched contains {"id": "long-timeline", "group": "", "points": -10, "reason": sprintf("Not buying for %v months", [lead.timeline_months])} if {
	lead.timeline_months > 12
}

matched contains {"id": "buying-committee", "group": "", "points": 5, "reason": reason} if {
	account.open_opportunities > 0
	reason := sprintf("%v open opportunities at this account; another member of the buying committee", [account.open_opportunities])
}

matched contains {"id": "engaged-decision-maker", "group": "", "points": 10, "reason": sprintf("%s who is engaging with us", [lead.seniority])} if {
	engaged_buyer
}

# ---- groups, score, tier ---------------------------------------------------------
total(group) := sum([m.points | some m in matched; m.group == group])

fit := min([total("fit"), 60])

engagement := max([min([total("engagement"), 40]), -20])

score := (fit + engagement) + total("")

tier := "A" if score >= 75
else := "B" if score >= 55
else := "C" if score >= 35
else := "D"

default qualified := false

qualified if {
	count(knockouts) == 0
	tier in {"A", "B"}
}

decision := {
	"knockouts": knockouts,
	"matched": matched,
	"groups": {"fit": fit, "engagement": engagement},
	"score": score,
	"tier": tier,
	"qualified": qualified,
}
