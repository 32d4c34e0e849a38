package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/rules"
)

// wideRuleset has one rule over eight fields, so that leads can lack more
// combinations of them (255) than a rule keeps variants of; its two rules
// are in groups of their own, so that leads have different group totals.
func wideRuleset(t *testing.T) *rules.Ruleset {
	t.Helper()
	var src strings.Builder
	src.WriteString("ruleset: wide\nfields:\n")
	var terms []string
	for i := range 8 {
		fmt.Fprintf(&src, "  lead.f%d: int\n", i)
		terms = append(terms, fmt.Sprintf("lead.f%d > 100", i))
	}
	fmt.Fprintf(&src, "score:\n  - {id: any-big, group: big, points: 10, when: %s}\n", strings.Join(terms, " || "))
	src.WriteString("  - {id: f0-small, group: small, points: 5, when: lead.f0 < 5}\n")
	src.WriteString("tiers:\n  - {name: A, min: 10}\n  - {name: B}\n")
	return compileRuleset(t, src.String())
}

// compileRuleset compiles one ruleset file's text.
func compileRuleset(t *testing.T, src string) *rules.Ruleset {
	t.Helper()
	f, err := rules.Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func nowFixed() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }

// leadWith is a lead that has the fields in the bits of have, all small.
func leadWith(have int) []byte {
	var kv []string
	for i := range 8 {
		if have&(1<<i) != 0 {
			kv = append(kv, fmt.Sprintf(`"f%d": 1`, i))
		}
	}
	return []byte(`{"lead": {` + strings.Join(kv, ", ") + `}}`)
}

// wantMissing is what a lead with the fields in have lacks, by name.
func wantMissing(have int, fields int) []string {
	var out []string
	for i := range fields {
		if have&(1<<i) == 0 {
			out = append(out, fmt.Sprintf("lead.f%d", i))
		}
	}
	return out
}

// Each decision's missed rule lists exactly the fields its lead lacks,
// whatever the leads before it lacked.
func TestMissedRulesLackingFields(t *testing.T) {
	rs := wideRuleset(t)
	for range 2 {
		for have := range 255 { // 255 has every field: any-big is decided
			d, err := NewRuleset(rs).ScoreJSON(context.Background(), leadWith(have), Options{Clock: nowFixed})
			if err != nil {
				t.Fatal(err)
			}
			var m *Miss
			for i := range d.Missed {
				if d.Missed[i].Rule == "any-big" {
					m = &d.Missed[i]
				}
			}
			if m == nil {
				t.Fatalf("have %08b: any-big not missed: %+v", have, d.Missed)
			}
			if diff := cmp.Diff(wantMissing(have, 8), m.MissingFields); diff != "" {
				t.Fatalf("have %08b: missing fields (-want +got):\n%s", have, diff)
			}
			if diff := cmp.Diff(wantMissing(have, 8), d.MissingFields); diff != "" {
				t.Fatalf("have %08b: the decision's missing fields (-want +got):\n%s", have, diff)
			}
		}
	}
}

// Many goroutines deciding leads that lack fields get the decisions one
// goroutine gets, and the race detector sees the variants built safely.
func TestMissedRulesConcurrently(t *testing.T) {
	rs := NewRuleset(wideRuleset(t))
	want := make([]Decision, 255)
	for have := range want {
		d, err := NewRuleset(wideRuleset(t)).ScoreJSON(context.Background(), leadWith(have), Options{Clock: nowFixed})
		if err != nil {
			t.Fatal(err)
		}
		want[have] = d
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 255 {
				have := (i*37 + g*11) % 255
				d, err := rs.ScoreJSON(context.Background(), leadWith(have), Options{Clock: nowFixed})
				if err != nil {
					errs <- err.Error()
					return
				}
				if diff := cmp.Diff(want[have], d); diff != "" {
					errs <- fmt.Sprintf("have %08b (-one goroutine +many):\n%s", have, diff)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A ruleset of more than 64 fields has sets of missing fields that do not
// fit the caches' one-word keys: they are built per decision, and say the
// same as for a small ruleset.
func TestMissingFieldsPastSixtyFourFields(t *testing.T) {
	var src strings.Builder
	src.WriteString("ruleset: many\nfields:\n")
	for i := range 70 {
		fmt.Fprintf(&src, "  lead.f%02d: int\n", i)
	}
	src.WriteString("score:\n")
	for i := range 70 {
		fmt.Fprintf(&src, "  - {id: r%02d, points: 1, when: lead.f%02d > 0}\n", i, i)
	}
	src.WriteString("tiers:\n  - {name: A, min: 10}\n  - {name: B}\n")
	rs := compileRuleset(t, src.String())
	for _, have := range [][]int{{}, {0, 65}, {3, 64, 69}} {
		var kv, want []string
		has := map[int]bool{}
		for _, i := range have {
			has[i] = true
			kv = append(kv, fmt.Sprintf(`"f%02d": 1`, i))
		}
		for i := range 70 {
			if !has[i] {
				want = append(want, fmt.Sprintf("lead.f%02d", i))
			}
		}
		for range 2 { // the second time from whatever the first left behind
			d, err := NewRuleset(rs).ScoreJSON(context.Background(), []byte(`{"lead": {`+strings.Join(kv, ", ")+`}}`), Options{Clock: nowFixed})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, d.MissingFields); diff != "" {
				t.Fatalf("have %v: missing fields (-want +got):\n%s", have, diff)
			}
			if got, want := string(d.AppendJSON(nil)), reference(t, d, false); got != string(want) {
				t.Fatalf("have %v: AppendJSON differs from encoding/json", have)
			}
		}
	}
}

// Every decision has group totals of its own, right in Go and in JSON,
// for few groups and many, small totals and large.
func TestGroupTotals(t *testing.T) {
	build := func(groups int, points int) *rules.Ruleset {
		var src strings.Builder
		src.WriteString("ruleset: groups\nfields:\n  lead.a: int\nscore:\n")
		for g := range groups {
			fmt.Fprintf(&src, "  - {id: r%d, group: g%d, points: %d, when: lead.a > %d}\n", g, g, points*(g+1), g)
		}
		src.WriteString("tiers:\n  - {name: A, min: 1}\n  - {name: B}\n")
		return compileRuleset(t, src.String())
	}
	decide := func(rs *rules.Ruleset, a int) Decision {
		t.Helper()
		d, err := NewRuleset(rs).ScoreJSON(context.Background(), fmt.Appendf(nil, `{"lead": {"a": %d}}`, a), Options{Clock: nowFixed})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct{ groups, points int }{{2, 10}, {4, 10}, {5, 10}, {2, 20000}} {
		rs := build(tc.groups, tc.points)
		for a := range tc.groups + 1 {
			d1, d2 := decide(rs, a), decide(rs, a)
			want := map[string]int{}
			for g := range tc.groups {
				want[fmt.Sprintf("g%d", g)] = 0
				if a > g {
					want[fmt.Sprintf("g%d", g)] = tc.points * (g + 1)
				}
			}
			clear(d1.Groups)
			got := map[string]int{}
			for _, g := range d2.Groups {
				got[g.Name] = g.Total
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%d groups of %d points, a=%d: groups (-want +got):\n%s", tc.groups, tc.points, a, diff)
			}
			var ref struct{ Groups map[string]int }
			if err := json.Unmarshal(d2.AppendJSON(nil), &ref); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, ref.Groups); diff != "" {
				t.Errorf("%d groups of %d points, a=%d: JSON groups (-want +got):\n%s", tc.groups, tc.points, a, diff)
			}
		}
	}
}
