package decisionlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// decided is a hand-made decision for statistics: which rules fired.
func decided(id string, at time.Time, qualified bool, knockouts []string, matched ...string) decisionlog.Entry {
	d := engine.Decision{LeadID: id, Ruleset: engine.RulesetRef{Name: "b2b-saas", Version: "sha256:1"}, Qualified: qualified, Tier: "C"}
	for _, k := range knockouts {
		d.Knockouts = append(d.Knockouts, engine.Hit{Rule: k, Reason: k})
	}
	for _, m := range matched {
		d.Matched = append(d.Matched, engine.Hit{Rule: m, Points: 10, Reason: m})
	}
	return decisionlog.Entry{Time: at, Decision: d, Input: []byte(`{"id": "` + id + `"}`)}
}

func TestStats(t *testing.T) { backends(t, testStats) }

func testStats(t *testing.T, target string) {
	l, _ := openAt(t, target)
	ctx := context.Background()
	mustLog(t, l,
		decided("1", t0.Add(-1*time.Hour), true, nil, "demo", "mid-market"),
		decided("2", t0.Add(-2*time.Hour), true, nil, "demo"),
		decided("3", t0.Add(-3*time.Hour), false, []string{"competitor"}, "demo", "mid-market"),
		decided("4", t0.Add(-4*time.Hour), false, nil, "mid-market"),
		decided("old", t0.Add(-48*time.Hour), true, nil, "demo"), // outside the window
		decided("later", t0, true, nil, "demo"),                  // until is exclusive
	)
	got, err := l.Stats(ctx, t0.Add(-24*time.Hour), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := decisionlog.Stats{
		Since: t0.Add(-24 * time.Hour), Until: t0,
		Rulesets: []decisionlog.RulesetStats{{
			Ruleset: "b2b-saas", Decisions: 4, Qualified: 2, QualifiedRate: 0.5,
			Rules: []decisionlog.RuleStats{
				{Rule: "competitor", Kind: "knockout", Hits: 1, HitRate: 0.25, Qualified: 0, QualifiedRate: 0},
				{Rule: "demo", Kind: "score", Hits: 3, HitRate: 0.75, Qualified: 2, QualifiedRate: 2.0 / 3},
				{Rule: "mid-market", Kind: "score", Hits: 3, HitRate: 0.75, Qualified: 1, QualifiedRate: 1.0 / 3},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats mismatch (-want +got):\n%s", diff)
	}

	s := newScorer(t)
	got.Complete(s.rs.Ruleset)
	rules := got.Rulesets[0].Rules
	// competitor and mid-market are rules of the example; demo is not.
	if want := len(s.rs.Knockouts) + len(s.rs.Rules) + 1; len(rules) != want {
		t.Fatalf("Complete: %d rules; want %d: every rule of the ruleset, and demo", len(rules), want)
	}
	if rules[0].Rule != "competitor" || rules[0].Hits != 1 || rules[1].Kind != "knockout" || rules[1].Hits != 0 {
		t.Errorf("Complete: first rules %+v; want the fired knockout, then the other knockouts with no hits", rules[:2])
	}
	last := rules[len(rules)-1]
	if last.Kind != "score" || last.Hits != 0 || last.Rule != s.rs.Rules[len(s.rs.Rules)-1].ID {
		t.Errorf("Complete: last rule %+v; want the ruleset's last score rule, with no hits", last)
	}

	empty, err := l.Stats(ctx, t0.Add(-time.Minute), t0)
	if err != nil || len(empty.Rulesets) != 0 {
		t.Errorf("Stats(empty window) = %+v, %v; want no rulesets", empty, err)
	}
}

func TestRetention(t *testing.T) { backends(t, testRetention) }

func testRetention(t *testing.T, target string) {
	ctx := context.Background()
	l, _ := openAt(t, target, decisionlog.WithRetention(decisionlog.Retention{MaxAge: 24 * time.Hour, MaxCount: 3}))
	mustLog(t, l,
		decided("a", t0.Add(-72*time.Hour), true, nil, "demo"),
		decided("b", t0.Add(-25*time.Hour), true, []string{"competitor"}),
		decided("c", t0.Add(-4*time.Hour), true, nil, "demo"),
		decided("d", t0.Add(-3*time.Hour), true, nil, "demo"),
		decided("e", t0.Add(-2*time.Hour), true, nil, "demo"),
		decided("f", t0.Add(-1*time.Hour), true, nil, "demo"),
	)
	n, err := l.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Prune() = %d; want 3 (two too old, one over the count)", n)
	}
	var left []string
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		recs, err := l.Find(ctx, decisionlog.Query{LeadID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			left = append(left, id)
		}
	}
	if diff := cmp.Diff([]string{"d", "e", "f"}, left); diff != "" {
		t.Errorf("kept decisions mismatch (-want +got):\n%s", diff)
	}
	st, err := l.Stats(ctx, t0.Add(-100*time.Hour), t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Rulesets[0].Rules; len(got) != 1 || got[0].Rule != "demo" || got[0].Hits != 3 {
		t.Errorf("rule stats after pruning = %+v; want demo with 3 hits (the pruned decisions' hits gone)", got)
	}
}

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in   string
		want decisionlog.Retention
		err  bool
	}{
		{"", decisionlog.Retention{}, false},
		{"forever", decisionlog.Retention{}, false},
		{"30d", decisionlog.Retention{MaxAge: 30 * 24 * time.Hour}, false},
		{"720h", decisionlog.Retention{MaxAge: 720 * time.Hour}, false},
		{"1000000", decisionlog.Retention{MaxCount: 1000000}, false},
		{"2w, 5000", decisionlog.Retention{MaxAge: 14 * 24 * time.Hour, MaxCount: 5000}, false},
		{"1d12h", decisionlog.Retention{MaxAge: 36 * time.Hour}, false},
		{"0", decisionlog.Retention{}, true},
		{"-3d", decisionlog.Retention{}, true},
		{"30d,40d", decisionlog.Retention{}, true},
		{"soon", decisionlog.Retention{}, true},
		// Past 292 years a count of days overflowed into a short age:
		// 213503983d kept 16 hours and deleted the rest.
		{"213503983d", decisionlog.Retention{}, true},
		{"30000000000w", decisionlog.Retention{}, true},
		{"106751d,1000", decisionlog.Retention{MaxAge: 106751 * 24 * time.Hour, MaxCount: 1000}, false},
		{"106751d24h", decisionlog.Retention{}, true},
		{"1d-5h", decisionlog.Retention{}, true},
	}
	for _, tc := range tests {
		got, err := decisionlog.ParseRetention(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseRetention(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if got := (decisionlog.Retention{MaxAge: 30 * 24 * time.Hour, MaxCount: 10}).String(); got != "30d,10" {
		t.Errorf("String() = %q; want 30d,10", got)
	}
}

// An age is positive and within time.Duration's range: leadq stats
// --since -5h and GET /v1/stats?since=-5h counted a window that ended
// before it started.
func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90m", 90 * time.Minute, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1w2d3h", 9*24*time.Hour + 3*time.Hour, false},
		{"0s", 0, false},
		{"-5h", 0, true},
		{"1d-5h", 0, true},
		{"-1d", 0, true},
		{"213503983d", 0, true},
		{"30000000000w", 0, true},
		{"106751d24h", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := decisionlog.ParseDuration(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCompare(t *testing.T) {
	then := engine.Decision{
		Ruleset: engine.RulesetRef{Name: "b2b-saas", Version: "sha256:old"}, Qualified: false, Tier: "C", Score: 43,
		Knockouts: []engine.Hit{{Rule: "too-small"}},
		Matched:   []engine.Hit{{Rule: "browsing", Points: 5}, {Rule: "influencer", Points: 8}, {Rule: "webinar", Points: 10}},
	}
	now := engine.Decision{
		Ruleset: engine.RulesetRef{Name: "b2b-saas", Version: "sha256:new"}, Qualified: true, Tier: "B", Score: 58,
		Knockouts: []engine.Hit{},
		Matched:   []engine.Hit{{Rule: "browsing", Points: 5}, {Rule: "influencer", Points: 15}, {Rule: "decision-maker", Points: 15}},
	}
	got := decisionlog.Compare(then, now)
	want := decisionlog.Comparison{
		Changed: true, QualifiedThen: false, QualifiedNow: true, TierThen: "C", TierNow: "B", ScoreThen: 43, ScoreNow: 58,
		VersionThen: "sha256:old", VersionNow: "sha256:new",
		KnockoutsAdded: []engine.Hit{}, KnockoutsGone: []engine.Hit{{Rule: "too-small"}},
		MatchedAdded: []engine.Hit{{Rule: "decision-maker", Points: 15}}, MatchedGone: []engine.Hit{{Rule: "webinar", Points: 10}},
		Repointed: []decisionlog.Repoint{{Rule: "influencer", PointsThen: 8, PointsNow: 15}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compare mismatch (-want +got):\n%s", diff)
	}
	if same := decisionlog.Compare(now, now); same.Changed {
		t.Errorf("Compare(d, d).Changed = true; want false: %+v", same)
	}
}
