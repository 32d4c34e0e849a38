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

// Counterfactual is what it would take a lead that did not qualify to
// qualify, computed from the decision with the ruleset's caps, tiers and
// qualify rule:
//
//   - a knocked-out lead must first clear its knockouts (Knockouts), and
//     nothing else is said: no score makes it qualify while one applies;
//   - otherwise Tier is the nearest tier above the lead's that satisfies
//     qualify, PointsNeeded how far it is, and Changes a smallest set of
//     missed rules that together qualify the lead (none when no set
//     does), each with what it adds in that set. What each missed rule
//     would add on its own is its Miss.Adds.
type Counterfactual struct {
	Knockouts    []string `json:"knockouts,omitempty"`     // the rules that knocked the lead out
	Tier         string   `json:"tier,omitempty"`          // the nearest tier that qualifies
	PointsNeeded int      `json:"points_needed,omitempty"` // to reach Tier's minimum
	Changes      []Gain   `json:"changes,omitempty"`       // a smallest set of missed rules that qualifies the lead
}

// Gain is a missed rule of a counterfactual's changes and what making it
// true adds to the score, after the changes before it.
type Gain struct {
	Rule   string `json:"rule"`
	Points int    `json:"points"` // the rule's own points
	Adds   int    `json:"adds"`   // what it really adds, under its group's caps, after the changes before it
	// Unknown is true when the lead lacks the data to decide the rule: ask
	// the lead or enrich the record. False: known, and not true.
	Unknown bool `json:"unknown"`
}

// IsZero reports whether there is nothing to say: a qualified lead, or a
// brief decision.
func (c Counterfactual) IsZero() bool {
	return len(c.Knockouts) == 0 && c.Tier == "" && c.PointsNeeded == 0 && len(c.Changes) == 0
}
