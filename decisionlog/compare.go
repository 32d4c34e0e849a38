package decisionlog

import "github.com/leadq/leadq/engine"

// Comparison is what differs between a stored decision ("then") and the
// decision on the same input against today's ruleset ("now"): "would it
// qualify today?". Its JSON is the API's.
type Comparison struct {
	Changed        bool         `json:"changed"` // verdict, tier, score or fired rules differ
	QualifiedThen  bool         `json:"qualified_then"`
	QualifiedNow   bool         `json:"qualified_now"`
	TierThen       string       `json:"tier_then"`
	TierNow        string       `json:"tier_now"`
	ScoreThen      int          `json:"score_then"`
	ScoreNow       int          `json:"score_now"`
	VersionThen    string       `json:"version_then"`
	VersionNow     string       `json:"version_now"`
	KnockoutsAdded []engine.Hit `json:"knockouts_added"`   // reject it now, did not then
	KnockoutsGone  []engine.Hit `json:"knockouts_removed"` // rejected it then, no longer
	MatchedAdded   []engine.Hit `json:"matched_added"`     // fire now, did not then
	MatchedGone    []engine.Hit `json:"matched_removed"`   // fired then, no longer
	Repointed      []Repoint    `json:"repointed"`         // fire both times, for other points
}

// Repoint is a rule that fired both times but counts for other points now.
type Repoint struct {
	Rule       string `json:"rule"`
	PointsThen int    `json:"points_then"`
	PointsNow  int    `json:"points_now"`
}

// Compare says what changed from then to now. Rules are matched by id;
// lists keep the order of the decisions they come from.
func Compare(then, now engine.Decision) Comparison {
	c := Comparison{
		QualifiedThen: then.Qualified, QualifiedNow: now.Qualified,
		TierThen: then.Tier, TierNow: now.Tier,
		ScoreThen: then.Score, ScoreNow: now.Score,
		VersionThen: then.Ruleset.Version, VersionNow: now.Ruleset.Version,
	}
	c.KnockoutsAdded, c.KnockoutsGone = hitDiff(then.Knockouts, now.Knockouts)
	c.MatchedAdded, c.MatchedGone = hitDiff(then.Matched, now.Matched)
	c.Repointed = []Repoint{}
	before := map[string]int{}
	for _, h := range then.Matched {
		before[h.Rule] = h.Points
	}
	for _, h := range now.Matched {
		if p, ok := before[h.Rule]; ok && p != h.Points {
			c.Repointed = append(c.Repointed, Repoint{Rule: h.Rule, PointsThen: p, PointsNow: h.Points})
		}
	}
	c.Changed = c.QualifiedThen != c.QualifiedNow || c.TierThen != c.TierNow || c.ScoreThen != c.ScoreNow ||
		len(c.KnockoutsAdded)+len(c.KnockoutsGone)+len(c.MatchedAdded)+len(c.MatchedGone)+len(c.Repointed) > 0
	return c
}

// hitDiff returns the hits of now not in then, and of then not in now.
func hitDiff(then, now []engine.Hit) (added, gone []engine.Hit) {
	in := func(hs []engine.Hit) map[string]bool {
		m := make(map[string]bool, len(hs))
		for _, h := range hs {
			m[h.Rule] = true
		}
		return m
	}
	wasThen, isNow := in(then), in(now)
	added, gone = []engine.Hit{}, []engine.Hit{}
	for _, h := range now {
		if !wasThen[h.Rule] {
			added = append(added, h)
		}
	}
	for _, h := range then {
		if !isNow[h.Rule] {
			gone = append(gone, h)
		}
	}
	return added, gone
}
