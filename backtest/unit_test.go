package backtest_test

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/rules"
)

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		name string
		bins []backtest.ScoreBin
		want float64 // NaN: undefined
	}{
		{"perfect", []backtest.ScoreBin{{Score: 0, Leads: 3}, {Score: 10, Leads: 2, Converted: 2}}, 1},
		{"reversed", []backtest.ScoreBin{{Score: 0, Leads: 2, Converted: 2}, {Score: 10, Leads: 3}}, 0},
		{"all tied", []backtest.ScoreBin{{Score: 5, Leads: 10, Converted: 4}}, 0.5},
		// Scores 1 (neg), 2 (pos, neg), 3 (pos): pairs (pos, neg) = (2,1) win,
		// (2,2) tie, (3,1) win, (3,2) win: 3.5 of 4.
		{"one tie", []backtest.ScoreBin{{Score: 1, Leads: 1}, {Score: 2, Leads: 2, Converted: 1}, {Score: 3, Leads: 1, Converted: 1}}, 3.5 / 4},
		// Mann-Whitney with average ranks: scores 1,1,2,2,2,3 ranks 1.5,1.5,4,4,4,6.
		// Positives at 1 and 2 and 3: rank sum 1.5+4+6 = 11.5; U = 11.5 - 3*4/2 = 5.5; AUC = 5.5/9.
		{"average ranks", []backtest.ScoreBin{{Score: 1, Leads: 2, Converted: 1}, {Score: 2, Leads: 3, Converted: 1}, {Score: 3, Leads: 1, Converted: 1}}, 5.5 / 9},
		{"no positives", []backtest.ScoreBin{{Score: 1, Leads: 2}}, math.NaN()},
		{"empty", nil, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := backtest.AUC(tc.bins)
			switch {
			case math.IsNaN(tc.want) && got != nil:
				t.Errorf("AUC = %v; want nil", *got)
			case !math.IsNaN(tc.want) && (got == nil || math.Abs(*got-tc.want) > 1e-12):
				t.Errorf("AUC = %v; want %v", backtest.AUCText(got), tc.want)
			}
		})
	}
}

func TestDeciles(t *testing.T) {
	// 20 leads: scores 9 (4 leads, all converted), 5 (10 leads, 5 converted),
	// 0 (6 leads, none). Two leads per decile.
	bins := []backtest.ScoreBin{{Score: 0, Leads: 6}, {Score: 5, Leads: 10, Converted: 5}, {Score: 9, Leads: 4, Converted: 4}}
	got := backtest.Deciles(bins)
	if len(got) != 10 {
		t.Fatalf("Deciles gave %d deciles; want 10", len(got))
	}
	wantConv := []float64{2, 2, 1, 1, 1, 1, 1, 0, 0, 0}
	for i, d := range got {
		if d.Leads != 2 || math.Abs(d.Converted-wantConv[i]) > 1e-12 {
			t.Errorf("decile %d = %d leads, %v converted; want 2, %v", d.Decile, d.Leads, d.Converted, wantConv[i])
		}
	}
	if got[0].MinScore != 9 || got[2].MaxScore != 5 || got[9].MinScore != 0 {
		t.Errorf("score ranges: decile 1 %d, 3 %d, 10 %d; want 9, 5, 0", got[0].MinScore, got[2].MaxScore, got[9].MinScore)
	}
	if c := got[1].CumCaptured; math.Abs(c-4.0/9) > 1e-12 {
		t.Errorf("decile 2 captured %v; want 4/9", c)
	}
	// A score straddling a boundary: 3 leads tied at 1 with 1 conversion, 7
	// at 0; deciles 1..3 each get a third of a conversion.
	got = backtest.Deciles([]backtest.ScoreBin{{Score: 0, Leads: 7}, {Score: 1, Leads: 3, Converted: 1}})
	for i := range 3 {
		if math.Abs(got[i].Converted-1.0/3) > 1e-12 {
			t.Errorf("tied decile %d converted %v; want 1/3", i+1, got[i].Converted)
		}
	}
}

func TestInformationValue(t *testing.T) {
	// 10 converted, 10 not; the rule fires on 8 converted and 2 others.
	// p = 8.5/11, q = 2.5/11 fired; 2.5/11, 8.5/11 not fired.
	p, q := 8.5/11, 2.5/11
	want := 2 * (p - q) * math.Log(p/q)
	got := backtest.InformationValue([][2]int64{{8, 2}, {2, 8}}, 10, 10)
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("InformationValue = %v; want %v", got, want)
	}
	if iv := backtest.InformationValue([][2]int64{{5, 5}, {5, 5}}, 10, 10); iv != 0 {
		t.Errorf("InformationValue of an even split = %v; want 0", iv)
	}
}

func TestNormalise(t *testing.T) {
	for in, want := range map[string]string{
		"Total Time Spent on Website":        "total_time_spent_on_website",
		"What is your current occupation":    "what_is_your_current_occupation",
		"Page Views Per Visit":               "page_views_per_visit",
		"Detergents_Paper":                   "detergents_paper",
		"  Lead--Origin  ":                   "lead_origin",
		"2nd contact":                        "_2nd_contact",
		"I agree to pay the amount (cheque)": "i_agree_to_pay_the_amount_cheque",
		"lead.employees":                     "lead_employees",
		"Año":                                "a_o",
		"%%":                                 "",
	} {
		if got := backtest.Normalise(in); got != want {
			t.Errorf("Normalise(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestOutcomeLabel(t *testing.T) {
	rec := func(v any) backtest.Record { return backtest.NewRecord(2, map[string]any{"y": v}) }
	for _, tc := range []struct {
		spec     string
		negative []string
		value    any
		want     int
	}{
		{"y", nil, "yes", 1},
		{"y", nil, "No", 0},
		{"y", nil, "1", 1},
		{"y", nil, "0", 0},
		{"y", nil, "2.5", 1},
		{"y", nil, "maybe", -1},
		{"y", nil, "", -1},
		{"y", nil, nil, -1},
		{"y", nil, true, 1},
		{"y=Won", nil, "won", 1},
		{"y=Won", nil, "Lost", 0},
		{"y=Won", nil, "Engaging", 0},
		{"y=Won", []string{"Lost"}, "Engaging", -1},
		{"y=Won", []string{"Lost"}, "Lost", 0},
		{"y=Won|Closed Won", nil, "closed won", 1},
		{"y=1", nil, "1", 1},
		{"y=1", nil, " ", -1},
	} {
		o, err := backtest.ParseOutcome(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		o.Negative = tc.negative
		if got := o.Label(rec(tc.value)); got != tc.want {
			t.Errorf("Outcome(%s, negative %v).Label(%v) = %d; want %d", tc.spec, tc.negative, tc.value, got, tc.want)
		}
	}
	if _, err := backtest.ParseOutcome("=1"); err == nil {
		t.Error(`ParseOutcome("=1") succeeded; want an error`)
	}
}

func TestParseMapping(t *testing.T) {
	src := `# mapping
id: Prospect ID
outcome: Converted=1
missing: ["", Select]
fields:
  lead.employees: Employees
  lead.total_time: Total Time Spent on Website
`
	m, err := backtest.ParseMapping("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lead.employees": "Employees", "lead.total_time": "Total Time Spent on Website"}
	if diff := cmp.Diff(want, m.Fields); diff != "" || m.ID != "Prospect ID" || m.Outcome != "Converted=1" || !cmp.Equal(m.Missing, []string{"", "Select"}) {
		t.Errorf("ParseMapping = %+v; diff fields %s", m, diff)
	}
	if p := m.Pos["lead.total_time"]; p.Line != 7 || p.Col != 3 {
		t.Errorf("position of lead.total_time = %v; want 7:3", p)
	}
}

func TestParseMappingErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"unknown key", "fileds:\n  lead.x: X\n", []string{`m.yaml:1:1: unknown key "fileds" (did you mean fields?)`}},
		{"bad field", "fields:\n  employees: E\n  lead.ok: O\n  lead.Bad: B\n", []string{
			`m.yaml:2:3: fields: "employees" is not a field name (write lead.x or account.x, snake_case)`,
			`m.yaml:4:3: fields: "lead.Bad" is not a field name (write lead.x or account.x, snake_case)`}},
		{"bad outcome", "outcome: \"=1\"\n", []string{`m.yaml:1:10: outcome: "=1": expected COLUMN or COLUMN=VALUE, like Converted=1`}},
		{"not a mapping", "- a\n- b\n", []string{"m.yaml:1:1: a mapping file is a mapping with fields:, missing:, id: and outcome:"}},
		{"yaml syntax", "fields: [\n", []string{"m.yaml:1:1: did not find expected node content"}},
		{"missing not a list", "missing: {a: b}\n", []string{`m.yaml:1:10: missing: expected a list of values, like ["", Select]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := backtest.ParseMapping("m.yaml", []byte(tc.src))
			var list rules.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("ParseMapping error = %v; want a rules.ErrorList", err)
			}
			var got []string
			for _, e := range list {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBinderErrors(t *testing.T) {
	rs := loadRuleset(t, "testdata/tiny.yaml")
	m := &backtest.Mapping{Fields: map[string]string{"lead.employes": "Employees", "lead.country": "Contry"}}
	_, err := backtest.NewBinder(rs, []string{"Employees", "Country"}, true, m)
	if err == nil {
		t.Fatal("NewBinder succeeded; want errors")
	}
	for _, want := range []string{
		`lead.country: no column "Contry" in the data (did you mean Country?)`,
		`lead.employes is not a field of ruleset tiny (did you mean lead.employees?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewBinder error %q lacks %q", err, want)
		}
	}
}

func TestRowExpr(t *testing.T) {
	cols := []string{"Converted", "Lead Origin", "close_value", "Region"}
	rec := backtest.NewRecord(2, map[string]any{"Converted": "1", "Lead Origin": "API", "close_value": "1200", "Region": "3"})
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`Converted == "1"`, true},
		{`Converted == 1`, true},
		{`Converted != 1`, false},
		{`close_value > 1000`, true},
		{`close_value >= 1200.5`, false},
		{`-5 < close_value`, true},
		{`lead_origin == "API"`, true},
		{`$env["Lead Origin"] in ["API", "Lead Add Form"]`, true},
		{`Region in [1, 3]`, true},
		{`Region in ["1", "2"]`, false},
		{`Converted == "1" && close_value < 100`, false},
	} {
		e, err := backtest.CompileRowExpr(tc.src, cols, true)
		if err != nil {
			t.Errorf("CompileRowExpr(%q): %v", tc.src, err)
			continue
		}
		if got, err := e.Match(rec); err != nil || got != tc.want {
			t.Errorf("Match(%q) = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
	e, err := backtest.CompileRowExpr(`converted == "1" && $env["Lead Origin"] != ""`, cols, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Columns(); !cmp.Equal(got, []string{"Converted", "Lead Origin"}) {
		t.Errorf("Columns = %q; want Converted and Lead Origin", got)
	}
	if _, err := backtest.CompileRowExpr(`Convertd == "1"`, cols, true); err == nil || !strings.Contains(err.Error(), `(columns: Converted, Lead Origin, close_value, Region; write a name like "Lead Origin" as lead_origin or $env["Lead Origin"])`) {
		t.Errorf("unknown column: err = %v; want the list of columns", err)
	}
	if _, err := backtest.CompileRowExpr(`close_value`, cols, true); err == nil {
		t.Error("a non-boolean expression compiled; want an error")
	}
}

func readAll(t *testing.T, src backtest.Source) []backtest.Record {
	t.Helper()
	var out []backtest.Record
	for {
		rec, err := src.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

func csvSource(t *testing.T, data string) backtest.Source {
	t.Helper()
	rd, err := backtest.NewReader(strings.NewReader(data), backtest.ReaderOptions{Format: backtest.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func TestJoinAggregate(t *testing.T) {
	accounts := "account,sector\nAcme,retail\nBeta,software\nGamma,medical\n"
	deals := "id,account,stage,value\n1,Acme,Won,100\n2,Acme,Won,50.5\n3,Acme,Lost,0\n4,Beta,Lost,0\n5,,Won,7\n6,Beta,Won,x\n"
	where, err := backtest.CompileRowExpr(`stage == "Won"`, []string{"id", "account", "stage", "value"}, true)
	if err != nil {
		t.Fatal(err)
	}
	var aggs []backtest.Agg
	for _, s := range []string{"won_revenue=sum(value)", "wins=count()", "avg=mean(value)", "sector=max(value)"} {
		a, err := backtest.ParseAgg(s)
		if err != nil {
			t.Fatal(err)
		}
		aggs = append(aggs, a)
	}
	j := &backtest.JoinSpec{On: "account", Where: where, Aggs: aggs, Name: "deals"}
	if err := j.Load(csvSource(t, deals)); err != nil {
		t.Fatal(err)
	}
	src, err := j.Wrap(csvSource(t, accounts))
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := src.Columns()
	if want := []string{"account", "sector", "won_revenue", "wins", "avg", "sector (joined)"}; !cmp.Equal(cols, want) {
		t.Errorf("columns = %q; want %q", cols, want)
	}
	var got [][]string
	for _, rec := range readAll(t, src) {
		got = append(got, []string{rec.Text("account"), rec.Text("sector"), rec.Text("won_revenue"), rec.Text("wins"), rec.Text("avg"), rec.Text("sector (joined)")})
	}
	// Beta's only win has no number: counted, not summed.
	want := [][]string{
		{"Acme", "retail", "150.5", "2", "75.25", "100"},
		{"Beta", "software", "0", "1", "", ""},
		{"Gamma", "medical", "0", "0", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("joined rows differ (-want +got):\n%s", diff)
	}
}

func TestJoinLookup(t *testing.T) {
	deals := "id,account,stage\n1,Acme,Won\n2,Nobody,Lost\n"
	j := &backtest.JoinSpec{On: "account", Name: "accounts"}
	if err := j.Load(csvSource(t, "account,sector,stage\nAcme,retail,x\nBeta,software,y\n")); err != nil {
		t.Fatal(err)
	}
	src, err := j.Wrap(csvSource(t, deals))
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, src)
	if rows[0].Text("sector") != "retail" || rows[0].Text("stage (joined)") != "x" || rows[0].Text("stage") != "Won" {
		t.Errorf("Acme joined: sector %q, stage (joined) %q; want retail, x", rows[0].Text("sector"), rows[0].Text("stage (joined)"))
	}
	if v, _ := rows[1].Get("sector"); v != "" {
		t.Errorf("unmatched key: sector = %q; want empty", v)
	}
	dup := &backtest.JoinSpec{On: "account", Name: "accounts"}
	if err := dup.Load(csvSource(t, "account,sector\nAcme,a\nAcme,b\n")); err == nil || !strings.Contains(err.Error(), `key "Acme" on lines 2 and 3`) {
		t.Errorf("duplicate key: err = %v; want it named with both lines", err)
	}
	if _, err := backtest.ParseAgg("x=median(v)"); err == nil {
		t.Error("ParseAgg accepted median; want an error")
	}
}

func TestRowExprBool(t *testing.T) {
	for _, tc := range []struct {
		value any
		want  bool
	}{{"Yes", true}, {"true", true}, {true, true}, {"no", false}, {"maybe", false}} {
		e, err := backtest.CompileRowExpr(`flag == true`, []string{"flag"}, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Match(backtest.NewRecord(2, map[string]any{"flag": tc.value}))
		if err != nil || got != tc.want {
			t.Errorf("flag == true on %v = %v, %v; want %v", tc.value, got, err, tc.want)
		}
	}
}
