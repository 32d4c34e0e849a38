package leadgen_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/leadq/leadq/bench/leadgen"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

func ruleset(t *testing.T) *rules.Ruleset {
	t.Helper()
	all, err := rules.LoadPaths("../../examples/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range all {
		if rs.Name == "b2b-saas" {
			return rs
		}
	}
	t.Fatal("ruleset b2b-saas not found")
	return nil
}

func TestGenerateIsDeterministic(t *testing.T) {
	a := leadgen.Generate(500, leadgen.Options{Seed: 1})
	b := leadgen.Generate(500, leadgen.Options{Seed: 1})
	for i := range a {
		if !bytes.Equal(a[i].JSON(), b[i].JSON()) {
			t.Fatalf("lead %d differs between two runs with the same seed:\n%s\n%s", i, a[i].JSON(), b[i].JSON())
		}
	}
	// A lead does not depend on how many are generated after it.
	short := leadgen.Generate(100, leadgen.Options{Seed: 1})
	for i := range short {
		if !bytes.Equal(short[i].JSON(), a[i].JSON()) {
			t.Fatalf("lead %d differs between n=100 and n=500", i)
		}
	}
	other := leadgen.Generate(500, leadgen.Options{Seed: 2})
	same := 0
	for i := range a {
		if bytes.Equal(a[i].JSON(), other[i].JSON()) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of 500 leads are identical for seeds 1 and 2; want none", same)
	}
}

// TestCleanLeadsAreWellTyped checks the comparison set's promise: every
// key is a declared field, every value has the declared type, and a
// missing field is an absent key, never null.
func TestCleanLeadsAreWellTyped(t *testing.T) {
	rs := ruleset(t)
	seen := map[string]bool{}
	for _, l := range leadgen.Generate(2000, leadgen.Options{Seed: leadgen.DefaultSeed}) {
		for ns, m := range map[string]map[string]any{"lead": l.Lead, "account": l.Account} {
			for k, v := range m {
				name := ns + "." + k
				f := rs.Field(name)
				if f == nil {
					t.Fatalf("lead %s: %s is not a declared field", l.ID, name)
				}
				seen[name] = true
				if msg := typeProblem(f.Type, v); msg != "" {
					t.Errorf("lead %s: %s = %#v: %s", l.ID, name, v, msg)
				}
			}
		}
	}
	for _, f := range rs.Fields {
		if !seen[f.Name] {
			t.Errorf("field %s never generated", f.Name)
		}
	}
}

func typeProblem(typ rulefile.Type, v any) string {
	ok := false
	switch typ {
	case rulefile.TypeString:
		_, ok = v.(string)
	case rulefile.TypeInt:
		_, ok = v.(int)
	case rulefile.TypeFloat:
		_, ok = v.(float64)
	case rulefile.TypeBool:
		_, ok = v.(bool)
	case rulefile.TypeList:
		_, ok = v.([]string)
	case rulefile.TypeDate:
		s, isStr := v.(string)
		if isStr {
			_, err := time.Parse("2006-01-02", s)
			ok = err == nil
		}
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("want a %v, got %T", typ, v)
}

// TestJSONMatchesGoValues checks the two forms agree: leadq decides the
// same from the Go values and from the JSON bytes.
func TestJSONMatchesGoValues(t *testing.T) {
	rs := engine.NewRuleset(ruleset(t))
	opts := engine.Options{Clock: func() time.Time { return leadgen.Now }}
	for _, l := range leadgen.Generate(300, leadgen.Options{Seed: 3}) {
		data := l.JSON()
		in, err := engine.ParseInput(data)
		if err != nil {
			t.Fatalf("ParseInput(%s) = %v", data, err)
		}
		if in.ID != l.ID {
			t.Errorf("ParseInput(%s).ID = %q; want %q", data, in.ID, l.ID)
		}
		fromJSON, err1 := rs.Score(context.Background(), in, opts)
		fromGo, err2 := rs.Score(context.Background(), l.Input(), opts)
		if err1 != nil || err2 != nil {
			t.Fatalf("lead %s: %v, %v", l.ID, err1, err2)
		}
		fromJSON.Ruleset, fromGo.Ruleset = engine.RulesetRef{}, engine.RulesetRef{}
		if !reflect.DeepEqual(fromJSON, fromGo) {
			t.Errorf("lead %s: decision from JSON %+v\nfrom Go values %+v", l.ID, fromJSON, fromGo)
		}
	}
}

// TestMessyLeadsExerciseLeadqCoercion checks that Messy adds values leadq
// coerces or warns about, and that leadq still decides every lead.
func TestMessyLeadsExerciseLeadqCoercion(t *testing.T) {
	eng, err := engine.Open(context.Background(), engine.Paths("../../examples/rulesets"),
		engine.WithClock(func() time.Time { return leadgen.Now }))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := leadgen.WriteNDJSON(&buf, leadgen.Generate(1000, leadgen.Options{Seed: 5, Messy: 0.5})); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	lines, warned, strings := 0, 0, 0
	for sc.Scan() {
		lines++
		var raw struct {
			Lead map[string]any `json:"lead"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if _, isStr := raw.Lead["employees"].(string); isStr {
			strings++
		}
		rs, err := eng.Ruleset("b2b-saas")
		if err != nil {
			t.Fatal(err)
		}
		d, err := rs.ScoreJSON(context.Background(), sc.Bytes(), eng.Options())
		if err != nil {
			t.Fatalf("line %d: ScoreJSON(%s) = %v", lines, sc.Bytes(), err)
		}
		if len(d.Warnings) > 0 {
			warned++
		}
	}
	if lines != 1000 {
		t.Errorf("WriteNDJSON wrote %d lines; want 1000", lines)
	}
	if warned == 0 || strings == 0 {
		t.Errorf("messy leads: %d with warnings, %d with employees as a string; want some of each", warned, strings)
	}
}
