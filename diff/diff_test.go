package diff_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/leadq/leadq/diff"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

func load(t *testing.T, path string) *rules.Ruleset {
	t.Helper()
	list, err := rules.LoadPaths(path)
	if err != nil || len(list) != 1 {
		t.Fatalf("LoadPaths(%s) = %d rulesets, %v; want 1", path, len(list), err)
	}
	return list[0]
}

var now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func TestCompare(t *testing.T) {
	old, nw := load(t, "testdata/old"), load(t, "testdata/new")
	leads, err := diff.ReadLeads("testdata/leads.csv", old, nw)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(old, nw, leads, diff.Options{Now: now, Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Leads != 12 || len(rep.Refused) != 0 {
		t.Errorf("Leads = %d, Refused = %v; want 12 and none", rep.Leads, rep.Refused)
	}
	if want := (diff.Count{Old: 3, New: 2, Lost: 1}); rep.Qualified != want {
		t.Errorf("Qualified = %+v; want %+v", rep.Qualified, want)
	}
	if want := (diff.Count{Old: 1, New: 3, Gained: 2}); rep.KnockedOut != want {
		t.Errorf("KnockedOut = %+v; want %+v", rep.KnockedOut, want)
	}
	if rep.TierChanged != 5 || rep.ScoreChanged != 10 {
		t.Errorf("TierChanged, ScoreChanged = %d, %d; want 5, 10", rep.TierChanged, rep.ScoreChanged)
	}
	if diff := cmp.Diff([]string{"A", "B", "C"}, rep.Tiers); diff != "" {
		t.Errorf("Tiers (-want +got):\n%s", diff)
	}
	// L01, L11 stay A; L04 A->B; L05, L07, L08 stay B; L02 B->C;
	// L03, L06, L09 C->B; L10, L12 stay C.
	if diff := cmp.Diff([][]int{{2, 1, 0}, {0, 3, 1}, {0, 3, 2}}, rep.Matrix); diff != "" {
		t.Errorf("Matrix (-want +got):\n%s", diff)
	}
	wantMovers := []diff.Mover{
		{Lead: "L03", Where: "testdata/leads.csv:4", OldScore: 20, NewScore: 45, Delta: 25, OldTier: "C", NewTier: "B",
			Started: []string{"target-industry", "vp"}, Stopped: []string{}},
		{Lead: "L06", Where: "testdata/leads.csv:7", OldScore: 25, NewScore: 45, Delta: 20, OldTier: "C", NewTier: "B",
			Started: []string{"target-industry"}, Stopped: []string{}},
		{Lead: "L09", Where: "testdata/leads.csv:10", OldScore: 20, NewScore: 35, Delta: 15, OldTier: "C", NewTier: "B",
			Started: []string{"vp"}, Stopped: []string{}},
	}
	if diff := cmp.Diff(wantMovers, rep.Movers); diff != "" {
		t.Errorf("Movers (-want +got):\n%s", diff)
	}
	wantRules := []diff.RuleChange{
		{Rule: "us", Change: "removed", OldPoints: 10, Stopped: 8, Points: -80},
		{Rule: "big", Change: "changed", Parts: []string{"points"}, OldPoints: 20, NewPoints: 30, Repointed: 6, Points: 60},
		{Rule: "target-industry", Change: "same", OldPoints: 20, NewPoints: 20, Started: 3, Points: 60},
		{Rule: "vp", Change: "changed", Parts: []string{"when"}, OldPoints: 5, NewPoints: 5, Started: 3, Points: 15},
		{Rule: "too-small", Knockout: true, Change: "added", Started: 2},
	}
	if diff := cmp.Diff(wantRules, rep.Rules); diff != "" {
		t.Errorf("Rules (-want +got):\n%s", diff)
	}
}

func TestCompareMoverOrder(t *testing.T) {
	old, nw := load(t, "testdata/old"), load(t, "testdata/new")
	leads, err := diff.ReadLeads("testdata/leads.csv", old, nw)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(old, nw, leads, diff.Options{Now: now, Top: -1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range rep.Movers {
		got = append(got, m.Lead)
	}
	// By size of the move; among equal moves a change of verdict first,
	// then by id. L01 and L05 keep their score, tier and verdict (though us
	// no longer fires for them), so they do not move.
	want := []string{"L03", "L06", "L09", "L04", "L02", "L07", "L08", "L10", "L12", "L11"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mover order (-want +got):\n%s", diff)
	}
}

func TestCompareSameRuleset(t *testing.T) {
	old := load(t, "testdata/old")
	leads, err := diff.ReadLeads("testdata/leads.csv", old)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(old, old, leads, diff.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if rep.TierChanged+rep.ScoreChanged+rep.Qualified.Gained+rep.Qualified.Lost != 0 || len(rep.Movers) != 0 || len(rep.Rules) != 0 {
		t.Errorf("a ruleset compared with itself changed: %+v", rep)
	}
	if _, err := diff.Compare(old, old, nil, diff.Options{}); err == nil {
		t.Error("Compare with no leads: want an error")
	}
}

func TestCompareRefused(t *testing.T) {
	old, nw := load(t, "testdata/old"), load(t, "testdata/new")
	leads, err := diff.ReadLeads("testdata/leads.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := diff.Compare(old, nw, leads, diff.Options{Now: now, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Leads != 2 || len(rep.Refused) != 2 || rep.Refused[0].Lead != "J2" || rep.Refused[0].Side != "old" || rep.Refused[1].Side != "new" {
		t.Errorf("Leads = %d, Refused = %+v; want 2 scored and J2 refused by both sides", rep.Leads, rep.Refused)
	}
}

func TestParseCSV(t *testing.T) {
	accounts := load(t, "../examples/rulesets/accounts.yaml")
	tests := []struct {
		name    string
		csv     string
		want    []diff.Lead
		wantErr string
	}{
		{"namespaces and ids", "\ufeffid,employees,lead.country,account.is_customer,tags\nL1,250,US,true,a;b\n",
			[]diff.Lead{{Where: "x.csv:2", Input: engine.Input{ID: "L1",
				Lead:    map[string]any{"employees": "250", "country": "US", "tags": "a;b"},
				Account: map[string]any{"is_customer": "true"}}}}, ""},
		{"empty cells are missing", "lead_id,employees,title\n,,CEO\n",
			[]diff.Lead{{Where: "x.csv:2", Input: engine.Input{Lead: map[string]any{"title": "CEO"}, Account: map[string]any{}}}}, ""},
		{"quoted cells over lines", "id,title\nL1,\"VP,\nSales\"\nL2,CEO\n",
			[]diff.Lead{
				{Where: "x.csv:2", Input: engine.Input{ID: "L1", Lead: map[string]any{"title": "VP,\nSales"}, Account: map[string]any{}}},
				{Where: "x.csv:4", Input: engine.Input{ID: "L2", Lead: map[string]any{"title": "CEO"}, Account: map[string]any{}}},
			}, ""},
		{"bare account column", "name,nps\nAcme,9\n",
			[]diff.Lead{{Where: "x.csv:2", Input: engine.Input{Lead: map[string]any{}, Account: map[string]any{"name": "Acme", "nps": "9"}}}}, ""},
		{"duplicate column", "employees,lead.employees\n1,2\n", nil, "x.csv:1: columns 1 and 2 both give lead.employees"},
		{"short row", "a,b\n1\n", nil, "x.csv:2: 1 field, but the header has 2"},
		{"empty", "", nil, "empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := diff.ParseLeads("x.csv", strings.NewReader(tc.csv), accounts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLeads = %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseLeads (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name, src string
		ids       []string
		where     []string
		wantErr   string
	}{
		{"json lines", `{"id": "a", "lead": {"x": 1}}` + "\n\n" + `{"lead_id": "b", "x": 2}` + "\n", []string{"a", "b"}, []string{"f:1", "f:3"}, ""},
		{"pretty objects", "{\n  \"id\": \"a\"\n}\n{\n  \"id\": \"b\"\n}\n", []string{"a", "b"}, []string{"f:1", "f:4"}, ""},
		{"array", "[\n {\"id\": \"a\"},\n {\"id\": \"b\"}\n]", []string{"a", "b"}, []string{"f:2", "f:3"}, ""},
		{"not an object", "{\"id\": \"a\"}\n[1]\n", nil, nil, "f:2"},
		{"broken", "{\"id\": \"a\"}\n{\"id\": \n", nil, nil, "f:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leads, err := diff.ParseLeads("f", strings.NewReader(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLeads = %v; want an error starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids, where []string
			for _, l := range leads {
				ids, where = append(ids, l.Name()), append(where, l.Where)
			}
			if diff := cmp.Diff(tc.ids, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.where, where); diff != "" {
				t.Errorf("where (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadLeadsDirectory(t *testing.T) {
	leads, err := diff.ReadLeads("../examples/leads")
	if err != nil {
		t.Fatal(err)
	}
	if len(leads) != 7 {
		t.Errorf("ReadLeads(examples/leads) = %d leads; want 7", len(leads))
	}
	if _, err := diff.ReadLeads(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no leads") {
		t.Errorf("ReadLeads(empty dir) = %v; want a no leads error", err)
	}
}

// TestLoadRulesetsGit reads rulesets from git revisions of a scratch
// repository: a directory, a single file, and the errors a user may hit.
func TestLoadRulesetsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oldSrc, _ := os.ReadFile("testdata/old/saas.yaml")
	newSrc, _ := os.ReadFile("testdata/new/saas.yaml")
	gitRun("init", "-q")
	write("rules/saas.yaml", string(oldSrc))
	write("rules/notes.txt", "not a rule file")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "old")
	write("rules/saas.yaml", string(newSrc))
	write("rules/broken.yaml", "ruleset: broken\nscore: [\n")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "new")
	t.Chdir(dir)

	ctx := context.Background()
	old, err := diff.LoadRulesets(ctx, "HEAD~1:rules")
	if err != nil || len(old) != 1 {
		t.Fatalf("LoadRulesets(HEAD~1:rules) = %v, %v", old, err)
	}
	want := load(t, filepath.Join(dir, "rules", "saas.yaml")) // the working tree: the new version
	if old[0].Version == want.Version {
		t.Errorf("HEAD~1 has the working tree's version; want the old one")
	}
	if diff := cmp.Diff([]string{"HEAD~1:rules/saas.yaml"}, old[0].Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got := old[0].Rule("us"); got == nil {
		t.Errorf("HEAD~1:rules has no rule us; want the old ruleset")
	}
	file, err := diff.LoadRulesets(ctx, "HEAD:rules/saas.yaml")
	if err != nil || len(file) != 1 || file[0].Version != want.Version {
		t.Errorf("LoadRulesets(HEAD:rules/saas.yaml) = %v, %v; want the new version", file, err)
	}
	_, err = diff.LoadRulesets(ctx, "HEAD:rules")
	var list rules.ErrorList
	if !errors.As(err, &list) || !strings.HasPrefix(list[0].Pos.File, "HEAD:rules/broken.yaml") {
		t.Errorf("LoadRulesets(HEAD:rules) = %v; want an ErrorList in HEAD:rules/broken.yaml", err)
	}
	for spec, want := range map[string]string{
		"HEAD~5:rules":      "HEAD~5:rules: git cat-file",
		"HEAD:nope":         "HEAD:nope: git cat-file",
		"nowhere":           "nowhere: no such file or directory",
		"HEAD~1:rules/x.md": "HEAD~1:rules/x.md: git cat-file",
	} {
		_, err := diff.LoadRulesets(ctx, spec)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("LoadRulesets(%q) = %v; want an error starting %q", spec, err, want)
		}
	}
}

func TestUnknownFields(t *testing.T) {
	old := load(t, "testdata/old")
	leads, err := diff.ParseLeads("x.csv", strings.NewReader("id,employess,industry,account.is_customer,account.tier\nL1,5,software,true,gold\n"), old)
	if err != nil {
		t.Fatal(err)
	}
	got := diff.UnknownFields(leads, old)
	if diff := cmp.Diff([]string{"account.tier", "lead.employess"}, got); diff != "" {
		t.Errorf("UnknownFields (-want +got):\n%s", diff)
	}
}

// A column one side does not declare is not a misspelt key of that side's
// input: strict mode refuses no lead for it, and no decision warns of it
// (diff.UnknownFields reports the columns neither side reads).
func TestCompareColumnsOfOneSide(t *testing.T) {
	old := load(t, "testdata/old")
	leads, err := diff.ParseLeads("x.jsonl", strings.NewReader(`{"id": "L1", "lead": {"employees": 50, "industry": "software", "source": "web"}, "account": {"tier": "gold"}}`+"\n"), old)
	if err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		rep, err := diff.Compare(old, old, leads, diff.Options{Now: now, Strict: strict})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Leads != 1 || len(rep.Refused) != 0 {
			t.Errorf("strict=%v: Leads = %d, Refused = %+v; want the lead scored", strict, rep.Leads, rep.Refused)
		}
	}
}
