package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

// logTime is when the fixture's latest decision was made.
var logTime = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// oldRules writes last quarter's version of the example b2b-saas ruleset
// into dir: influencers were worth 10 points instead of 8, and tier B
// started at 40 instead of 55.
func oldRules(t *testing.T, dir string) {
	t.Helper()
	src, err := os.ReadFile("../../examples/rulesets/b2b-saas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	old := string(src)
	for _, r := range [][2]string{
		{"points: 8\n    reason: \"{{lead.title or Title unknown}} ({{lead.seniority}}) influences the purchase\"",
			"points: 10\n    reason: \"{{lead.title or Title unknown}} ({{lead.seniority}}) influences the purchase\""},
		{"{name: B, min: 55}", "{name: B, min: 40}"},
		{"\ntests:\n", "\nold_tests:\n"}, // the example's tests expect today's rules
	} {
		if !strings.Contains(old, r[0]) {
			t.Fatalf("examples/rulesets/b2b-saas.yaml no longer has %q; update oldRules", r[0])
		}
		old = strings.Replace(old, r[0], r[1], 1)
	}
	old = old[:strings.Index(old, "\nold_tests:\n")+1]
	lists, err := os.ReadFile("../../examples/rulesets/b2b-saas.lists.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"b2b-saas.yaml": old, "b2b-saas.lists.yaml": string(lists)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// decisionLog writes a decision log in a temp dir, as leadq serve would
// have written it last quarter with the old rules, and returns its path.
func decisionLog(t *testing.T, opts ...decisionlog.Option) string {
	t.Helper()
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "old-rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	oldRules(t, rulesDir)
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Paths(rulesDir), engine.WithClock(func() time.Time { return logTime }))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "decisions.db")
	l, err := decisionlog.Open(ctx, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		file string
		ago  time.Duration
	}{
		{"missing-firmographics.json", 26 * time.Hour},
		{"vp-fintech.json", 5 * time.Hour},
		{"competitor.json", 4 * time.Hour},
		{"student-intern.json", 3 * time.Hour},
		{"director-logistics.json", 2 * time.Hour},
		{"missing-firmographics.json", 0},
	} {
		data, err := os.ReadFile(filepath.Join("../../examples/leads", in.file))
		if err != nil {
			t.Fatal(err)
		}
		d, err := scoreJSON(ctx, eng, "", data)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := eng.Ruleset(d.Ruleset.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !l.Log(ctx, decisionlog.Entry{Time: logTime.Add(-in.ago), Decision: d, Ruleset: rs, Input: data}) {
			t.Fatal("Log dropped an entry")
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// logGolden runs leadq and compares the transcript with testdata/NAME.golden,
// with the temp dir of the log written as $TMP.
func logGolden(t *testing.T, name, tmp string, args []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	code := exitCode(err, &stderr)
	got := "$ leadq " + strings.Join(args, " ") + "\n" + stdout.String() +
		"--- stderr\n" + stderr.String() + "--- exit " + strconv.Itoa(code) + "\n"
	got = strings.ReplaceAll(got, tmp, "$TMP")
	got = uuids.ReplaceAllString(got, "<uuid>") // decision ids are new in every run
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("missing golden (go test ./cmd/leadq -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("leadq %v mismatch (-want +got):\n%s", args, diff)
	}
}

var uuids = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// leadq why finds a decision by the id it was answered with.
func TestWhyByDecisionID(t *testing.T) {
	path := decisionLog(t)
	ctx := context.Background()
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := r.Find(ctx, decisionlog.Query{LeadID: "00Q5e00004PqRsT", Limit: 2})
	r.Close()
	if err != nil || len(recs) != 2 {
		t.Fatalf("Find = %d, %v", len(recs), err)
	}
	older := recs[1]
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"why", older.ID, "--log", path}, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("leadq why %s: %v\n%s", older.ID, err, stderr.String())
	}
	if want := "Decided " + older.Time.Format("2006-01-02 15:04:05 UTC") + " (decision " + older.ID + ")\n"; !strings.HasPrefix(stdout.String(), want) || strings.Count(stdout.String(), "Decided ") != 1 {
		t.Errorf("leadq why %s printed\n%s\nwant that decision only, starting %q", older.ID, stdout.String(), want)
	}
}

func TestWhy(t *testing.T) {
	path := decisionLog(t)
	tmp := filepath.Dir(path)
	m, _ := decisionlog.ParseMask("hash:email")
	m.Key = []byte("a key kept outside the log")
	masked := decisionLog(t, decisionlog.WithMask(m))
	keyFile := filepath.Join(filepath.Dir(masked), "key")
	if err := os.WriteFile(keyFile, append(m.Key, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"why_lead", []string{"why", "00Q5e00002FgHiJ", "--log", path}},
		{"why_latest_two", []string{"why", "--log", path, "--limit", "2", "00Q5e00004PqRsT"}},
		{"why_today", []string{"why", "00Q5e00004PqRsT", "--log", path, "--rules", "../../examples/rulesets", "--now", "2026-11-23"}},
		{"why_today_same", []string{"why", "00Q5e00001AbCdE", "--log", path, "--rules", "../../examples/rulesets", "--now", "2026-11-23"}},
		{"why_email_json", []string{"why", "Jordan.Lee@PipelinePro.example", "--log", path, "--format", "json", "--rules", "../../examples/rulesets", "--now", "2026-11-23"}},
		{"why_masked", []string{"why", "jordan.lee@pipelinepro.example", "--log", masked, "--log-mask-key-file", keyFile, "--rules", "../../examples/rulesets", "--now", "2026-11-23"}},
		{"why_masked_no_key", []string{"why", "jordan.lee@pipelinepro.example", "--log", masked}},
		{"why_masked_by_id", []string{"why", "00Q5e00003KlMnO", "--log", masked, "--format", "json"}},
		{"why_unknown", []string{"why", "00Q-nobody", "--log", path}},
		{"why_no_log", []string{"why", "00Q5e00001AbCdE"}},
		{"why_missing_log", []string{"why", "00Q5e00001AbCdE", "--log", filepath.Join(tmp, "none.db")}},
		{"why_bad_limit", []string{"why", "00Q5e00001AbCdE", "--log", path, "--limit", "0"}},
		{"why_broken_rules", []string{"why", "00Q5e00001AbCdE", "--log", path, "--rules", "../../rules/testdata/bad/no-tiers.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := tmp
			if strings.HasPrefix(tc.name, "why_masked") {
				tmp = filepath.Dir(masked)
			}
			logGolden(t, tc.name, tmp, tc.args)
		})
	}
}

func TestStatsCommand(t *testing.T) {
	path := decisionLog(t)
	tmp := filepath.Dir(path)
	until := logTime.Add(time.Minute).Format(time.RFC3339)
	tests := []struct {
		name string
		args []string
	}{
		{"stats_day", []string{"stats", "--log", path, "--since", "24h", "--until", until}},
		{"stats_rules", []string{"stats", "--log", path, "--since", "2026-11-01", "--until", until, "--rules", "../../examples/rulesets"}},
		{"stats_json", []string{"stats", "--log", path, "--since", "3h", "--until", until, "--format", "json"}},
		{"stats_empty", []string{"stats", "--log", path, "--since", "1h", "--until", "2026-01-01"}},
		{"stats_bad_since", []string{"stats", "--log", path, "--since", "yesterday"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logGolden(t, tc.name, tmp, tc.args)
		})
	}
}
