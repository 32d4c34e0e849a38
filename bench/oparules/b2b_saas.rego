# The b2b-saas ruleset (examples/rulesets/b2b-saas*.yaml) in Rego v1.
#
# input: {"id": ..., "lead": {...}, "account": {...}}; the decision is
# data.leadq.b2b.decision. Rule order and sorting are left to the caller:
# knockouts, matched and missed are sets.
#
# Missing fields follow leadq: a condition that reads a missing field does
# not fire. Rego gets most of this for free (a reference to an absent key is
# undefined, and an undefined expression fails the rule body), as long as no
# negation sees the field: `not upper(lead.country) in served_countries` would
# be true for a lead without a country, so the value is bound first and only
# then negated. Disjunctions (a || b) are one rule body per branch.
package leadq.b2b

lead := object.get(input, "lead", {})

account := object.get(input, "account", {})

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
	reason := sprintf("\"%s\" is a student or intern, not a buyer", [show(lead, "title")])
}

knockouts contains {"id": "student-or-intern", "reason": reason} if {
	lead.seniority in {"intern", "student"}
	reason := sprintf("\"%s\" is a student or intern, not a buyer", [show(lead, "title")])
}

knockouts contains {"id": "unserved-country", "reason": sprintf("We do not sell or support in %s", [lead.country])} if {
	country := upper(lead.country)
	not country in served_countries
}

knockouts contains {"id": "too-small", "reason": reason} if {
	lead.employees < 10
	reason := sprintf("%s has %v employees; we serve 10 or more", [show(lead, "company"), lead.employees])
}

knockouts contains {"id": "free-email-no-company", "reason": reason} if {
	is_free_email(lead.email)
	trim_space(lead.company) == ""
	reason := sprintf("Free-mail address %s and no company given", [lead.email])
}

knockouts contains {"id": "existing-customer", "reason": reason} if {
	account.is_customer == true
	reason := sprintf("%s is already a customer; route to the account manager", [show(lead, "company")])
}

# ---- score rules: fit ------------------------------------------------------------
matched contains hit("target-industry", sprintf("%s is one of our best-customer industries", [lead.industry])) if {
	lower(lead.industry) in target_industries
}

matched contains hit("adjacent-industry", sprintf("%s buys from us, though less often", [lead.industry])) if {
	lower(lead.industry) in adjacent_industries
}

matched contains hit("mid-market", sprintf("%v employees is our sweet spot (100-999)", [lead.employees])) if {
	lead.employees >= 100
	lead.employees < 1000
}

matched contains hit("enterprise", sprintf("%s is an enterprise account", [show(lead, "company")])) if {
	lead.employees >= 1000
}

matched contains hit("enterprise", sprintf("%s is an enterprise account", [show(lead, "company")])) if {
	lead.annual_revenue >= 250000000
}

matched contains hit("below-sweet-spot", sprintf("Only %v employees; small teams churn more", [lead.employees])) if {
	lead.employees >= 10
	lead.employees < 50
}

matched contains hit("revenue-sweet-spot", sprintf("%s has USD 10M-250M annual revenue", [show(lead, "company")])) if {
	lead.annual_revenue >= 10000000
	lead.annual_revenue < 250000000
}

matched contains hit("decision-maker", sprintf("%s (%s) can sign", [show(lead, "title"), lead.seniority])) if {
	decision_maker
}

matched contains hit("influencer", sprintf("%s (%s) influences the purchase", [show(lead, "title"), lead.seniority])) if {
	influencer
}

matched contains hit("ops-title", sprintf("\"%s\" owns the process we automate", [lead.title])) if {
	regex.match(`(?i)\b(rev ?ops|revenue operations|sales operations|marketing operations|sales enablement)\b`, lead.title)
}

matched contains hit("priority-country", sprintf("We have a local sales team in %s", [lead.country])) if {
	upper(lead.country) in priority_countries
}

matched contains hit("uses-our-crm", "Runs a CRM we integrate with natively") if {
	some t in tech_lower
	t in crm_platforms
}

matched contains hit("modern-data-stack", "Has a data warehouse or pipeline we connect to") if {
	some t in tech_lower
	t in data_stack
}

matched contains hit("salesforce-and-snowflake", "Runs Salesforce and Snowflake, our most-deployed integration pair") if {
	"salesforce" in tech_lower
	"snowflake" in tech_lower
}

matched contains hit("spreadsheet-pain", "Still runs the pipeline in spreadsheets") if {
	"spreadsheets" in lead.tech_stack
}

matched contains hit("free-email", sprintf("Signed up with a free-mail address (%s)", [lead.email])) if {
	is_free_email(lead.email)
}

# ---- score rules: engagement -----------------------------------------------------
matched contains hit("demo-requested", "Requested a demo") if lead.demo_requested == true

matched contains hit("trial-started", "Started a free trial") if lead.trial_started == true

matched contains hit("pricing-page", sprintf("Visited the pricing page %v times", [lead.pricing_page_visits])) if {
	lead.pricing_page_visits >= 2
}

matched contains hit("heavy-browsing", sprintf("%v page views in the last 30 days", [lead.page_views])) if {
	lead.page_views >= 20
}

matched contains hit("browsing", sprintf("%v page views in the last 30 days", [lead.page_views])) if {
	lead.page_views >= 5
	lead.page_views < 20
}

matched contains hit("email-engaged", sprintf("Opened %v of our emails", [lead.email_opens])) if {
	lead.email_opens >= 5
}

matched contains hit("email-clicks", sprintf("Clicked through %v emails", [lead.email_clicks])) if {
	lead.email_clicks >= 2
}

matched contains hit("webinar-attended", "Attended a webinar") if lead.webinar_attended == true

matched contains hit("content-downloads", sprintf("Downloaded %v guides or reports", [lead.content_downloads])) if {
	lead.content_downloads >= 2
}

matched contains hit("recent-activity", sprintf("Active in the last two weeks (last seen %s)", [lead.last_activity_date])) if {
	days_since(lead.last_activity_date) <= 14
}

matched contains hit("stale", sprintf("No activity since %s", [lead.last_activity_date])) if {
	days_since(lead.last_activity_date) > 90
}

matched contains hit("cold", reason) if {
	lead.page_views < 2
	lead.email_opens < 2
	lead.demo_requested == false
	reason := sprintf("Barely engaged: %v page views, %v email opens, no demo request", [lead.page_views, lead.email_opens])
}

matched contains hit("unsubscribed", "Unsubscribed from our emails") if lead.unsubscribed == true

# ---- score rules: buying signals (ungrouped) -------------------------------------
matched contains hit("high-intent-source", sprintf("Came in through %s", [lead.source])) if {
	lead.source in high_intent_sources
}

matched contains hit("low-intent-source", sprintf("Came in through %s", [lead.source])) if {
	lead.source in low_intent_sources
}

matched contains hit("budget-confirmed", "Budget confirmed") if lead.budget_confirmed == true

matched contains hit("near-term-timeline", sprintf("Plans to buy within %v months", [lead.timeline_months])) if {
	lead.timeline_months <= 3
}

matched contains hit("long-timeline", sprintf("Not buying for %v months", [lead.timeline_months])) if {
	lead.timeline_months > 12
}

matched contains hit("buying-committee", reason) if {
	account.open_opportunities > 0
	reason := sprintf("%v open opportunities at this account; another member of the buying committee", [account.open_opportunities])
}

matched contains hit("engaged-decision-maker", sprintf("%s who is engaging with us", [lead.seniority])) if {
	engaged_buyer
}

# ---- the score rules' table: group, points, description --------------------------
score_rules := {
	"target-industry": {"group": "fit", "points": 20, "description": "In one of the industries of our top accounts"},
	"adjacent-industry": {"group": "fit", "points": 8, "description": "In an adjacent industry"},
	"mid-market": {"group": "fit", "points": 15, "description": "100 to 999 employees"},
	"enterprise": {"group": "fit", "points": 20, "description": "1,000+ employees or USD 250M+ annual revenue"},
	"below-sweet-spot": {"group": "fit", "points": -5, "description": "10 to 49 employees"},
	"revenue-sweet-spot": {"group": "fit", "points": 10, "description": "USD 10M to 250M annual revenue"},
	"decision-maker": {"group": "fit", "points": 15, "description": "Director, VP or C-level"},
	"influencer": {"group": "fit", "points": 8, "description": "Head-of or manager"},
	"ops-title": {"group": "fit", "points": 5, "description": "Works in revenue, sales or marketing operations"},
	"priority-country": {"group": "fit", "points": 5, "description": "In a country with a local sales team"},
	"uses-our-crm": {"group": "fit", "points": 10, "description": "Uses Salesforce, HubSpot, Dynamics 365 or Pipedrive"},
	"modern-data-stack": {"group": "fit", "points": 5, "description": "Uses a cloud warehouse or data pipeline"},
	"salesforce-and-snowflake": {"group": "fit", "points": 5, "description": "Uses both Salesforce and Snowflake"},
	"spreadsheet-pain": {"group": "fit", "points": 5, "description": "Manages pipeline in spreadsheets (a pain we remove)"},
	"free-email": {"group": "fit", "points": -10, "description": "Free-mail address instead of a work address"},
	"demo-requested": {"group": "engagement", "points": 25, "description": "Requested a demo"},
	"trial-started": {"group": "engagement", "points": 20, "description": "Started a free trial"},
	"pricing-page": {"group": "engagement", "points": 10, "description": "Two or more pricing-page visits in 30 days"},
	"heavy-browsing": {"group": "engagement", "points": 10, "description": "20+ page views in 30 days"},
	"browsing": {"group": "engagement", "points": 5, "description": "5 to 19 page views in 30 days"},
	"email-engaged": {"group": "engagement", "points": 5, "description": "Five or more email opens in 90 days"},
	"email-clicks": {"group": "engagement", "points": 5, "description": "Two or more email clicks in 90 days"},
	"webinar-attended": {"group": "engagement", "points": 10, "description": "Attended a webinar"},
	"content-downloads": {"group": "engagement", "points": 5, "description": "Two or more content downloads"},
	"recent-activity": {"group": "engagement", "points": 10, "description": "Activity in the last 14 days"},
	"stale": {"group": "engagement", "points": -15, "description": "No activity for more than 90 days"},
	"cold": {"group": "engagement", "points": -10, "description": "Under 2 page views and under 2 email opens, no demo request"},
	"unsubscribed": {"group": "engagement", "points": -10, "description": "Unsubscribed from marketing email"},
	"high-intent-source": {"group": "", "points": 10, "description": "Demo request, referral, partner or event"},
	"low-intent-source": {"group": "", "points": -10, "description": "Purchased list, giveaway or cold list"},
	"budget-confirmed": {"group": "", "points": 15, "description": "Budget confirmed by the lead"},
	"near-term-timeline": {"group": "", "points": 10, "description": "Plans to buy within three months"},
	"long-timeline": {"group": "", "points": -10, "description": "Not buying within a year"},
	"buying-committee": {"group": "", "points": 5, "description": "The account already has an open opportunity"},
	"engaged-decision-maker": {"group": "", "points": 10, "description": "A decision maker who is engaged or raised a hand"},
}

hit(id, reason) := {"id": id, "group": score_rules[id].group, "points": score_rules[id].points, "reason": reason}

matched_ids := {m.id | some m in matched}

missed contains {"id": id, "group": r.group, "points": r.points, "description": r.description} if {
	some id, r in score_rules
	r.points > 0
	not id in matched_ids
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
	"missed": missed,
	"groups": {"fit": fit, "engagement": engagement},
	"score": score,
	"tier": tier,
	"qualified": qualified,
}
