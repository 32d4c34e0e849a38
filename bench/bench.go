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

// Generate returns the comparison set: n well-typed leads from
// leadgen.DefaultSeed.
func Generate(n int) []leadgen.Lead {
	return leadgen.Generate(n, leadgen.Options{Seed: leadgen.DefaultSeed})
}

// Requests returns each lead as JSON bytes, as engine.ParseInput reads them.
func Requests(leads []leadgen.Lead) [][]byte {
	out := make([][]byte, len(leads))
	for i, l := range leads {
		out[i] = l.JSON()
	}
	return out
}

// Structs returns each lead decoded into the hand-written code's struct.
func Structs(leads []leadgen.Lead) ([]handwritten.Input, error) {
	out := make([]handwritten.Input, len(leads))
	for i, l := range leads {
		if err := json.Unmarshal(l.JSON(), &out[i]); err != nil {
			return nil, fmt.Errorf("lead %s: %w", l.ID, err)
		}
	}
	return out, nil
}

// Inputs returns each lead as leadq's decoded input.
func Inputs(leads []leadgen.Lead) []engine.Input {
	out := make([]engine.Input, len(leads))
	for i, l := range leads {
		out[i] = l.Input()
	}
	return out
}

// Documents returns each lead as OPA's input document, {"id", "lead",
// "account"}, sharing the lead's maps.
func Documents(leads []leadgen.Lead) []map[string]any {
	out := make([]map[string]any, len(leads))
	for i, l := range leads {
		doc := map[string]any{"id": l.ID, "lead": l.Lead}
		if l.Account != nil {
			doc["account"] = l.Account
		}
		out[i] = doc
	}
	return out
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
	// Prepare puts leads into the input form the contender reads (not
	// timed). The Decider keeps only that form, so that while a benchmark
	// runs the live heap is its engine and its input, which sets what the
	// garbage collector costs it.
	Prepare func(leads []leadgen.Lead) (*Decider, error)
}

// Decider decides the leads it was prepared with.
type Decider struct {
	// Decide decides lead i; it is what the benchmarks time.
	Decide func(i int) error
	// Outcome decides lead i and reduces the decision to what engines
	// must agree on.
	Outcome func(i int) (Outcome, error)
}

// Contenders returns every engine on every input path, hand-written on
// decoded input first: the reference the others are compared with.
func Contenders(e *Engines) []Contender {
	ctx := context.Background()
	now := e.Now
	return []Contender{
		contender(EngineHand, PathDecoded, FromHandWritten, func(leads []leadgen.Lead) (func(int) (handwritten.Decision, error), error) {
			in, err := Structs(leads)
			return func(i int) (handwritten.Decision, error) { return handwritten.Decide(&in[i], now), nil }, err
		}),
		contender(EngineHand, PathJSON, FromHandWritten, func(leads []leadgen.Lead) (func(int) (handwritten.Decision, error), error) {
			data := Requests(leads)
			return func(i int) (handwritten.Decision, error) { return handwritten.DecideJSON(data[i], now) }, nil
		}),
		contender(EngineLeadq, PathDecoded, FromLeadq, func(leads []leadgen.Lead) (func(int) (engine.Decision, error), error) {
			in := Inputs(leads)
			return func(i int) (engine.Decision, error) { return e.Leadq.Score(ctx, Ruleset, in[i]) }, nil
		}),
		contender(EngineLeadq, PathJSON, FromLeadq, func(leads []leadgen.Lead) (func(int) (engine.Decision, error), error) {
			data := Requests(leads)
			return func(i int) (engine.Decision, error) {
				rs, err := e.Leadq.Ruleset(Ruleset) // as Score looks it up
				if err != nil {
					return engine.Decision{}, err
				}
				return rs.ScoreJSON(ctx, data[i], e.Leadq.Options())
			}, nil
		}),
		contender(EngineOPA, PathDecoded, FromOPA, func(leads []leadgen.Lead) (func(int) (oparules.Decision, error), error) {
			docs := Documents(leads)
			return func(i int) (oparules.Decision, error) { return e.OPA.Decide(ctx, docs[i], now) }, nil
		}),
		contender(EngineOPA, PathJSON, FromOPA, func(leads []leadgen.Lead) (func(int) (oparules.Decision, error), error) {
			data := Requests(leads)
			return func(i int) (oparules.Decision, error) { return e.OPA.DecideJSON(ctx, data[i], now) }, nil
		}),
		contender(EngineCEL, PathDecoded, FromCEL, func(leads []leadgen.Lead) (func(int) (celrules.Decision, error), error) {
			leads = slices.Clone(leads)
			return func(i int) (celrules.Decision, error) {
				return e.CEL.Decide(leads[i].ID, leads[i].Lead, leads[i].Account, now)
			}, nil
		}),
		contender(EngineCEL, PathJSON, FromCEL, func(leads []leadgen.Lead) (func(int) (celrules.Decision, error), error) {
			data := Requests(leads)
			return func(i int) (celrules.Decision, error) { return e.CEL.DecideJSON(data[i], now) }, nil
		}),
	}
}

func contender[D any](eng, path string, outcome func(D) Outcome, prepare func([]leadgen.Lead) (func(int) (D, error), error)) Contender {
	return Contender{
		Engine: eng,
		Path:   path,
		Prepare: func(leads []leadgen.Lead) (*Decider, error) {
			decide, err := prepare(leads)
			if err != nil {
				return nil, err
			}
			return &Decider{
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
			}, nil
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
	fit, _ := d.Groups.Total("fit")
	engagement, _ := d.Groups.Total("engagement")
	o := Outcome{Score: d.Score, Fit: fit, Engagement: engagement, Tier: d.Tier, Qualified: d.Qualified}
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
		o.Knockouts = append(o.Knockouts, Fired{h.Rule.ID, h.Reason})
	}
	for _, h := range d.Matched {
		o.Matched = append(o.Matched, Fired{h.Rule.ID, h.Reason})
	}
	for _, m := range d.Missed {
		o.Missed = append(o.Missed, m.Rule.ID)
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
