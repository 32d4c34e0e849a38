package derive_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// file opens a data file for Derive, which reads it twice.
func file(t *testing.T, name string) func() (backtest.Source, error) {
	return func() (backtest.Source, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { f.Close() })
		return backtest.NewReader(f, backtest.ReaderOptions{Name: name})
	}
}

// text opens data in memory for Derive.
func text(data, name string) func() (backtest.Source, error) {
	return func() (backtest.Source, error) {
		return backtest.NewReader(strings.NewReader(data), backtest.ReaderOptions{Name: name})
	}
}

func deriveIndustry(t *testing.T, mod func(*derive.Options)) *derive.Result {
	t.Helper()
	best, err := derive.ParseBest(`Converted == "1"`)
	if err != nil {
		t.Fatal(err)
	}
	opts := derive.Options{Best: best, Data: "industry.csv", Noun: "customers", Now: now, Name: "industry"}
	if mod != nil {
		mod(&opts)
	}
	res, err := derive.Derive(context.Background(), file(t, "testdata/industry.csv"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// compileChecked compiles a proposal as `leadq check` would and fails on
// any error or warning.
func compileChecked(t *testing.T, src []byte) *rules.Ruleset {
	t.Helper()
	f, err := rules.Parse("proposal.yaml", src)
	if err != nil {
		t.Fatalf("the proposal does not parse: %v\n%s", err, src)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatalf("the proposal does not compile: %v\n%s", err, src)
	}
	if len(rs.Warnings) > 0 {
		t.Errorf("the proposal has warnings: %v", rs.Warnings)
	}
	return rs
}

// TestIndustryByHand checks the proposal for testdata/industry.csv, whose
// evidence is worked out by hand. 110 customers, 51 best (p = 51/110):
//
//	software 30 rows, 24 best; fintech 30, 24; retail 30, 3; student 20, 0.
//
// software and fintech: rate shrunk by 10 pseudo-rows (24 + 10p)/40 =
// 0.716, weight of evidence ln(0.716/0.284) - ln(p/(1-p)) = 1.070, times
// 20/ln 2 = 30.9 points, rounded to 5: +30 each, so one rule with a list.
// retail: (3 + 10p)/40 = 0.191, woe -1.298, -37.5 points: -35.
// student: none of 20 best; at p the chance is (1-p)^20 = 3.9e-6 < 0.001
// and 0% is under a tenth of p: a knockout.
func TestIndustryByHand(t *testing.T) {
	res := deriveIndustry(t, nil)
	rs := compileChecked(t, res.YAML)
	if res.TrainRows != 110 || res.TrainBest != 51 {
		t.Fatalf("training rows %d, best %d; want 110, 51", res.TrainRows, res.TrainBest)
	}
	// Students never convert and retail rarely does: both score below the
	// reference; fintech and software above it.
	points := map[string]int{}
	for _, r := range rs.Rules {
		points[r.ID] = r.Points
	}
	if points["industry-student"] >= 0 || points["industry-retail"] >= 0 {
		t.Errorf("student %d, retail %d points; want both below 0\n%s", points["industry-student"], points["industry-retail"], res.YAML)
	}
	status := map[string]string{}
	for _, a := range res.Attributes {
		status[a.Column] = a.Status
	}
	want := map[string]string{"Customer ID": derive.StatusIdentifier, "Industry": derive.StatusRules, "Employees": derive.StatusRules,
		"Note": derive.StatusConstant, "Newsletter": derive.StatusNoSignal, "Converted": derive.StatusOutcome}
	if diff := cmp.Diff(want, status); diff != "" {
		t.Errorf("column statuses differ (-want +got):\n%s", diff)
	}
	if rep := engine.RunTests(rs, engine.TestOptions{}); rep.Failed() > 0 || len(rep.Cases) != 2 {
		t.Errorf("the proposal's own tests: %d cases, %d failed; want 2 passing", len(rep.Cases), rep.Failed())
	}
	if res.AUC < 0.8 || res.CVAUC < 0.75 {
		t.Errorf("training AUC %v, cross-validated %v; want above 0.8 and 0.75", res.AUC, res.CVAUC)
	}
	for _, tier := range rs.Tiers {
		if tier.Expect == nil {
			t.Fatalf("tier %s states no expected rate", tier.Name)
		}
	}
	if first, last := *rs.Tiers[0].Expect, *rs.Tiers[len(rs.Tiers)-1].Expect; first < 0.8 || last > 0.2 {
		t.Errorf("tiers expect %v at the top and %v at the bottom; want above 0.8 and under 0.2", first, last)
	}
}

func TestGolden(t *testing.T) {
	res := deriveIndustry(t, func(o *derive.Options) {
		o.Command = "leadq derive --data industry.csv --best 'Converted == \"1\"'"
	})
	var report bytes.Buffer
	if err := res.WriteReport(&report); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"industry.yaml": res.YAML, "industry.evidence.txt": report.Bytes(), "industry.map.yaml": res.MappingYAML()} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./derive -update)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s differs (-want +got):\n%s", name, diff)
		}
	}
}

// TestHoldoutRoundTrip: the held-out rows, written while Derive reads and
// read back, backtest against the proposal with the mapping derive writes.
func TestHoldoutRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := derive.NewRowWriter(&buf, false, ';')
	res := deriveIndustry(t, func(o *derive.Options) { o.Holdout = 0.3; o.Seed = 42; o.HoldOut = w })
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Stratified in blocks of 100 rows of a class, 30 of each block held
	// out: the 51 best and 59 other rows are the start of one block each.
	if res.HoldoutRows != 32 || res.HoldoutBest != 14 || res.TrainRows != 78 {
		t.Fatalf("holdout %d (%d best), training %d; want 32 (14), 78", res.HoldoutRows, res.HoldoutBest, res.TrainRows)
	}
	if !strings.HasPrefix(buf.String(), "Customer ID;Industry;Employees;Note;Newsletter;Converted;leadq_best\n") {
		t.Errorf("holdout header = %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
	m, err := backtest.ParseMapping("map.yaml", res.MappingYAML())
	if err != nil {
		t.Fatal(err)
	}
	rd, err := backtest.NewReader(&buf, backtest.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cols, complete := rd.Columns()
	b, err := backtest.NewBinder(res.Ruleset, cols, complete, m)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := backtest.ParseOutcome(m.Outcome)
	rep, err := backtest.Run(context.Background(), res.Ruleset, rd, backtest.Options{Binder: b, Outcome: out, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows.Scored != 32 || rep.Converted != 14 {
		t.Errorf("backtest of the holdout: %d scored, %d converted; want 32, 14", rep.Rows.Scored, rep.Converted)
	}
	again := deriveIndustry(t, func(o *derive.Options) { o.Holdout = 0.3; o.Seed = 42 })
	if !bytes.Equal(res.YAML, again.YAML) {
		t.Error("the same data and seed gave two different proposals")
	}
}

func TestTopN(t *testing.T) {
	data := "account,sector,revenue\n" +
		"a,software,900\nb,software,800\nc,retail,700\nd,software,700\ne,retail,10\nf,retail,20\ng,retail,30\nh,software,5\n"
	best, err := derive.ParseBest("top:3:revenue")
	if err != nil {
		t.Fatal(err)
	}
	res, err := derive.Derive(context.Background(), text(data, "top.csv"), derive.Options{Best: best, Namespace: "account", Now: now, Folds: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The third highest, 700, is shared by c and d: both count, 4 best.
	if res.TrainBest != 4 || res.Ties != 1 {
		t.Errorf("best %d, ties %d; want 4 (a, b, c, d) and 1", res.TrainBest, res.Ties)
	}
	for _, a := range res.Attributes {
		if a.Column == "revenue" && a.Status != derive.StatusOutcome {
			t.Errorf("revenue has status %q; the ranking column must be left out", a.Status)
		}
	}
	compileChecked(t, res.YAML)
	if !bytes.Contains(res.YAML, []byte("Best accounts: top 3 by revenue: 4 of 8 training rows")) {
		t.Errorf("the header does not state the best rows:\n%s", res.YAML)
	}
}

func TestNoSignal(t *testing.T) {
	var b strings.Builder
	b.WriteString("colour,won\n")
	for i := range 200 {
		b.WriteString([]string{"red", "blue"}[i%2] + "," + []string{"1", "0", "0", "1"}[i%4] + "\n")
	}
	out, _ := backtest.ParseOutcome("won=1")
	res, err := derive.Derive(context.Background(), text(b.String(), "x.csv"), derive.Options{Best: derive.Best{Outcome: &out}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	rs := compileChecked(t, res.YAML)
	if len(rs.Rules) != 0 || len(rs.Knockouts) != 0 {
		t.Errorf("a column with no signal gave %d rules and %d knockouts; want none", len(rs.Rules), len(rs.Knockouts))
	}
	if !bytes.Contains(res.YAML, []byte("# - no signal: colour")) {
		t.Errorf("the header does not say colour had no signal:\n%s", res.YAML)
	}
}

func TestJSONLAccounts(t *testing.T) {
	// Old, large accounts are the best; dates are compared as days since.
	var b strings.Builder
	for i := range 40 {
		best := i%2 == 0
		year, emp := 2020+i%5, 10+i
		if best {
			year, emp = 1990+i%7, 900+i
		}
		fmt.Fprintf(&b, `{"account": {"employees": %d, "founded": "%d-03-01"}, "best": %v}`+"\n", emp, year, best)
	}
	best, _ := derive.ParseBest("best == true")
	res, err := derive.Derive(context.Background(), text(b.String(), "a.jsonl"), derive.Options{Best: best, Namespace: "account", Now: now, MinBin: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	compileChecked(t, res.YAML)
	if res.TrainBest != 20 {
		t.Errorf("best rows = %d; want 20 (best == true matches the JSON true)", res.TrainBest)
	}
	for _, want := range []string{"account.founded: date", "account.employees: int", "when: 'days_since(account.founded) "} {
		if !bytes.Contains(res.YAML, []byte(want)) {
			t.Errorf("proposal lacks %q:\n%s", want, res.YAML)
		}
	}
}

func TestParseBest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want derive.Best
		err  bool
	}{
		{`Converted == "1"`, derive.Best{Expr: `Converted == "1"`}, false},
		{"top:20:close_value", derive.Best{Top: 20, Column: "close_value"}, false},
		{"top:10%:won revenue", derive.Best{TopPct: 0.1, Column: "won revenue"}, false},
		{"top:0:x", derive.Best{}, true},
		{"top:20", derive.Best{}, true},
		{"top:150%:x", derive.Best{}, true},
		{"  ", derive.Best{}, true},
	} {
		got, err := derive.ParseBest(tc.in)
		if (err != nil) != tc.err || (!tc.err && !cmp.Equal(got, tc.want)) {
			t.Errorf("ParseBest(%q) = %+v, %v; want %+v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestEvidenceComments: every rule derive writes carries a claim that
// Claims reads back; backtested on the training rows themselves the
// claims hold, and a claim edited to say otherwise is stale.
func TestEvidenceComments(t *testing.T) {
	res := deriveIndustry(t, nil)
	claims := derive.Claims(res.YAML)
	if len(claims) != len(res.Ruleset.Rules) || len(claims) == 0 {
		t.Fatalf("%d claims for %d rules", len(claims), len(res.Ruleset.Rules))
	}
	rep := backtestOn(t, res, mustRead(t, "testdata/industry.csv"), "Converted=1")
	for _, row := range derive.CompareEvidence(claims, rep) {
		if row.Stale || row.Now.Rows != row.Claim.Rows {
			t.Errorf("%s: claim %+v, now %+v on the same rows; want equal, not stale", row.Rule, row.Claim, row.Now)
		}
	}
	id := res.Ruleset.Rules[0].ID
	c := claims[id]
	c.Rate = 1 - c.Rate
	rows := derive.CompareEvidence(map[string]derive.Claim{id: c}, rep)
	if len(rows) != 1 || !rows[0].Stale {
		t.Errorf("a claim turned round (%+v) is not stale: %+v", c, rows)
	}
}

// backtestOn backtests a proposal on CSV data with its own mapping.
func backtestOn(t *testing.T, res *derive.Result, data, outcome string) *backtest.Report {
	t.Helper()
	rd, err := backtest.NewReader(strings.NewReader(data), backtest.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := backtest.ParseMapping("map.yaml", res.MappingYAML())
	cols, complete := rd.Columns()
	b, err := backtest.NewBinder(res.Ruleset, cols, complete, m)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := backtest.ParseOutcome(outcome)
	rep, err := backtest.Run(context.Background(), res.Ruleset, rd, backtest.Options{Binder: b, Outcome: out, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestManyDistinctNumbers: a column with more distinct numbers than derive
// counts one by one is counted by numbers cut to three significant digits;
// its ranges are still cut where the rules put them, so every evidence
// comment counts exactly the rows its rule fires on.
func TestManyDistinctNumbers(t *testing.T) {
	var b strings.Builder
	b.WriteString("spend,won\n")
	x := uint64(7)
	for range 12000 {
		x = x*6364136223846793005 + 1442695040888963407
		v := float64(x>>40) / (1 << 24) * 2000 // 0 to 2000, many digits
		won := 0
		if float64((x>>8)&0xffff)/0xffff < v/2500 {
			won = 1
		}
		fmt.Fprintf(&b, "%.6f,%d\n", v, won)
	}
	data := b.String()
	out, _ := backtest.ParseOutcome("won=1")
	res, err := derive.Derive(context.Background(), text(data, "spend.csv"), derive.Options{Best: derive.Best{Outcome: &out}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	claims := derive.Claims(res.YAML)
	if len(claims) < 2 {
		t.Fatalf("%d rules for a column whose rate rises steadily; want several:\n%s", len(claims), res.YAML)
	}
	for _, row := range derive.CompareEvidence(claims, backtestOn(t, res, data, "won=1")) {
		if row.Now.Rows != row.Claim.Rows || row.Stale {
			t.Errorf("%s: claim %+v, now %+v on the same rows; want equal", row.Rule, row.Claim, row.Now)
		}
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestUnits: a unit given for a column is declared with its field and
// said in the descriptions of its rules; one for a column the data lacks
// is an error naming it.
func TestUnits(t *testing.T) {
	res := deriveIndustry(t, func(o *derive.Options) { o.Units = map[string]string{"employees": "people"} })
	rs := compileChecked(t, res.YAML)
	for _, want := range []string{
		"lead.employees: {type: int, label: Employees, unit: people}",
		`description: "Employees is under 45 people"`,
		`description: "Employees is 220 people or more"`,
	} {
		if !bytes.Contains(res.YAML, []byte(want)) {
			t.Errorf("proposal lacks %q:\n%s", want, res.YAML)
		}
	}
	for _, f := range rs.Fields {
		if f.Name == "lead.employees" && f.Unit != "people" {
			t.Errorf("lead.employees compiles with unit %q; want people", f.Unit)
		}
	}
	best, _ := derive.ParseBest(`Converted == "1"`)
	_, err := derive.Derive(context.Background(), file(t, "testdata/industry.csv"),
		derive.Options{Best: best, Now: now, Units: map[string]string{"Employes": "people"}})
	if err == nil || !strings.Contains(err.Error(), `unit of "Employes": no such column`) || !strings.Contains(err.Error(), "Employees") {
		t.Errorf("a unit for a column the data lacks: error %v; want one naming it and suggesting Employees", err)
	}
}
