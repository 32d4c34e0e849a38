package decisionlog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// TestFirstLookupReadsWhatItNeeds: a reader's first lookup by decision id,
// lead id or email fetches the journal rows whose summaries say they may
// hold the answer, not the whole journal; without summaries (a journal
// written before them) it reads every row, and answers the same. Entries
// come with the lead's email as the engine read it (the server's) or
// without (the log reads the request for it).
func TestFirstLookupReadsWhatItNeeds(t *testing.T) {
	for _, mask := range []string{"none", "hash"} {
		for _, email := range []bool{true, false} {
			t.Run(fmt.Sprintf("mask=%s/email=%v", mask, email), func(t *testing.T) {
				backends(t, func(t *testing.T, target string) { testFirstLookupReadsWhatItNeeds(t, target, mask, email) })
			})
		}
	}
}

func testFirstLookupReadsWhatItNeeds(t *testing.T, target, mask string, email bool) {
	m := benchMask(t, mask)
	const parts, per = 16, 25
	entries := distinctEntriesOf(t, parts*per, engine.Brief)
	if email {
		for i := range entries {
			e := &entries[i]
			var d engine.Decision
			var err error
			if e.Email, err = e.Ruleset.ScoreJSONEmail(context.Background(), e.Input, engine.Options{Detail: engine.Brief}, &d); err != nil || e.Email == "" {
				t.Fatalf("ScoreJSONEmail(%s) = %q, %v; want the lead's email", e.Input, e.Email, err)
			}
		}
	}
	l, _ := openAt(t, target, decisionlog.WithMask(m), decisionlog.WithIndexing(time.Hour, 1<<30))
	for i := range parts {
		mustLog(t, l, entries[i*per:(i+1)*per]...) // a journal row each, or more when the writer splits a flush
	}
	rowsIn := countRowsAt(t, target, "journal")
	if rowsIn < parts {
		t.Fatalf("journal has %d rows; want %d or more", rowsIn, parts)
	}
	type lookup struct {
		name string
		do   func(r *decisionlog.Reader) ([]decisionlog.Record, error)
	}
	var lookups []lookup
	for _, i := range []int{0, 7*per + 3, parts*per - 1} {
		e := entries[i]
		lookups = append(lookups,
			lookup{"id " + e.Decision.ID, func(r *decisionlog.Reader) ([]decisionlog.Record, error) {
				rec, err := r.Get(context.Background(), e.Decision.ID)
				return []decisionlog.Record{rec}, err
			}},
			lookup{"lead " + e.Decision.LeadID, func(r *decisionlog.Reader) ([]decisionlog.Record, error) {
				return r.Find(context.Background(), decisionlog.Query{LeadID: e.Decision.LeadID})
			}},
			// As a rep types it: another case, spaces around.
			lookup{"email of " + e.Decision.LeadID, func(r *decisionlog.Reader) ([]decisionlog.Record, error) {
				email := fmt.Sprintf(" Lead.%d@COMPANY%d.example ", i, i/10)
				return r.Find(context.Background(), decisionlog.Query{Email: email})
			}},
		)
	}
	// A lead id in no decision: no row need be read.
	lookups = append(lookups, lookup{"lead nobody", func(r *decisionlog.Reader) ([]decisionlog.Record, error) {
		return r.Find(context.Background(), decisionlog.Query{LeadID: "nobody"})
	}})
	if decisionlog.IsURL(target) {
		// PostgreSQL tests the summaries itself: as Go does.
		r, err := decisionlog.OpenReader(context.Background(), target, decisionlog.WithMask(m))
		if err != nil {
			t.Fatal(err)
		}
		for i := range parts*per + 20 { // and 20 leads in none
			lead, email := fmt.Sprintf("00Q%08d", i), fmt.Sprintf("lead.%d@company%d.example", i, i/10)
			for _, q := range [][2]string{{lead, ""}, {"", m.Email(email)}} {
				inSQL, inGo, err := decisionlog.JournalCandidates(context.Background(), r, q[0], q[1])
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(inSQL, inGo) || i < parts*per && len(inGo) == 0 {
					t.Errorf("journal rows that may hold %q: PostgreSQL %v, Go %v", q, inSQL, inGo)
				}
			}
		}
		r.Close()
	}
	// first is lk's answer from a fresh reader, and the journal rows it
	// read.
	first := func(lk lookup) ([]decisionlog.Record, int64) {
		r, err := decisionlog.OpenReader(context.Background(), target, decisionlog.WithMask(m))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := lk.do(r)
		if err != nil {
			t.Fatalf("%s: %v", lk.name, err)
		}
		rows, _, _ := decisionlog.JournalRead(r)
		return got, rows
	}
	answers := map[string]string{}
	for _, lk := range lookups {
		got, rows := first(lk)
		answers[lk.name] = strings.Join(ids(got), ",")
		want := 1
		if lk.name == "lead nobody" {
			want = 0
		}
		if len(got) != want {
			t.Errorf("%s: %d decisions (%v); want %d", lk.name, len(got), ids(got), want)
		}
		// The rows that hold it, and those whose filters answer "maybe"
		// wrongly: about 1% of rows each (10 bits and 7 probes a key).
		// Of 16 other rows, one or more is read in about 12% of lookups,
		// two or more in under 1% (which failed CI once), four or more
		// in about 1 of 100,000: the slack that keeps this test from
		// failing by chance, still far below every row.
		if slack := int64(3); rows > int64(want)+slack {
			t.Errorf("%s: a first lookup read %d journal rows of %d; want at most %d", lk.name, rows, rowsIn, int64(want)+slack)
		}
	}
	// Without the summaries every row is read, and the answers are
	// the same.
	if _, err := rawDB(t, target).Exec(`DELETE FROM journal_parts`); err != nil {
		t.Fatal(err)
	}
	for _, lk := range lookups {
		got, rows := first(lk)
		if g := strings.Join(ids(got), ","); g != answers[lk.name] {
			t.Errorf("%s without summaries = %s; with them %s", lk.name, g, answers[lk.name])
		}
		if rows != int64(rowsIn) {
			t.Errorf("%s without summaries read %d journal rows; want all %d", lk.name, rows, rowsIn)
		}
	}

}
