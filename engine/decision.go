package engine

// Decision is the verdict on one lead. Its JSON tags are the wire format of
// the HTTP API and `leadq score --format json`; slices are never null, and
// every list has a deterministic order.
type Decision struct {
	LeadID        string         `json:"lead_id"`
	Ruleset       RulesetRef     `json:"ruleset"`
	Qualified     bool           `json:"qualified"`
	Tier          string         `json:"tier"`
	Score         int            `json:"score"`
	Groups        map[string]int `json:"groups"` // shared by decisions with the same totals: read only
	Knockouts     []Hit          `json:"knockouts"`
	Matched       []Hit          `json:"matched"`
	Missed        []Miss         `json:"missed"`
	MissingFields []string       `json:"missing_fields"` // shared by decisions that lack the same fields: read only
	Errors        []RuleError    `json:"errors"`
	Warnings      []Warning      `json:"warnings"`

	// Brief is set when the decision was made with EvalOptions.Brief: its
	// JSON then leaves out matched and missed (knockouts keep their reasons).
	Brief bool `json:"-"`
}

// RulesetRef names the ruleset and the exact version that decided.
type RulesetRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Hit is a knockout or score rule that fired, with its reason rendered with
// the lead's own values.
type Hit struct {
	*FiredRule
	Reason string `json:"reason"`
}

// FiredRule is what a Hit says of the rule itself. It is the same for
// every lead, so decisions share one per rule and ruleset version instead
// of copying it. Its fields are promoted into Hit, in Go and in JSON. A
// FiredRule from the engine is shared by many decisions: read it, do not
// change it.
type FiredRule struct {
	Rule   string `json:"rule"`
	Group  string `json:"group,omitempty"`  // score rules only
	Points int    `json:"points,omitempty"` // score rules only
}

// Miss is a positive score rule that did not fire: what it would take to
// score higher, and (MissingFields) what data the lead lacks for the rule
// to be decided.
type Miss struct {
	*MissedRule
}

// MissedRule is what a Miss says. It is the same for every lead that misses
// the rule for the same reason, so decisions share one per rule, ruleset
// version and set of missing fields instead of copying it: a decision
// misses most rules, and the copies were most of its bytes. Its fields are
// promoted into Miss, in Go and in JSON. A MissedRule from the engine is
// shared by many decisions: read it, do not change it (build a new one to
// change a Miss).
type MissedRule struct {
	Rule        string `json:"rule"`
	Group       string `json:"group,omitempty"`
	Points      int    `json:"points"`
	Description string `json:"description,omitempty"`
	When        string `json:"when"`
	// MissingFields is set when the rule could not be decided because the
	// lead lacks these fields.
	MissingFields []string `json:"missing_fields,omitempty"`
}

// RuleError is a rule whose expression failed at run time. The rule did not
// fire; the rest of the ruleset ran.
type RuleError struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Warning is a problem with the input that did not stop the decision, such
// as a field of the wrong type (treated as missing).
type Warning struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
