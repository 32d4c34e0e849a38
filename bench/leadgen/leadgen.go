// Package leadgen generates realistic inbound leads for the b2b-saas example
// ruleset (examples/rulesets/b2b-saas*.yaml), deterministically from a seed.
//
// The mix is what a revenue-operations inbox sees: qualified buyers, people
// a knockout rejects (competitors, students and interns, unserved countries,
// tiny companies, free-mail addresses without a company, existing
// customers), sparse records with missing fields, free-mail sign-ups, and
// engagement from cold to hot. Values sit on the rules' boundaries often
// enough (9/10 employees, 14/15 days, 2 pricing visits) to catch an
// off-by-one in any implementation.
//
// With Options.Messy at zero every present value has its declared type
// (strings, whole numbers, numbers, booleans, lists of strings, dates as
// "2006-01-02"), and a missing field is an absent key, never null: the
// comparison set every engine can agree on. Messy leads add what only leadq
// accepts (numbers in strings, "yes" for true, blanks and nulls, a tech
// stack as "a; b", RFC 3339 dates, wrong types it reports and ignores), for
// load tests of leadq alone.
//
// Generate is safe for concurrent use; it shares no state between calls.
package leadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/bench/freemail"
	"github.com/leadq/leadq/engine"
)

// Now is the fixed clock the leads were generated against: activity dates
// are days before it, and every engine evaluates days_since against it.
var Now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// DefaultSeed is the seed of the benchmark's lead set.
const DefaultSeed = 20261101

// Lead is one generated scoring request.
type Lead struct {
	ID      string
	Lead    map[string]any // lead.* fields by key; an absent key is a missing field
	Account map[string]any // account.* fields; nil when the lead has no account data
}

// Options control Generate.
type Options struct {
	Seed uint64 // same seed and n, same leads
	// Messy is the fraction of leads (0 to 1) given values only leadq
	// accepts or reports; keep it 0 for the comparison set.
	Messy float64
}

// request is the JSON shape engine.ParseInput reads.
type request struct {
	ID      string         `json:"id"`
	Lead    map[string]any `json:"lead"`
	Account map[string]any `json:"account,omitempty"`
}

// JSON returns the lead as one scoring request, {"id", "lead", "account"},
// with keys sorted (encoding/json sorts map keys), so output is stable.
func (l Lead) JSON() []byte {
	b, err := json.Marshal(request{ID: l.ID, Lead: l.Lead, Account: l.Account})
	if err != nil { // only Go values json can encode are generated
		panic(fmt.Sprintf("leadgen: encode %s: %v", l.ID, err))
	}
	return b
}

// Input returns the lead as leadq's decoded input. It shares the maps.
func (l Lead) Input() engine.Input {
	return engine.Input{ID: l.ID, Lead: l.Lead, Account: l.Account}
}

// Generate returns n leads from opts.Seed.
func Generate(n int, opts Options) []Lead {
	g := &gen{r: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))}
	out := make([]Lead, n)
	for i := range out {
		out[i] = g.lead(i)
		if opts.Messy > 0 && g.r.Float64() < opts.Messy {
			g.mess(&out[i])
		}
	}
	return out
}

// WriteNDJSON writes one JSON request per line.
func WriteNDJSON(w io.Writer, leads []Lead) error {
	bw := bufio.NewWriter(w)
	for _, l := range leads {
		bw.Write(l.JSON())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Vocabularies. Each list holds every member of the matching ruleset list
// and values outside it, so every rule both fires and does not fire.
var (
	firstNames = []string{"ana", "tom", "priya", "marc", "eva", "kim", "li", "sam", "jordan", "fatima", "lars",
		"chen", "olu", "maria", "james", "aiko", "noah", "sofia", "raj", "emma", "diego", "hana", "ben", "zoe"}
	lastNames = []string{"silva", "baker", "nair", "dubois", "jansen", "lee", "wei", "ortiz", "okafor", "berg",
		"smith", "muller", "rossi", "tanaka", "kowalski", "haddad", "obrien", "novak", "garcia", "khan"}
	companyHeads = []string{"North", "Blue", "Harbor", "Peak", "Bright", "Iron", "Silver", "Cedar", "Polder",
		"Summit", "Atlas", "Nova", "Orbit", "Maple", "Quartz", "River", "Stone", "Vector", "Willow", "Zenith"}
	companyTails = []string{"bank", "path", "wise", "freight", "soft", "health", "works", "labs", "data",
		"cloud", "logic", "media", "retail", "assure", "ledger", "ops", "line", "grid"}
	competitorDomains = []string{"rivalcrm.example", "pipelinepro.example", "leadlynx.example", "funnelforge.example"}

	targetIndustries   = []string{"software", "fintech", "healthcare", "insurance", "logistics"}
	adjacentIndustries = []string{"manufacturing", "retail", "professional-services", "media", "education"}
	otherIndustries    = []string{"energy", "government", "hospitality", "agriculture", "non-profit", "construction", "telecom"}

	priorityCountries = []string{"US", "GB", "DE"}
	servedCountries   = []string{"CA", "IE", "AT", "CH", "FR", "NL", "BE", "SE", "DK", "NO", "FI", "AU", "NZ"}
	unservedCountries = []string{"BR", "IN", "CN", "MX", "ZA", "JP", "SG", "AR", "NG", "PL", "ES", "IT"}

	crm       = []string{"salesforce", "hubspot", "dynamics-365", "pipedrive"}
	dataStack = []string{"snowflake", "bigquery", "redshift", "databricks", "segment", "dbt", "fivetran"}
	otherTech = []string{"slack", "jira", "zendesk", "quickbooks", "netsuite", "marketo", "outreach", "gong",
		"tableau", "looker", "zoho-crm", "excel"}

	highIntent  = []string{"demo-request", "referral", "partner", "event"}
	lowIntent   = []string{"purchased-list", "giveaway", "cold-list"}
	otherSource = []string{"organic-search", "paid-search", "content", "webinar", "social", "newsletter"}

	functions = []string{"Revenue Operations", "RevOps", "Rev Ops", "Sales Operations", "Marketing Operations",
		"Sales Enablement", "Sales", "Marketing", "Finance", "Engineering", "Data", "Customer Success", "IT",
		"International Sales", "Internal Communications", "Operations", "Product", "Demand Generation"}
)

// leadKeys and accountKeys are the fields of the ruleset, in a fixed order.
var (
	leadKeys = []string{"email", "company", "title", "seniority", "employees", "annual_revenue", "industry",
		"country", "tech_stack", "page_views", "pricing_page_visits", "email_opens", "email_clicks",
		"content_downloads", "webinar_attended", "demo_requested", "trial_started", "unsubscribed",
		"last_activity_date", "source", "budget_confirmed", "timeline_months"}
	accountKeys = []string{"is_customer", "open_opportunities"}
)

type gen struct{ r *rand.Rand }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// logUniform returns an integer spread evenly in log scale over [lo, hi].
func (g *gen) logUniform(lo, hi float64) int {
	return int(math.Round(math.Exp(math.Log(lo) + g.r.Float64()*(math.Log(hi)-math.Log(lo)))))
}

// count returns a small non-negative count with mean about mean.
func (g *gen) count(mean float64) int {
	// Geometric: the shape of page views and email opens.
	if mean <= 0 {
		return 0
	}
	p := 1 / (1 + mean)
	return int(math.Floor(math.Log(1-g.r.Float64()) / math.Log(1-p)))
}

// boundary returns one of the values on a rule's edge with probability p,
// else v.
func (g *gen) boundary(p float64, v int, edges ...int) int {
	if g.chance(p) {
		return edges[g.r.IntN(len(edges))]
	}
	return v
}

// caseVariant returns s, now and then with another capitalisation.
func (g *gen) caseVariant(s string, p float64) string {
	if !g.chance(p) {
		return s
	}
	if g.chance(0.5) {
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return strings.ToUpper(s)
}

func (g *gen) lead(i int) Lead {
	l := map[string]any{}
	fit := g.r.Float64()                    // how close to the ideal customer
	engaged := math.Pow(g.r.Float64(), 1.6) // how much the lead interacts with us: most barely do
	intent := fit*0.5 + engaged*0.5

	// Who: name, company, email.
	first, last := g.pick(firstNames), g.pick(lastNames)
	company := g.pick(companyHeads) + g.pick(companyTails)
	domain := strings.ToLower(company) + ".example"
	switch x := g.r.Float64(); {
	case x < 0.03: // a competitor's employee
		domain = g.pick(competitorDomains)
	case x < 0.15: // a free-mail sign-up
		domain = g.pick(freemail.Domains)
		switch y := g.r.Float64(); {
		case y < 0.3:
			company = "" // knockout: free mail and no company
		case y < 0.4:
			company = "  "
		}
	}
	email := first + "." + last + "@" + domain
	if g.chance(0.04) {
		email = strings.ToUpper(first[:1]) + first[1:] + "@" + strings.ToUpper(domain)
	}
	if g.chance(0.005) {
		email = first + "." + last // no @: domain() is ""
	}
	l["email"] = email
	l["company"] = company

	// Role.
	seniority, title := g.role(fit)
	l["seniority"] = seniority
	l["title"] = title

	// Firmographics.
	employees := g.logUniform(2, 20000)
	if fit > 0.6 {
		employees = g.logUniform(60, 5000)
	}
	employees = g.boundary(0.08, employees, 9, 10, 49, 50, 99, 100, 999, 1000)
	l["employees"] = employees
	revenue := float64(employees) * float64(40_000+g.r.IntN(360_000))
	switch x := g.r.Float64(); {
	case x < 0.04:
		revenue = 10_000_000
	case x < 0.08:
		revenue = 250_000_000
	case x < 0.12:
		revenue = 9_999_999.99
	case x < 0.5:
		revenue = math.Round(revenue/1000) * 1000
	default:
		revenue = math.Round(revenue*100) / 100
	}
	l["annual_revenue"] = revenue
	switch x := g.r.Float64(); {
	case x < 0.25+fit*0.3:
		l["industry"] = g.caseVariant(g.pick(targetIndustries), 0.3)
	case x < 0.75:
		l["industry"] = g.caseVariant(g.pick(adjacentIndustries), 0.2)
	default:
		l["industry"] = g.pick(otherIndustries)
	}
	switch x := g.r.Float64(); {
	case x < 0.55:
		l["country"] = g.pick(priorityCountries)
	case x < 0.9:
		l["country"] = g.pick(servedCountries)
	default:
		l["country"] = g.pick(unservedCountries)
	}
	if g.chance(0.06) {
		l["country"] = strings.ToLower(l["country"].(string))
	}
	l["tech_stack"] = g.stack(fit)

	// Engagement.
	views := g.boundary(0.1, g.count(1+engaged*engaged*30), 1, 2, 4, 5, 9, 10, 19, 20)
	l["page_views"] = views
	l["pricing_page_visits"] = g.boundary(0.1, g.count(engaged*2.5), 1, 2)
	opens := g.boundary(0.1, g.count(engaged*8), 1, 2, 4, 5)
	l["email_opens"] = opens
	l["email_clicks"] = g.boundary(0.05, g.count(float64(opens)/3), 1, 2)
	l["content_downloads"] = g.boundary(0.05, g.count(engaged*1.5), 1, 2)
	l["webinar_attended"] = g.chance(engaged * 0.4)
	l["demo_requested"] = g.chance(engaged * engaged * 0.6)
	l["trial_started"] = g.chance(engaged * 0.25)
	l["unsubscribed"] = g.chance((1 - engaged) * 0.12)
	daysAgo := g.count(5 + (1-engaged)*150)
	daysAgo = g.boundary(0.1, daysAgo, 0, 13, 14, 15, 89, 90, 91, 365)
	l["last_activity_date"] = Now.AddDate(0, 0, -daysAgo).Format("2006-01-02")

	// Buying signals.
	switch x := g.r.Float64(); {
	case x < 0.15+intent*0.3:
		l["source"] = g.pick(highIntent)
	case x < 0.6:
		l["source"] = g.pick(otherSource)
	default:
		l["source"] = g.pick(lowIntent)
	}
	l["budget_confirmed"] = g.chance(0.05 + intent*0.25)
	l["timeline_months"] = []int{1, 2, 3, 4, 6, 9, 12, 13, 18, 24}[g.r.IntN(10)]

	var account map[string]any
	if g.chance(0.7) {
		account = map[string]any{
			"is_customer":        g.chance(0.05),
			"open_opportunities": []int{0, 0, 0, 0, 1, 1, 2, 3}[g.r.IntN(8)],
		}
	}

	// Sparse records: CRM imports, form fills, enrichment that failed.
	var drop float64
	switch x := g.r.Float64(); {
	case x < 0.55:
	case x < 0.85:
		drop = 0.1
	default:
		drop = 0.45
	}
	if drop > 0 {
		// Fixed key order: ranging over a map would make the output random.
		for _, k := range leadKeys {
			if k == "email" && !g.chance(0.05) {
				continue
			}
			if g.chance(drop) {
				delete(l, k)
			}
		}
		if account != nil {
			for _, k := range accountKeys {
				if g.chance(drop) {
					delete(account, k)
				}
			}
		}
	}
	return Lead{ID: fmt.Sprintf("00Q%07d", i), Lead: l, Account: account}
}

// role returns a seniority and a title that mostly agree.
func (g *gen) role(fit float64) (seniority, title string) {
	fn := g.pick(functions)
	switch x := g.r.Float64(); {
	case x < 0.03:
		seniority = g.pick([]string{"intern", "student"})
	case x < 0.1+fit*0.1:
		seniority = "c-level"
	case x < 0.25+fit*0.15:
		seniority = "vp"
	case x < 0.45+fit*0.15:
		seniority = "director"
	case x < 0.55+fit*0.15:
		seniority = "head"
	case x < 0.8:
		seniority = "manager"
	default:
		seniority = "individual-contributor"
	}
	switch seniority {
	case "c-level":
		title = g.pick([]string{"CEO", "COO", "CFO", "Chief Revenue Officer", "Chief Operating Officer", "Founder & CEO"})
	case "vp":
		title = g.pick([]string{"VP " + fn, "Vice President, " + fn, "SVP " + fn})
	case "director":
		title = g.pick([]string{"Director of " + fn, "Director, " + fn, fn + " Director"})
	case "head":
		title = "Head of " + fn
	case "manager":
		title = g.pick([]string{fn + " Manager", "Manager, " + fn, "Senior " + fn + " Manager"})
	case "individual-contributor":
		title = g.pick([]string{fn + " Analyst", fn + " Specialist", "Software Engineer", "Account Executive",
			"Rev Ops Analyst", "Internationalization Engineer"})
	case "intern":
		title = g.pick([]string{fn + " Intern", "Intern, " + fn, "Summer Internship - " + fn, "Apprentice Developer"})
	case "student":
		title = g.pick([]string{"Graduate Student, Data Science", "MBA Student", "Student", "PhD student"})
	}
	switch x := g.r.Float64(); {
	case x < 0.02: // the title says intern or student, the seniority field does not
		title = g.pick([]string{"Marketing Intern", "Student Ambassador", "Sales Apprentice", "INTERN"})
	case x < 0.05: // a seniority value outside the ruleset's vocabulary
		seniority = g.pick([]string{"VP", "Director", "owner", "senior"})
	}
	return seniority, title
}

// stack returns the lead's tech stack: mostly lower case, sometimes as the
// vendor writes it (contains_any and contains_all ignore case; `in` does not).
func (g *gen) stack(fit float64) []string {
	var s []string
	add := func(xs []string, p float64) {
		for _, x := range xs {
			if g.chance(p) {
				s = append(s, g.caseVariant(x, 0.15))
			}
		}
	}
	add(crm, 0.08+fit*0.15)
	add(dataStack, 0.04+fit*0.1)
	add(otherTech, 0.12)
	if g.chance(0.15) {
		s = append(s, g.caseVariant("spreadsheets", 0.2))
	}
	if s == nil {
		s = []string{}
	}
	return s
}

// mess gives one lead values only leadq accepts or reports.
func (g *gen) mess(l *Lead) {
	m := l.Lead
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(8) {
		case 0: // whole number as a string
			if v, ok := m["employees"].(int); ok {
				m["employees"] = strconv.Itoa(v)
			}
		case 1: // boolean as yes/no
			if v, ok := m["demo_requested"].(bool); ok {
				m["demo_requested"] = map[bool]string{true: "yes", false: "no"}[v]
			}
		case 2: // blank for unknown, as CSV exports send
			m["page_views"] = ""
		case 3: // explicit null
			m["annual_revenue"] = nil
		case 4: // list as a delimited string
			if v, ok := m["tech_stack"].([]string); ok {
				m["tech_stack"] = strings.Join(v, "; ")
			}
		case 5: // RFC 3339 timestamp
			if v, ok := m["last_activity_date"].(string); ok {
				m["last_activity_date"] = v + "T09:30:00Z"
			}
		case 6: // wrong type: a warning, treated as missing
			m["timeline_months"] = "soon"
		case 7: // number as a string for a float field
			if v, ok := m["annual_revenue"].(float64); ok {
				m["annual_revenue"] = strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
	}
}
