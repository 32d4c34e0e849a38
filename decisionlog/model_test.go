package decisionlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/internal/pgtest"
)

// TestLookupModel holds lookups to a model of what a rep is promised: the
// text finds every decision of each lead that any of its decisions made
// findable by the start of its id, email, email domain, company or a word
// of the company, in any case, latest first; a lead id or an email finds
// the decisions that had it (an email in any case). Leads change email and
// company between decisions; the log is searched with decisions in the
// journal and indexed, and its writer replaced (a restart, another
// replica), at random points. With personal data masked (hash), the
// email and the company are no keys: the domain is, and the whole email
// finds the decisions that had it; nor is the email kept in clear.
func TestLookupModel(t *testing.T) {
	backends(t, func(t *testing.T, target string) { testLookupModel(t, target, false) })
}

func TestLookupModelMasked(t *testing.T) {
	backends(t, func(t *testing.T, target string) { testLookupModel(t, target, true) })
}

func testLookupModel(t *testing.T, target string, masked bool) {
	s := newScorer(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 2026))
	emails := []string{"ann@acme.example", "Ann.Lee@Acme.example", "bo@globex.example", "cy@initech.example", "dee@acme.io", "eve@umbrella.example"}
	companies := []string{"Acme", "Acme Widgets", "Globex Corp", "Initech", "Umbrella Health Group", "Acme Health"}
	type decided struct {
		lead, email, company string
		at                   time.Time
		id, answer           string // the decision as answered, as JSON
		qualified            bool
		fired                []string // the rules that fired
	}
	examples := []string{"vp-fintech.json", "director-logistics.json", "competitor.json", "student-intern.json", "free-mail-unserved.json", "missing-firmographics.json"}
	var model []decided
	keysOf := make(map[string]map[string]bool) // lead -> its keys, lower-cased
	var opts []decisionlog.Option
	if masked {
		opts = append(opts, decisionlog.WithMask(benchMask(t, "hash")))
	}
	l, _ := openAt(t, target, opts...)
	for i := range 120 {
		d := decided{fmt.Sprintf("L-%d", rng.IntN(12)), emails[rng.IntN(len(emails))], companies[rng.IntN(len(companies))], t0.Add(time.Duration(i-120) * time.Minute), "", "", false, nil}
		// An example lead (some qualify, some not) under this one's id,
		// email and company.
		var req map[string]any
		if err := json.Unmarshal([]byte(readExample(t, examples[rng.IntN(len(examples))])), &req); err != nil {
			t.Fatal(err)
		}
		delete(req, "lead_id")
		req["id"] = d.lead
		lead, ok := req["lead"].(map[string]any)
		if !ok {
			lead = req // a flat request
		}
		lead["email"], lead["company"] = d.email, d.company
		input, _ := json.Marshal(req)
		e := s.entry(t, d.at, string(input))
		e.Decision.ID = idAt(d.at)
		d.id, d.answer, d.qualified = e.Decision.ID, string(e.Decision.AppendJSON(nil)), e.Decision.Qualified
		for _, h := range e.Decision.Knockouts {
			d.fired = append(d.fired, h.Rule)
		}
		for _, h := range e.Decision.Matched {
			d.fired = append(d.fired, h.Rule)
		}
		mustLog(t, l, e)
		model = append(model, d)
		if keysOf[d.lead] == nil {
			keysOf[d.lead] = map[string]bool{}
		}
		for _, k := range modelKeys(d.lead, d.email, d.company, masked) {
			keysOf[d.lead][k] = true
		}
		switch rng.IntN(10) {
		case 0: // another writer from now on (the last one indexed all)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, _ = openAt(t, target, opts...)
		case 1, 2:
			if err := l.Index(ctx); err != nil {
				t.Fatal(err)
			}
		case 3, 4: // searched with decisions in the journal
		default:
			continue
		}
		for _, q := range []string{"acme", "ACME W", "ann", "ann.lee@", "acme.example", "health", "widgets", "l-1", "L-1", "globex.example", "initech", "umbrella health", "group", "zzz", "ann@acme.example", "Bo@Globex.example"} {
			var want []string
			p := strings.ToLower(q)
			for j := len(model) - 1; j >= 0; j-- {
				m := model[j]
				if slices.ContainsFunc(mapKeys(keysOf[m.lead]), func(k string) bool { return strings.HasPrefix(k, p) }) || masked && strings.EqualFold(m.email, q) {
					want = append(want, fmt.Sprintf("%s@%s", m.lead, m.at.Format("15:04")))
				}
			}
			got, err := l.Find(ctx, decisionlog.Query{Text: q, Limit: decisionlog.MaxLimit})
			if err != nil {
				t.Fatalf("after %d decisions: Find(%q): %v", i+1, q, err)
			}
			if diff := cmp.Diff(want, ids(got)); diff != "" {
				t.Fatalf("after %d decisions: Find(Text: %q) mismatch (-want +got):\n%s", i+1, q, diff)
			}
		}
		// By id: the decision as answered.
		for range 5 {
			m := model[rng.IntN(len(model))]
			rec, err := l.Get(ctx, m.id)
			if err != nil {
				t.Fatalf("after %d decisions: Get(%s): %v", i+1, m.id, err)
			}
			got := string(rec.Decision.AppendJSON(nil))
			if masked {
				if strings.Contains(strings.ToLower(got), strings.ToLower(m.email)) || strings.Contains(string(rec.Input), m.email) {
					t.Fatalf("after %d decisions: Get(%s) keeps %s in clear:\n%s\n%s", i+1, m.id, m.email, got, rec.Input)
				}
				continue
			}
			if got != m.answer {
				t.Fatalf("after %d decisions: Get(%s) =\n%s\nwant, as answered,\n%s", i+1, m.id, got, m.answer)
			}
		}
		// Statistics of a window: its decisions, and each rule's hits.
		from := t0.Add(time.Duration(rng.IntN(i+1)-120) * time.Minute)
		until := from.Add(time.Duration(1+rng.IntN(60)) * time.Minute)
		want := decisionlog.RulesetStats{Ruleset: "b2b-saas"}
		hits, hitsQualified := map[string]int{}, map[string]int{}
		for _, m := range model {
			if m.at.Before(from) || !m.at.Before(until) {
				continue
			}
			want.Decisions++
			for _, r := range m.fired {
				hits[r]++
				if m.qualified {
					hitsQualified[r]++
				}
			}
			if m.qualified {
				want.Qualified++
			}
		}
		st, err := l.Stats(ctx, from, until)
		if err != nil {
			t.Fatalf("after %d decisions: Stats: %v", i+1, err)
		}
		var got decisionlog.RulesetStats
		for _, rs := range st.Rulesets {
			if rs.Ruleset == want.Ruleset {
				got = rs
			}
		}
		gotHits, gotHitsQualified := map[string]int{}, map[string]int{}
		for _, r := range got.Rules {
			if r.Hits > 0 {
				gotHits[r.Rule] = r.Hits
			}
			if r.Qualified > 0 {
				gotHitsQualified[r.Rule] = r.Qualified
			}
		}
		if got.Decisions != want.Decisions || got.Qualified != want.Qualified || !maps.Equal(gotHits, hits) || !maps.Equal(gotHitsQualified, hitsQualified) {
			t.Fatalf("after %d decisions: Stats(%s, %s) = %d decisions, %d qualified, hits %v (qualified %v); want %d, %d, %v (%v)",
				i+1, from.Format("15:04"), until.Format("15:04"), got.Decisions, got.Qualified, gotHits, gotHitsQualified, want.Decisions, want.Qualified, hits, hitsQualified)
		}
		// By lead id and by email: the decisions that had it.
		for _, q := range []decisionlog.Query{{LeadID: "L-1"}, {LeadID: "L-7"}, {Email: "ann@acme.example"}, {Email: "ann.lee@acme.example"}, {Email: "EVE@umbrella.example"}} {
			var want []string
			for j := len(model) - 1; j >= 0; j-- {
				if m := model[j]; m.lead == q.LeadID || q.Email != "" && strings.EqualFold(m.email, q.Email) {
					want = append(want, fmt.Sprintf("%s@%s", m.lead, m.at.Format("15:04")))
				}
			}
			q.Limit = decisionlog.MaxLimit
			got, err := l.Find(ctx, q)
			if err != nil {
				t.Fatalf("after %d decisions: Find(%+v): %v", i+1, q, err)
			}
			if diff := cmp.Diff(want, ids(got)); diff != "" {
				t.Fatalf("after %d decisions: Find(%+v) mismatch (-want +got):\n%s", i+1, q, diff)
			}
		}
	}
	if !slices.ContainsFunc(model, func(m decided) bool { return m.qualified }) || !slices.ContainsFunc(model, func(m decided) bool { return !m.qualified }) {
		t.Fatalf("the model's decisions are all qualified or all not: statistics were not put to the test")
	}
}

// modelKeys are a lead's search keys as the reps' page promises them,
// written apart from the log's code: the id, the email and its domain,
// the company and each later word of its name longer than a letter; only
// the id and the domain when the email and the company are masked.
func modelKeys(lead, email, company string, masked bool) []string {
	domain := strings.ToLower(email[strings.LastIndex(email, "@")+1:])
	if masked {
		return []string{strings.ToLower(lead), domain}
	}
	keys := []string{strings.ToLower(lead), strings.ToLower(email), domain, strings.ToLower(company)}
	words := strings.FieldsFunc(company, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words[1:] {
		if len(w) > 1 {
			keys = append(keys, strings.ToLower(w))
		}
	}
	return keys
}

func mapKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// idAt is a decision id made at t, as the server makes them: a UUIDv7,
// whose first 48 bits are t in milliseconds.
func idAt(t time.Time) string {
	u := uuid.Must(uuid.NewV7())
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u.String()
}

// TestLookupModelReplicas: two writers of one PostgreSQL log (replicas)
// decide the same leads at once, each indexing now and then, leads
// changing email and company; a reader of its own then finds every
// decision by lead id and every lead by each of its keys, before the
// journal is indexed and after.
func TestLookupModelReplicas(t *testing.T) {
	target := pgtest.Database(t)
	s := newScorer(t)
	ctx := context.Background()
	emails := []string{"ann@acme.example", "bo@globex.example", "cy@initech.example", "dee@acme.io"}
	companies := []string{"Acme Widgets", "Globex Corp", "Initech", "Umbrella Health Group"}
	type decided struct{ lead, email, company string }
	var (
		mu       sync.Mutex
		model    = map[string][]string{} // decision id -> lead, email, company
		replicas [2]*decisionlog.Log
	)
	for i := range replicas {
		replicas[i], _ = openAt(t, target)
	}
	var wg sync.WaitGroup
	for w, l := range replicas {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 12))
			for i := range 150 {
				d := decided{fmt.Sprintf("R-%d", rng.IntN(10)), emails[rng.IntN(len(emails))], companies[rng.IntN(len(companies))]}
				e := s.entry(t, t0, fmt.Sprintf(`{"id": %q, "email": %q, "company": %q}`, d.lead, d.email, d.company))
				e.Decision.ID = idAt(t0.Add(time.Duration(w*1000+i) * time.Millisecond))
				if !l.Log(ctx, e) {
					t.Errorf("replica %d: Log = false", w)
					return
				}
				mu.Lock()
				model[e.Decision.ID] = []string{d.lead, d.email, d.company}
				mu.Unlock()
				if rng.IntN(20) == 0 {
					if err := l.Index(ctx); err != nil {
						t.Errorf("replica %d: Index: %v", w, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, l := range replicas {
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err := decisionlog.OpenReader(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	check := func(when string) {
		t.Helper()
		byLead := map[string][]string{}
		keys := map[string]map[string]bool{} // key -> leads
		for id, m := range model {
			byLead[m[0]] = append(byLead[m[0]], id)
			for _, k := range modelKeys(m[0], m[1], m[2], false) {
				if keys[k] == nil {
					keys[k] = map[string]bool{}
				}
				keys[k][m[0]] = true
			}
		}
		recsOf := func(q decisionlog.Query) []string {
			q.Limit = decisionlog.MaxLimit
			recs, err := r.Find(ctx, q)
			if err != nil {
				t.Fatalf("%s: Find(%+v): %v", when, q, err)
			}
			var got []string
			for _, rec := range recs {
				got = append(got, rec.ID)
			}
			slices.Sort(got)
			return got
		}
		for lead, want := range byLead {
			slices.Sort(want)
			if diff := cmp.Diff(want, recsOf(decisionlog.Query{LeadID: lead})); diff != "" {
				t.Errorf("%s: Find(LeadID: %s) mismatch (-want +got):\n%s", when, lead, diff)
			}
		}
		for k, leads := range keys {
			var want []string
			for lead := range leads {
				want = append(want, byLead[lead]...)
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, recsOf(decisionlog.Query{Text: k})); diff != "" {
				t.Errorf("%s: Find(Text: %q) mismatch (-want +got):\n%s", when, k, diff)
			}
		}
		if n, err := r.Count(ctx); err != nil || n != len(model) {
			t.Errorf("%s: Count = %d, %v; want %d", when, n, err, len(model))
		}
	}
	check("before indexing")
	for _, l := range replicas {
		if err := l.Index(ctx); err != nil {
			t.Fatal(err)
		}
	}
	check("indexed")
}
