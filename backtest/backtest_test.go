package backtest_test

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

func loadRuleset(t testing.TB, path string) *rules.Ruleset {
	t.Helper()
	rss, err := rules.LoadPaths(path)
	if err != nil {
		t.Fatalf("LoadPaths(%s): %v", path, err)
	}
	return rss[0]
}

// runTiny backtests testdata/tiny.yaml on testdata/tiny.csv with the
// mapping file, as `leadq backtest --map testdata/tiny.map.yaml` does.
func runTiny(t *testing.T, workers int) *backtest.Report {
	t.Helper()
	rs := loadRuleset(t, "testdata/tiny.yaml")
	src, err := os.ReadFile("testdata/tiny.map.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := backtest.ParseMapping("testdata/tiny.map.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/tiny.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := backtest.NewReader(f, backtest.ReaderOptions{Name: "tiny.csv"})
	if err != nil {
		t.Fatal(err)
	}
	cols, complete := rd.Columns()
	b, err := backtest.NewBinder(rs, cols, complete, m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := backtest.ParseOutcome(m.Outcome)
	if err != nil {
		t.Fatal(err)
	}
	r, err := backtest.Run(context.Background(), rs, rd, backtest.Options{
		Binder: b, Outcome: out, Workers: workers, Data: "tiny.csv",
		Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestTinyByHand checks the report against numbers worked out by hand from
// testdata/tiny.csv (see the comments there and below).
func TestTinyByHand(t *testing.T) {
	r := runTiny(t, 3)
	// 12 rows; row 10 has no outcome; 5 of the 11 others converted.
	if r.Rows.Read != 12 || r.Rows.Scored != 11 || r.Rows.NoOutcome != 1 || r.Converted != 5 {
		t.Fatalf("rows = %+v, converted %d; want 12 read, 11 scored, 1 without outcome, 5 converted", r.Rows, r.Converted)
	}
	if !near(r.BaseRate, 5.0/11) {
		t.Errorf("BaseRate = %v; want 5/11", r.BaseRate)
	}
	// A: rows 1, 11 (50 points). B: rows 2 (30), 3, 4, 5 (20). C: 6, 7, 9, 12.
	// Row 8 (50 points, DE) is knocked out.
	wantTiers := []struct {
		name            string
		leads, converts int64
	}{{"A", 2, 2}, {"B", 4, 2}, {"C", 4, 0}, {"knocked out", 1, 1}}
	got := append(append([]backtest.TierStats{}, r.Tiers...), r.KnockedOut)
	for i, w := range wantTiers {
		if got[i].Name != w.name || got[i].Leads != w.leads || got[i].Converted != w.converts {
			t.Errorf("tier %d = %s %d/%d; want %s %d/%d", i, got[i].Name, got[i].Converted, got[i].Leads, w.name, w.converts, w.leads)
		}
	}
	if !near(r.Tiers[0].Lift, 1/(5.0/11)) {
		t.Errorf("tier A lift = %v; want 2.2", r.Tiers[0].Lift)
	}
	// Qualified: A or B, not knocked out: rows 1, 11, 2, 3, 4, 5.
	q := r.Qualified
	if q.TP != 4 || q.FP != 2 || q.FN != 1 || q.TN != 4 {
		t.Errorf("confusion = TP %d FP %d FN %d TN %d; want 4 2 1 4", q.TP, q.FP, q.FN, q.TN)
	}
	if !near(q.Precision, 4.0/6) || !near(q.Recall, 4.0/5) || !near(q.F1, 2*(4.0/6)*(4.0/5)/(4.0/6+4.0/5)) {
		t.Errorf("precision %v recall %v F1 %v; want 2/3, 4/5, 8/11", q.Precision, q.Recall, q.F1)
	}
	// Converted scores 50, 30, 20, 50, 50; others 20, 20, 0, -10, 0, -10.
	// Negatives below each positive (ties half): 6 + 6 + (4 + 1) + 6 + 6 = 29.
	if r.AUC == nil || !near(*r.AUC, 29.0/30) {
		t.Errorf("AUC = %v; want 29/30", backtest.AUCText(r.AUC))
	}
	// Knocked-out row 8 ranked last: it beats no negative, 23/30.
	if r.AUCDecision == nil || !near(*r.AUCDecision, 23.0/30) {
		t.Errorf("AUCDecision = %v; want 23/30", backtest.AUCText(r.AUCDecision))
	}
	rule := map[string]backtest.RuleStats{}
	for _, s := range r.Rules {
		rule[s.Rule] = s
	}
	// software fires on rows 1, 2, 3, 8, 11: 4 of 5 converted; 1 of the other 6.
	if s := rule["software"]; s.Fired != 5 || s.FiredConv != 4 || s.NotFired != 6 || s.NotFiredConv != 1 || s.Contradicts {
		t.Errorf("software = %+v; want fired 5 (4 converted), not fired 6 (1)", s)
	}
	// small fires on rows 3, 7, 12, none converted: -10 points agree.
	if s := rule["small"]; s.Fired != 3 || s.FiredConv != 0 || s.Contradicts {
		t.Errorf("small = %+v; want fired 3, none converted, agreeing", s)
	}
	if k := r.Knockouts[0]; k.Rejected != 1 || k.Converted != 1 || k.Only != 1 || !k.Costly {
		t.Errorf("knockout = %+v; want 1 rejected, converted, costly", k)
	}
	field := map[string]backtest.FieldStats{}
	for _, f := range r.Fields {
		field[f.Field] = f
	}
	// Row 9: "Select" is missing, "lots" is the wrong type for an int.
	if f := field["lead.industry"]; f.Present != 10 || f.Column != "Industry" {
		t.Errorf("lead.industry = %+v; want 10 present from Industry", f)
	}
	if f := field["lead.employees"]; f.Present != 10 || f.WrongType != 1 || !strings.HasPrefix(f.Example, "line 10: ") {
		t.Errorf("lead.employees = %+v; want 10 present, 1 wrong type on line 10", f)
	}
}

// TestWorkersAgree: the report does not depend on how many goroutines score.
func TestWorkersAgree(t *testing.T) {
	one, many := runTiny(t, 1), runTiny(t, 7)
	if diff := cmp.Diff(one, many); diff != "" {
		t.Errorf("Run with 1 and 7 workers differ (-1 +7):\n%s", diff)
	}
}

func TestGolden(t *testing.T) {
	r := runTiny(t, 2)
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"tiny.report.txt", func(b *bytes.Buffer) error { return backtest.WriteText(b, r) }},
		{"tiny.report.json", func(b *bytes.Buffer) error { return backtest.WriteJSON(b, r) }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./backtest -update)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", tc.file, diff)
			}
		})
	}
}

func TestHTMLSelfContained(t *testing.T) {
	r := runTiny(t, 2)
	var buf bytes.Buffer
	if err := backtest.WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{"<svg", "<polyline", "Conversion rate by tier", "ROC curve (AUC 0.967)", "unserved ⚠"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link", "@import"} {
		if bad == "http://" {
			// the SVG namespace is the one URL allowed; it is not fetched
			page = strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
		}
		if strings.Contains(page, bad) {
			t.Errorf("HTML report contains %q; it must not load anything", bad)
		}
	}
}
