package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leadq/leadq/rules"
)

// plain is Decision without its MarshalJSON, so that encoding/json's own
// reflection-based output can be compared with AppendJSON.
type plain Decision

func reference(t testing.TB, d Decision, escapeHTML bool) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(plain(d)); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func sampleDecisions() []Decision {
	weird := "a\"b\\c\n\t\r\b\f\x00\x1f<>&\u2028\u2029é\xff\xfe😀"
	return []Decision{
		{},
		{ID: "0190f3a2-7c1e-7d2a-9b3c-4d5e6f708192", LeadID: "L-1", Ruleset: RulesetRef{"b2b", "sha256:00"}, Qualified: true, Tier: "A", Score: -5,
			Groups:        Groups{{weird, 1}, {"engagement", -3}, {"fit", 20}}, // sorted by name
			Knockouts:     []Hit{{Rule: "k", Reason: weird}},
			Matched:       []Hit{{Rule: "a", Group: "fit", Points: 20, Reason: "x"}, {Rule: "b", Points: -3, Reason: ""}},
			Missed:        []Miss{{Rule: "m", Group: "g", Points: 5, Description: "d", When: "lead.x > 1", MissingFields: []string{"lead.x"}}, {Rule: "n", Points: 1, When: weird}},
			MissingFields: []string{"lead.x"}, Errors: []RuleError{{"r", weird}}, Warnings: []Warning{{"lead.y", weird}}},
		{Groups: Groups{}, Knockouts: []Hit{}, Matched: []Hit{}, Missed: []Miss{}, MissingFields: []string{}, Errors: []RuleError{}, Warnings: []Warning{}},
		{ID: weird, Missed: []Miss{{}, {}}, Matched: []Hit{{Reason: "r"}}},
		{WouldQualify: Counterfactual{Knockouts: []string{"k", weird}}},
		{WouldQualify: Counterfactual{Tier: "B", PointsNeeded: 12, Changes: []Change{
			{Field: "lead.x", Label: weird, Value: 1000, Text: "1000", Adds: 20, MakesTrue: []string{weird}, MakesFalse: []string{"m"}},
			{Field: "lead.t", Value: []string{"a", weird}, Text: "a", Adds: 5, Unknown: true, MakesTrue: []string{}},
			{Field: "lead.d", Value: "2026-11-01", Adds: 5, MakesTrue: []string{"d"}},
			{Field: "lead.f", Value: 2.5e8, Adds: 5}, {Field: "lead.b", Value: true}, {Field: "lead.l", Value: []any{"x", 1.5, nil, weird}},
		}, Verify: []string{"v", weird}},
			Missed: []Miss{{Rule: weird, Points: 25, Adds: 20}, {Rule: "t", Points: 5, Adds: 5, MissingFields: []string{"lead.t"}}}},
		{WouldQualify: Counterfactual{PointsNeeded: -1}},
		{WouldQualify: Counterfactual{Changes: []Change{{}}}},
		{WouldQualify: Counterfactual{Verify: []string{"v"}}},
	}
}

// Decisions of a ruleset take their hits' and missed rules' JSON from the ruleset's
// table; it must be what encoding/json writes, also for a decision of
// another compilation of the same files (one version, two tables), and
// for decisions changed after the fact.
func TestAppendJSONOfMissedRulesFromTheirTable(t *testing.T) {
	load := func() *rules.Ruleset {
		all, err := rules.LoadPaths("testdata/rulesets")
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range all {
			if rs.Name == "b2b-saas" {
				return rs
			}
		}
		t.Fatal("no b2b-saas in testdata/rulesets")
		return nil
	}
	first, second := NewRuleset(load()), NewRuleset(load())
	files, _ := filepath.Glob("testdata/decisions/*.lead.json")
	if len(files) == 0 {
		t.Fatal("no leads in testdata/decisions")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d1, err := first.ScoreJSON(context.Background(), data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		d2, err := second.ScoreJSON(context.Background(), data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		table := second.ruleTable()
		next := 0
		for _, m := range d2.Missed {
			if table.findMiss(&m, &next) < 0 {
				t.Errorf("%s: missed rule %s of the registered table is encoded again", f, m.Rule)
			}
		}
		next = 0
		for _, h := range d2.Knockouts {
			if table.findHit(&h, 0, table.knockouts, &next) < 0 {
				t.Errorf("%s: knockout %s of the registered table is encoded again", f, h.Rule)
			}
		}
		next = table.knockouts
		for _, h := range d2.Matched {
			if table.findHit(&h, table.knockouts, len(table.hits), &next) < 0 {
				t.Errorf("%s: fired rule %s of the registered table is encoded again", f, h.Rule)
			}
		}
		if n := len(d2.MissingFields); n > 0 {
			// A caller may shorten them: the JSON says so.
			d4 := d2
			d4.MissingFields = d2.MissingFields[:n-1]
			if got, want := second.AppendJSON(nil, &d4), reference(t, d4, false); !bytes.Equal(got, want) {
				t.Errorf("%s: shortened missing fields: AppendJSON =\n%s\nwant\n%s", f, got, want)
			}
		}
		// Missing fields are written from the table's names; any other
		// list (reordered, repeated, names of no field, names that need
		// escaping) is written as encoding/json writes it.
		next = 0
		for _, name := range d2.MissingFields {
			if table.fieldAt(name, &next) < 0 {
				t.Errorf("%s: missing field %s of the table is encoded again", f, name)
			}
		}
		for _, m := range d2.Missed {
			next := 0
			for _, name := range m.MissingFields {
				if table.fieldAt(name, &next) < 0 {
					t.Errorf("%s: missing field %s of missed rule %s is encoded again", f, name, m.Rule)
				}
			}
		}
		reversed := slices.Clone(d2.MissingFields)
		slices.Reverse(reversed)
		for _, names := range [][]string{
			reversed,
			append(slices.Clone(d2.MissingFields), d2.MissingFields...),
			{"lead.email", `lead."quoted"`, "lead.caf\u00e9\u2028", "lead.email", ""},
			{},
		} {
			d5 := d2
			d5.MissingFields = names
			if got, want := second.AppendJSON(nil, &d5), reference(t, d5, false); !bytes.Equal(got, want) {
				t.Errorf("%s: missing fields %q: AppendJSON =\n%s\nwant\n%s", f, names, got, want)
			}
		}
		// Or change what a miss or a hit says of its rule, or reorder them.
		if len(d2.Missed) > 1 && len(d2.Matched) > 1 {
			d6 := d2
			d6.Missed = slices.Clone(d2.Missed)
			d6.Missed[0].When += " (edited)"
			d6.Missed[1].Points++
			d6.Missed[0], d6.Missed[1] = d6.Missed[1], d6.Missed[0]
			d6.Matched = slices.Clone(d2.Matched)
			d6.Matched[0].Group = "other"
			slices.Reverse(d6.Matched)
			if got, want := second.AppendJSON(nil, &d6), reference(t, d6, false); !bytes.Equal(got, want) {
				t.Errorf("%s: edited rules: AppendJSON =\n%s\nwant\n%s", f, got, want)
			}
		}
		// Or groups and the ruleset's name: what was built must not hide them.
		d5 := d2
		d5.Groups = nil
		for _, g := range d2.Groups {
			d5.Groups = append(d5.Groups, GroupTotal{g.Name + "'", g.Total})
		}
		d5.Ruleset.Name += "'"
		if got, want := second.AppendJSON(nil, &d5), reference(t, d5, false); !bytes.Equal(got, want) {
			t.Errorf("%s: other groups: AppendJSON =\n%s\nwant\n%s", f, got, want)
		}
		// A caller may change a reason: the prebuilt hit must not hide it.
		if len(d2.Matched) > 0 {
			d3 := d2
			d3.Matched = slices.Clone(d2.Matched)
			for i := range d3.Matched {
				d3.Matched[i].Reason += " (edited)"
			}
			if got, want := second.AppendJSON(nil, &d3), reference(t, d3, false); !bytes.Equal(got, want) {
				t.Errorf("%s: an edited reason: AppendJSON =\n%s\nwant\n%s", f, got, want)
			}
		}
		for _, d := range []Decision{d1, d2} {
			want := reference(t, d, false)
			for _, rs := range []*Ruleset{nil, first, second} {
				got := d.AppendJSON(nil)
				if rs != nil {
					got = rs.AppendJSON(nil, &d)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: AppendJSON (table %p) =\n%s\nwant\n%s", f, rs, got, want)
				}
			}
		}
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for i, d := range sampleDecisions() {
		want := reference(t, d, false)
		if got := d.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("decision %d: AppendJSON =\n%s\nwant\n%s", i, got, want)
		}
		// Through MarshalJSON, encoding/json's HTML escaping still applies.
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(d); err != nil {
			t.Fatal(err)
		}
		if got, want := bytes.TrimSuffix(buf.Bytes(), []byte("\n")), reference(t, d, true); !bytes.Equal(got, want) {
			t.Errorf("decision %d: json.Encode =\n%s\nwant\n%s", i, got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("L-1", "fit", "reason <b>", "lead.x", 5)
	f.Add("\xff\x00", "\u2028", "\"", "\\", -1)
	f.Fuzz(func(t *testing.T, id, group, reason, field string, points int) {
		d := Decision{ID: reason, LeadID: id, Tier: group, Score: points, Groups: Groups{{group, points}, {id, 1}},
			Knockouts: []Hit{{Rule: id, Reason: reason}}, Matched: []Hit{{Rule: reason, Group: group, Points: points, Reason: field}},
			Missed:        []Miss{{Rule: field, Points: points, Description: reason, When: group, MissingFields: []string{field}}},
			MissingFields: []string{field}, Errors: []RuleError{{id, reason}}, Warnings: []Warning{{field, reason}}}
		if got, want := d.AppendJSON(nil), reference(t, d, false); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON =\n%s\nwant\n%s", got, want)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	d := sampleDecisions()[1]
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendJSON(buf[:0])
	}
}

// A decision's groups are written as encoding/json writes the same totals
// in a map (keys sorted), and read back the same.
func TestGroupsJSON(t *testing.T) {
	weird := "a\"b\\c\n\x00<>&\u2028é" // valid UTF-8: invalid bytes do not read back
	for _, g := range []Groups{nil, {}, {{"fit", 60}}, {{weird, -1}, {"engagement", 20}, {"fit", 0}}} {
		got, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]int
		if g != nil {
			m = map[string]int{}
			for _, x := range g {
				m[x.Name] = x.Total
			}
		}
		want, _ := json.Marshal(m)
		if !bytes.Equal(got, want) {
			t.Errorf("%v: JSON %s; want %s", g, got, want)
		}
		var back Groups
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back, g) || (back == nil) != (g == nil) {
			t.Errorf("%v: read back %v", g, back)
		}
		if total, ok := g.Total("fit"); ok != slices.ContainsFunc(g, func(x GroupTotal) bool { return x.Name == "fit" }) || (ok && total != m["fit"]) {
			t.Errorf("%v: Total(fit) = %d, %v", g, total, ok)
		}
	}
}
