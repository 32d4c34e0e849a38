package decisionlog_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/decisionlog"
)

// legacySchema is the log leadq wrote before decision ids (schema 1).
var legacySchema = []string{
	`CREATE TABLE decisions (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, lead_id TEXT NOT NULL, email TEXT NOT NULL,
		ruleset TEXT NOT NULL, version TEXT NOT NULL, qualified INTEGER NOT NULL, tier TEXT NOT NULL, score INTEGER NOT NULL,
		decision TEXT NOT NULL, input TEXT NOT NULL)`,
	`CREATE INDEX decisions_lead_id ON decisions (lead_id, time)`,
	`CREATE INDEX decisions_email ON decisions (email, time)`,
	`CREATE INDEX decisions_time ON decisions (time)`,
	`CREATE TABLE hits (time INTEGER NOT NULL, decision_id INTEGER NOT NULL, kind TEXT NOT NULL, rule TEXT NOT NULL,
		ruleset TEXT NOT NULL, qualified INTEGER NOT NULL, PRIMARY KEY (time, decision_id, kind, rule)) WITHOUT ROWID`,
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`CREATE TABLE search_keys (key TEXT NOT NULL, decision_id INTEGER NOT NULL, PRIMARY KEY (key, decision_id)) WITHOUT ROWID`,
	`INSERT INTO meta (key, value) VALUES ('schema_version', '1')`,
}

// A log written before decision ids is converted when a server opens it:
// every decision is found again by lead id, email and search, as answered
// then, and statistics still count its rules; a reader refuses it with the
// command that converts it.
func TestLegacyLogConverted(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range legacySchema {
		if _, err := old.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	leads := exampleLeads(t)
	want := map[string]string{} // lead id -> decision JSON
	for i, lead := range leads {
		d := s.entry(t, t0, lead).Decision
		var req struct {
			Lead struct {
				Email any `json:"email"`
			} `json:"lead"`
		}
		json.Unmarshal([]byte(lead), &req)
		email, _ := req.Lead.Email.(string)
		at := t0.Add(time.Duration(i) * time.Minute)
		if _, err := old.ExecContext(ctx, `INSERT INTO decisions (id, time, lead_id, email, ruleset, version, qualified, tier, score, decision, input)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, i+1, at.UnixNano(), d.LeadID, strings.ToLower(email),
			d.Ruleset.Name, d.Ruleset.Version, d.Qualified, d.Tier, d.Score, string(d.AppendJSON(nil)), lead); err != nil {
			t.Fatal(err)
		}
		for _, h := range d.Knockouts {
			old.ExecContext(ctx, `INSERT INTO hits VALUES (?, ?, 'knockout', ?, ?, ?)`, at.UnixNano(), i+1, h.Rule, d.Ruleset.Name, d.Qualified)
		}
		for _, h := range d.Matched {
			old.ExecContext(ctx, `INSERT INTO hits VALUES (?, ?, 'score', ?, ?, ?)`, at.UnixNano(), i+1, h.Rule, d.Ruleset.Name, d.Qualified)
		}
		if d.LeadID != "" {
			want[d.LeadID] = string(d.AppendJSON(nil))
		}
	}
	// A lead decided twice, with another company the second time: found
	// by both.
	for i, company := range []string{"Firstname Ltd", "Renamed Group"} {
		lead := `{"id": "L-TWICE", "email": "x@twice.example", "company": "` + company + `"}`
		d := s.entry(t, t0, lead).Decision
		at := t0.Add(-time.Duration(2-i) * time.Minute)
		if _, err := old.ExecContext(ctx, `INSERT INTO decisions (id, time, lead_id, email, ruleset, version, qualified, tier, score, decision, input)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(leads)+i+1, at.UnixNano(), d.LeadID, "x@twice.example",
			d.Ruleset.Name, d.Ruleset.Version, d.Qualified, d.Tier, d.Score, string(d.AppendJSON(nil)), lead); err != nil {
			t.Fatal(err)
		}
	}
	const twice = 2
	old.Close()

	if _, err := decisionlog.OpenReader(ctx, path); err == nil || !strings.Contains(err.Error(), "leadq serve --log-db "+path) {
		t.Fatalf("OpenReader(legacy log) error = %v; want one naming the command that converts it", err)
	}
	l, _ := openAt(t, path)
	n, err := l.Count(ctx)
	if err != nil || n != len(leads)+twice {
		t.Fatalf("Count after conversion = %d, %v; want %d", n, err, len(leads)+twice)
	}
	for _, q := range []string{"firstname", "renamed"} {
		if recs, err := l.Find(ctx, decisionlog.Query{Text: q}); err != nil || len(recs) != twice {
			t.Errorf("Find(Text: %q) after conversion = %d records, %v; want both of L-TWICE", q, len(recs), err)
		}
	}
	for lead, decision := range want {
		recs, err := l.Find(ctx, decisionlog.Query{LeadID: lead})
		if err != nil || len(recs) != 1 {
			t.Fatalf("Find(%s) = %d records, %v; want 1", lead, len(recs), err)
		}
		got := recs[0].Decision
		got.ID = ""
		if g := string(got.AppendJSON(nil)); g != decision {
			t.Errorf("decision about %s converted to\n%s\nwant\n%s", lead, g, decision)
		}
		if !strings.Contains(string(recs[0].Input), lead) {
			t.Errorf("input about %s converted to %s", lead, recs[0].Input)
		}
	}
	recs, err := l.Find(ctx, decisionlog.Query{Text: "northb"})
	if err != nil || len(recs) != 1 || recs[0].LeadID != "00Q5e00001AbCdE" {
		t.Errorf("search for a company after conversion = %v, %v; want the Northbank lead", recs, err)
	}
	recs, err = l.Find(ctx, decisionlog.Query{Email: "ana.silva@northbank.example"})
	if err != nil || len(recs) != 1 {
		t.Errorf("Find(email) after conversion = %v, %v; want one", recs, err)
	}
	stats, err := l.Stats(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || len(stats.Rulesets) != 1 || stats.Rulesets[0].Decisions != len(leads)+twice || len(stats.Rulesets[0].Rules) == 0 {
		t.Fatalf("Stats after conversion = %+v, %v; want the %d decisions and their rules", stats, err, len(leads)+twice)
	}
	// Logged after the conversion, beside the converted decisions.
	mustLog(t, l, s.entry(t, t0.Add(time.Hour), readExample(t, "vp-fintech.json")))
	if recs, err := l.Find(ctx, decisionlog.Query{LeadID: "00Q5e00001AbCdE"}); err != nil || len(recs) != 2 {
		t.Errorf("Find after a new decision = %d records, %v; want 2", len(recs), err)
	}
}
