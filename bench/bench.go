package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadq/leadq/bench/celrules"
	"github.com/leadq/leadq/bench/handwritten"
	"github.com/leadq/leadq/bench/leadgen"
	"github.com/leadq/leadq/bench/oparules"
	"github.com/leadq/leadq/engine"
)

// RulesDir is the example rulesets, relative to the bench module.
const RulesDir = "../examples/rulesets"

// Ruleset is the ruleset every engine implements.
const Ruleset = "b2b-saas"

// Leads is the size of the comparison set.
const Leads = 10_000

// Set is the comparison set, in each engine's input form.
type Set struct {
	Leads   []leadgen.Lead
	JSON    [][]byte            // one request per lead, as engine.ParseInput reads it
	Inputs  []engine.Input      // leadq's decoded input (Go values)
	Structs []handwritten.Input // the hand-written code's typed input
	Maps    []map[string]any    // OPA's input document: {"id", "lead", "account"}
}

// NewSet generates n well-typed leads (leadgen.DefaultSeed) and prepares
// every engine's input from them.
func NewSet(n int) (*Set, error) {
	return NewSetFrom(leadgen.Generate(n, leadgen.Options{Seed: leadgen.DefaultSeed}))
}

// NewSetFrom prepares every engine's input from leads.
func NewSetFrom(leads []leadgen.Lead) (*Set, error) {
	s := &Set{Leads: leads}
	for _, l := range s.Leads {
		data := l.JSON()
		var st handwritten.Input
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("lead %s: %w", l.ID, err)
		}
		doc := map[string]any{"id": l.ID, "lead": l.Lead}
		if l.Account != nil {
			doc["account"] = l.Account
		}
		s.JSON = append(s.JSON, data)
		s.Inputs = append(s.Inputs, l.Input())
		s.Structs = append(s.Structs, st)
		s.Maps = append(s.Maps, doc)
	}
	return s, nil
}

// Engines are the compiled rulesets of every engine.
type Engines struct {
	Now   time.Time // the clock of every engine
	Leadq *engine.Engine
	OPA   *oparules.Engine
	CEL   *celrules.Engine
}

// NewEngines loads leadq's example rulesets and compiles the OPA policy and
// the CEL programs. Every engine's clock is now (leadgen.Now for the
// comparison set).
func NewEngines(ctx context.Context, now time.Time) (*Engines, error) {
	lq, err := engine.Open(ctx, engine.Paths(RulesDir), engine.WithClock(func() time.Time { return now }))
	if err != nil {
		return nil, fmt.Errorf("leadq: %w", err)
	}
	opa, err := oparules.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("opa: %w", err)
	}
	cel, err := celrules.New()
	if err != nil {
		return nil, fmt.Errorf("cel: %w", err)
	}
	return &Engines{Now: now, Leadq: lq, OPA: opa, CEL: cel}, nil
}

// Engine and path names, as benchmarks and tables show them.
const (
	EngineLeadq = "leadq"
	EngineHand  = "hand-written"
	EngineOPA   = "opa"
	EngineCEL   = "cel"

	PathDecoded = "decoded"
	PathJSON    = "json"
)

// Contender is one engine deciding from one input form.
type Contender struct {
	Engine string
	Path   string
	// Decide decides lead i of the set; it is what the benchmarks time.
	Decide func(i int) error
	// Outcome decides lead i and reduces the decision to what engines
	// must agree on.
	Outcome func(i int) (Outcome, error)
}

// Contenders returns every engine on every input path, hand-written first.
func Contenders(s *Set, e *Engines) []Contender {
	ctx := context.Background()
	now := e.Now
	var cs []Contender
	leadqDecoded := func(i int) (engine.Decision, error) { return e.Leadq.Score(ctx, Ruleset, s.Inputs[i]) }
	leadqJSON := func(i int) (engine.Decision, error) { return e.Leadq.ScoreJSON(ctx, Ruleset, s.JSON[i]) }
	handDecoded := func(i int) (handwritten.Decision, error) { return handwritten.Decide(&s.Structs[i], now), nil }
	handJSON := func(i int) (handwritten.Decision, error) { return handwritten.DecideJSON(s.JSON[i], now) }
	opaDecoded := func(i int) (oparules.Decision, error) { return e.OPA.Decide(ctx, s.Maps[i], now) }
	opaJSON := func(i int) (oparules.Decision, error) { return e.OPA.DecideJSON(ctx, s.JSON[i], now) }
	celDecoded := func(i int) (celrules.Decision, error) {
		l := s.Leads[i]
		return e.CEL.Decide(l.ID, l.Lead, l.Account, now)
	}
	celJSON := func(i int) (celrules.Decision, error) { return e.CEL.DecideJSON(s.JSON[i], now) }

	cs = append(cs,
		contender(EngineHand, PathDecoded, handDecoded, FromHandWritten),
		contender(EngineHand, PathJSON, handJSON, FromHandWritten),
		contender(EngineLeadq, PathDecoded, leadqDecoded, FromLeadq),
		contender(EngineLeadq, PathJSON, leadqJSON, FromLeadq),
		contender(EngineOPA, PathDecoded, opaDecoded, FromOPA),
		contender(EngineOPA, PathJSON, opaJSON, FromOPA),
		contender(EngineCEL, PathDecoded, celDecoded, FromCEL),
		contender(EngineCEL, PathJSON, celJSON, FromCEL),
	)
	return cs
}

func contender[D any](eng, path string, decide func(int) (D, error), outcome func(D) Outcome) Contender {
	return Contender{
		Engine: eng,
		Path:   path,
		Decide: func(i int) error {
			_, err := decide(i)
			return err
		},
		Outcome: func(i int) (Outcome, error) {
			d, err := decide(i)
			if err != nil {
				return Outcome{}, err
			}
			return outcome(d), nil
		},
	}
}

// Outcome is what every engine must agree on for one lead: the score, the
// capped group totals, the tier, qualification, the knockouts and score
// rules that fired (in the ruleset's order, with their rendered reasons)
// and the positive rules that did not (by points, then ruleset order).
type Outcome struct {
	Score      int
	Fit        int
	Engagement int
	Tier       string
	Qualified  bool
	Knockouts  []Fired
	Matched    []Fired
	Missed     []string
}

// Fired is a rule that fired and the reason it gave.
type Fired struct {
	Rule   string
	Reason string
}

// FromLeadq reduces a leadq decision.
func FromLeadq(d engine.Decision) Outcome {
	o := Outcome{Score: d.Score, Fit: d.Groups["fit"], Engagement: d.Groups["engagement"], Tier: d.Tier, Qualified: d.Qualified}
	for _, h := range d.Knockouts {
		o.Knockouts = append(o.Knockouts, Fired{h.Rule, h.Reason})
	}
	for _, h := range d.Matched {
		o.Matched = append(o.Matched, Fired{h.Rule, h.Reason})
	}
	for _, m := range d.Missed {
		o.Missed = append(o.Missed, m.Rule)
	}
	return o
}

// FromHandWritten reduces a hand-written decision.
func FromHandWritten(d handwritten.Decision) Outcome {
	o := Outcome{Score: d.Score, Fit: d.Fit, Engagement: d.Engagement, Tier: d.Tier, Qualified: d.Qualified}
	for _, h := range d.Knockouts {
		o.Knockouts = append(o.Knockouts, Fired{h.Rule, h.Reason})
	}
	for _, h := range d.Matched {
		o.Matched = append(o.Matched, Fired{h.Rule, h.Reason})
	}
	for _, m := range d.Missed {
		o.Missed = append(o.Missed, m.Rule)
	}
	return o
}

// FromOPA reduces the OPA policy's decision.
func FromOPA(d oparules.Decision) Outcome {
	o := Outcome{Score: d.Score, Fit: d.Fit, Engagement: d.Engagement, Tier: d.Tier, Qualified: d.Qualified}
	for _, h := range d.Knockouts {
		o.Knockouts = append(o.Knockouts, Fired{h.Rule, h.Reason})
	}
	for _, h := range d.Matched {
		o.Matched = append(o.Matched, Fired{h.Rule, h.Reason})
	}
	for _, m := range d.Missed {
		o.Missed = append(o.Missed, m.Rule)
	}
	return o
}

// FromCEL reduces the CEL engine's decision.
func FromCEL(d celrules.Decision) Outcome {
	o := Outcome{Score: d.Score, Fit: d.Fit, Engagement: d.Engagement, Tier: d.Tier, Qualified: d.Qualified}
	for _, h := range d.Knockouts {
		o.Knockouts = append(o.Knockouts, Fired{h.Rule, h.Reason})
	}
	for _, h := range d.Matched {
		o.Matched = append(o.Matched, Fired{h.Rule, h.Reason})
	}
	for _, m := range d.Missed {
		o.Missed = append(o.Missed, m.Rule)
	}
	return o
}

// Diff describes how got differs from want (the reference), one line per
// difference; "" when they agree.
func Diff(got, want Outcome) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "  "+format+"\n", args...) }
	if got.Score != want.Score {
		line("score %d, want %d", got.Score, want.Score)
	}
	if got.Fit != want.Fit || got.Engagement != want.Engagement {
		line("groups fit=%d engagement=%d, want fit=%d engagement=%d", got.Fit, got.Engagement, want.Fit, want.Engagement)
	}
	if got.Tier != want.Tier {
		line("tier %q, want %q", got.Tier, want.Tier)
	}
	if got.Qualified != want.Qualified {
		line("qualified %v, want %v", got.Qualified, want.Qualified)
	}
	diffFired(line, "knockout", got.Knockouts, want.Knockouts)
	diffFired(line, "score rule", got.Matched, want.Matched)
	if !slices.Equal(got.Missed, want.Missed) {
		line("missed %v, want %v", got.Missed, want.Missed)
	}
	return b.String()
}

func diffFired(line func(string, ...any), kind string, got, want []Fired) {
	reasons := func(fs []Fired) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Rule] = f.Reason
		}
		return m
	}
	g, w := reasons(got), reasons(want)
	for _, f := range got {
		if r, ok := w[f.Rule]; !ok {
			line("%s %s fired; it does not in the reference", kind, f.Rule)
		} else if r != f.Reason {
			line("%s %s reason %q, want %q", kind, f.Rule, f.Reason, r)
		}
	}
	for _, f := range want {
		if _, ok := g[f.Rule]; !ok {
			line("%s %s did not fire; it does in the reference", kind, f.Rule)
		}
	}
	ids := func(fs []Fired) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.Rule
		}
		return out
	}
	if len(got) == len(want) && !slices.Equal(ids(got), ids(want)) && len(g) == len(w) {
		line("%s order %v, want %v", kind, ids(got), ids(want))
	}
}
