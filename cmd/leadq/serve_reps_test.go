package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// TestServeDecisionLog runs leadq serve with a decision log, a mask and an
// account file: decisions are scored with the resolved account, can be
// looked up over HTTP, and every one is in the file after a graceful
// shutdown.
func TestServeDecisionLog(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// serveRules with an account field and a knockout that reads it.
	rules := strings.Replace(serveRules("v1"), "  lead.employees: int\n", "  lead.employees: int\n  account.is_customer: bool\n", 1)
	rules = strings.Replace(rules, "tiers:", `knockouts:
  - id: customer
    when: account.is_customer
    reason: "already a customer"
tiers:`, 1)
	if err := os.WriteFile(filepath.Join(rulesDir, "inbound.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	accountsFile := filepath.Join(dir, "accounts.csv")
	if err := os.WriteFile(accountsFile, []byte("domain,is_customer\nacme.example,true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "decisions.db")
	keyFile := filepath.Join(dir, "mask.key")
	if err := os.WriteFile(keyFile, []byte("a key for the test, not in the log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _, stderr, stop := testServe(t, serveOptions{rules: []string{rulesDir}, watch: true,
		reps: repsOptions{logDB: db, logRetention: "30d", logMask: "hash:email", logKeyFile: keyFile, logBuffer: 1024, logJournal: 5000, accounts: accountsFile}})
	if code, body := request(t, "GET", url+"/v1/rulesets", "", ""); code != 200 || !strings.Contains(body, `"journal_bound":5000`) {
		t.Errorf("GET /v1/rulesets: %d %s; want the decision log's journal bound, 5000", code, body)
	}

	const n = 50
	for i := range n {
		email := "kim@acme.example"
		if i%2 == 1 {
			email = "kim@other.example"
		}
		code, body := request(t, "POST", url+"/v1/score", "", `{"id": "L-`+itoa(i%10)+`", "lead": {"email": "`+email+`", "employees": 200}}`)
		if code != 200 {
			t.Fatalf("score: %d %s", code, body)
		}
		if i == 0 && !strings.Contains(body, `"rule":"customer"`) {
			t.Errorf("lead at acme.example: %s; want the customer knockout from the resolved account", body)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("runServe: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "decision log closed") || !strings.Contains(stderr.String(), "written=50") {
		t.Errorf("stderr does not report the log's close with 50 written:\n%s", stderr)
	}

	ctx := context.Background()
	r, err := decisionlog.OpenReader(ctx, db, decisionlog.WithMask(decisionlog.Mask{Key: []byte("a key for the test, not in the log")}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Count(ctx); err != nil || got != n {
		t.Fatalf("after shutdown the log holds %d decisions, %v; want all %d", got, err, n)
	}
	recs, err := r.Find(ctx, decisionlog.Query{Email: "KIM@acme.example", Limit: 100})
	if err != nil || len(recs) != n/2 {
		t.Fatalf("Find(email) = %d records, %v; want %d", len(recs), err, n/2)
	}
	if strings.Contains(string(recs[0].Input), "kim@") || !strings.HasSuffix(recs[0].Email, "@acme.example") {
		t.Errorf("stored email %q, input %s; want the email hashed, its domain kept", recs[0].Email, recs[0].Input)
	}
	in, err := engine.ParseInput(recs[0].Input)
	if err != nil || in.Account["is_customer"] != true {
		t.Errorf("stored input %s; want the resolved account", recs[0].Input)
	}
}

func TestServeRepsUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		reps repsOptions
		want string
	}{
		{"bad retention", repsOptions{logDB: filepath.Join(dir, "a.db"), logRetention: "soon", logMask: "none", logBuffer: 10}, "--log-retention"},
		{"bad mask", repsOptions{logDB: filepath.Join(dir, "b.db"), logRetention: "forever", logMask: "encrypt", logBuffer: 10}, "--log-mask"},
		{"hash without a key", repsOptions{logDB: filepath.Join(dir, "c.db"), logRetention: "forever", logMask: "hash", logBuffer: 10}, "--log-mask-key-file"},
		{"negative journal", repsOptions{logDB: filepath.Join(dir, "e.db"), logRetention: "forever", logMask: "none", logBuffer: 10, logJournal: -1}, "--log-journal"},
		{"bad overflow", repsOptions{logDB: filepath.Join(dir, "d.db"), logRetention: "forever", logMask: "none", logBuffer: 10, logOverflow: "wait"}, "--log-overflow"},
		{"missing accounts", repsOptions{accounts: filepath.Join(dir, "none.csv")}, "none.csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := openReps(context.Background(), tc.reps, false, discardLogger())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("openReps(%+v) error = %v; want one about %s", tc.reps, err, tc.want)
			}
		})
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
