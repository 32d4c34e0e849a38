package engine

// Decision is the verdict on one lead. It is a plain value its caller
// owns: none of its maps, slices or structs is shared with another
// decision or with the engine, so changing it changes nothing else, and
// its JSON (AppendJSON, MarshalJSON) always says what its fields say.
// Its JSON tags are the wire format of the HTTP API and `leadq score
// --format json`; slices are never null, and every list has a
// deterministic order.
type Decision struct {
	// ID identifies this decision everywhere (answers, the decision log,
	// lookups): a UUIDv7, time-ordered, set by whoever makes decisions for
	// others to find again (the server); empty, and left out of the JSON,
	// when nobody set one.
	ID           string     `json:"id,omitempty"`
	LeadID       string     `json:"lead_id"`
	Ruleset      RulesetRef `json:"ruleset"`
	Qualified    bool       `json:"qualified"`
	Tier         string     `json:"tier"`
	ExpectedRate float64    `json:"expected_rate,omitempty"` // the tier's expect: the share of such leads expected to convert
	Score        int        `json:"score"`
	Groups       Groups     `json:"groups"` // every group's total after its caps, by name
	Knockouts    []Hit      `json:"knockouts"`
	Matched      []Hit      `json:"matched"`
	Missed       []Miss     `json:"missed"`
	// WouldQualify says what it would take a lead that did not qualify to
	// qualify (see Counterfactual); zero, and left out of the JSON, for a
	// qualified lead and in brief decisions.
	WouldQualify  Counterfactual `json:"would_qualify,omitzero"`
	MissingFields []string       `json:"missing_fields"` // fields whose absence left a rule undecided, in declaration order
	Errors        []RuleError    `json:"errors"`
	Warnings      []Warning      `json:"warnings"`

	// Brief is set when the decision was made with Detail Brief: its JSON
	// then leaves out matched and missed (knockouts keep their reasons).
	Brief bool `json:"-"`
}

// GroupTotal is a group's points in a decision, after the group's caps.
type GroupTotal struct {
	Name  string
	Total int
}

// Groups are a decision's group totals, sorted by name. Its JSON is an
// object of the totals by name, {"engagement": 20, "fit": 60}, with the
// keys in the slice's order.
type Groups []GroupTotal

// Total returns the total of the group of that name, and whether the
// decision has that group.
func (g Groups) Total(name string) (int, bool) {
	for _, x := range g {
		if x.Name == name {
			return x.Total, true
		}
	}
	return 0, false
}

// RulesetRef names the ruleset and the exact version that decided.
type RulesetRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Hit is a knockout or score rule that fired, with its reason rendered with
// the lead's own values. Group and Points are a score rule's (a knockout
// has neither).
type Hit struct {
	Rule   string `json:"rule"`
	Group  string `json:"group,omitempty"`
	Points int    `json:"points,omitempty"`
	Reason string `json:"reason"`
}

// Miss is a positive score rule that did not fire: what it would take to
// score higher, and (MissingFields) what data the lead lacks for the rule
// to be decided.
type Miss struct {
	Rule        string `json:"rule"`
	Group       string `json:"group,omitempty"`
	Points      int    `json:"points"`
	Description string `json:"description,omitempty"`
	When        string `json:"when"`
	// Adds is what the rule would really add to the score if it were
	// true: its points, less what its group's caps would take (0 when the
	// group is already at its cap).
	Adds int `json:"adds"`
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
