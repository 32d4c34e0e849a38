package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
)

// plainDecision is Decision without its MarshalJSON: encoding/json's
// reflection says what the fields say.
type plainDecision engine.Decision

// fieldsAndJSON are d as its fields say (plainDecision, through
// encoding/json's reflection) and as its MarshalJSON writes it: the two
// must be equal.
func fieldsAndJSON(t *testing.T, d engine.Decision) (fields, encoded []byte) {
	t.Helper()
	fields, err := json.Marshal(plainDecision(d))
	if err != nil {
		t.Fatal(err)
	}
	encoded, err = json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return fields, encoded
}

// exampleEngine is an engine over testdata/rulesets at fixedNow.
func exampleEngine(t *testing.T) *engine.Engine {
	t.Helper()
	eng, err := engine.Open(context.Background(), engine.Paths("testdata/rulesets"), engine.WithClock(func() time.Time { return fixedNow }))
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// A decision is its caller's: changing every map, slice and struct in one
// changes nothing in another decision of the same lead, made before or
// after, nor in their JSON; and the changed decision's JSON says what its
// fields now say. The scenario of issue 13, with the README's API.
func TestDecisionsShareNothing(t *testing.T) {
	ctx := context.Background()
	eng := exampleEngine(t)
	for _, f := range []string{"competitor", "missing-firmographics", "vp-fintech", "student-intern"} {
		data, err := os.ReadFile("testdata/decisions/" + f + ".lead.json")
		if err != nil {
			t.Fatal(err)
		}
		in, err := engine.ParseInput(data)
		if err != nil {
			t.Fatal(err)
		}
		score := map[string]func() engine.Decision{
			"map": func() engine.Decision {
				d, err := eng.Score(ctx, "b2b-saas", in)
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
			"json": func() engine.Decision {
				rs, err := eng.Ruleset("b2b-saas")
				if err != nil {
					t.Fatal(err)
				}
				d, err := rs.ScoreJSON(ctx, data, eng.Options())
				if err != nil {
					t.Fatal(err)
				}
				return d
			},
		}
		for path, score := range score {
			d1, d2 := score(), score()
			before := d2.AppendJSON(nil)
			if len(d1.Groups) == 0 || len(d1.Matched) == 0 || len(d1.Missed) == 0 {
				t.Fatalf("%s %s: want groups, matched and missed rules to change: %+v", f, path, d1)
			}
			for i := range d1.Groups {
				d1.Groups[i].Total = 999
			}
			d1.Groups = append(d1.Groups, engine.GroupTotal{Name: "new", Total: 1})
			for i := range d1.MissingFields {
				d1.MissingFields[i] = "changed"
			}
			d1.MissingFields = append(d1.MissingFields, "appended")
			for _, hits := range [][]engine.Hit{d1.Knockouts, d1.Matched} {
				for i := range hits {
					hits[i].Rule += "-changed"
					hits[i].Group = "changed"
					hits[i].Points = 999
					hits[i].Reason = "changed"
				}
			}
			d1.Knockouts = append(d1.Knockouts, engine.Hit{Rule: "appended"})
			for i := range d1.Missed {
				m := &d1.Missed[i]
				m.Rule, m.When, m.Description, m.Points = "changed", "changed", "changed", 999
				for j := range m.MissingFields {
					m.MissingFields[j] = "changed"
				}
				m.MissingFields = append(m.MissingFields, "appended")
			}
			d1.Missed = append(d1.Missed, engine.Miss{Rule: "appended"})
			d3 := score()
			if diff := cmp.Diff(d2, d3); diff != "" {
				t.Errorf("%s %s: a decision made before changing another differs from one made after (-before +after):\n%s", f, path, diff)
			}
			for name, d := range map[string]engine.Decision{"before": d2, "after": d3} {
				if got := d.AppendJSON(nil); !bytes.Equal(got, before) {
					t.Errorf("%s %s: the JSON of the decision made %s changing another:\n%s\nwant\n%s", f, path, name, got, before)
				}
			}
			want, got := fieldsAndJSON(t, d1)
			if !bytes.Equal(got, want) {
				t.Errorf("%s %s: the changed decision's JSON does not say what its fields say:\n%s\nwant\n%s", f, path, got, want)
			}
			if n := slices.Index(d2.MissingFields, "changed"); n >= 0 {
				t.Errorf("%s %s: d2.MissingFields = %q", f, path, d2.MissingFields)
			}
		}
	}
}

// A decision whose missed rules still say what the ruleset says, but whose
// missing fields the caller changed (reordered, another declared field, a
// name the ruleset does not have), is written as its fields say by the
// ruleset's encoder (which writes a missed rule from its prebuilt JSON and
// its missing fields from the declared names') and by the decision's own.
func TestChangedMissingFieldsJSON(t *testing.T) {
	ctx := context.Background()
	eng := exampleEngine(t)
	rs, err := eng.Ruleset("b2b-saas")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/decisions/missing-firmographics.lead.json")
	if err != nil {
		t.Fatal(err)
	}
	changes := map[string]func([]string) []string{
		"reversed":   func(names []string) []string { slices.Reverse(names); return names },
		"declared":   func(names []string) []string { return append([]string{"lead.industry"}, names...) },
		"undeclared": func(names []string) []string { return append(names[:len(names):len(names)], `lead."nope"`) },
		"replaced":   func(names []string) []string { return []string{"lead.title", names[0]} },
	}
	for name, change := range changes {
		d, err := rs.ScoreJSON(ctx, data, eng.Options())
		if err != nil {
			t.Fatal(err)
		}
		changed := 0
		for i := range d.Missed {
			if m := &d.Missed[i]; len(m.MissingFields) > 0 {
				m.MissingFields = change(slices.Clone(m.MissingFields))
				changed++
			}
		}
		if changed == 0 {
			t.Fatal("the lead misses no rule for lack of data; pick another")
		}
		want := engine.PlainJSON(t, d)
		for how, got := range map[string][]byte{"Ruleset.AppendJSON": rs.AppendJSON(nil, &d), "Decision.AppendJSON": d.AppendJSON(nil)} {
			if !bytes.Equal(got, want) {
				t.Errorf("%s: %s of a decision with its missing fields %s:\n%s\nwant\n%s", name, how, name, got, want)
			}
		}
	}
}
