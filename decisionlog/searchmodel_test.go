package decisionlog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
)

// TestSearchModel holds search to a model of what a rep is promised: the
// text finds every decision of each lead that any of its decisions made
// findable by the start of its id, email, email domain, company or a word
// of the company, in any case, latest first; a lead id or an email finds
// the decisions that had it (an email in any case). Leads change email and
// company between decisions; the log is searched with decisions in the
// journal and indexed, and its writer replaced (a restart, another
// replica), at random points.
func TestSearchModel(t *testing.T) { backends(t, testSearchModel) }

func testSearchModel(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 2026))
	emails := []string{"ann@acme.example", "Ann.Lee@Acme.example", "bo@globex.example", "cy@initech.example", "dee@acme.io", "eve@umbrella.example"}
	companies := []string{"Acme", "Acme Widgets", "Globex Corp", "Initech", "Umbrella Health Group", "Acme Health"}
	type decided struct {
		lead, email, company string
		at                   time.Time
		id, answer           string // the decision as answered, as JSON
	}
	var model []decided
	keysOf := make(map[string]map[string]bool) // lead -> its keys, lower-cased
	l, _ := openAt(t, target)
	for i := range 120 {
		d := decided{fmt.Sprintf("L-%d", rng.IntN(12)), emails[rng.IntN(len(emails))], companies[rng.IntN(len(companies))], t0.Add(time.Duration(i-120) * time.Minute), "", ""}
		e := s.entry(t, d.at, fmt.Sprintf(`{"id": %q, "email": %q, "company": %q, "employees": %d}`, d.lead, d.email, d.company, rng.IntN(3000)))
		e.Decision.ID = idAt(d.at)
		d.id, d.answer = e.Decision.ID, string(e.Decision.AppendJSON(nil))
		mustLog(t, l, e)
		model = append(model, d)
		if keysOf[d.lead] == nil {
			keysOf[d.lead] = map[string]bool{}
		}
		for _, k := range modelKeys(d.lead, d.email, d.company) {
			keysOf[d.lead][k] = true
		}
		switch rng.IntN(10) {
		case 0: // another writer from now on (the last one indexed all)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l, _ = openAt(t, target)
		case 1, 2:
			if err := l.Index(ctx); err != nil {
				t.Fatal(err)
			}
		case 3, 4: // searched with decisions in the journal
		default:
			continue
		}
		for _, q := range []string{"acme", "ACME W", "ann", "ann.lee@", "acme.example", "health", "widgets", "l-1", "L-1", "globex.example", "initech", "umbrella health", "group", "zzz"} {
			var want []string
			p := strings.ToLower(q)
			for j := len(model) - 1; j >= 0; j-- {
				m := model[j]
				if slices.ContainsFunc(mapKeys(keysOf[m.lead]), func(k string) bool { return strings.HasPrefix(k, p) }) {
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
			if got := string(rec.Decision.AppendJSON(nil)); got != m.answer {
				t.Fatalf("after %d decisions: Get(%s) =\n%s\nwant, as answered,\n%s", i+1, m.id, got, m.answer)
			}
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
}

// modelKeys are a lead's search keys as the reps' page promises them,
// written apart from the log's code: the id, the email and its domain,
// the company and each later word of its name longer than a letter.
func modelKeys(lead, email, company string) []string {
	keys := []string{strings.ToLower(lead), strings.ToLower(email), strings.ToLower(email[strings.LastIndex(email, "@")+1:]), strings.ToLower(company)}
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
