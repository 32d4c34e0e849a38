package engine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// slowDecision is the reference path: CheckDepth when there is a limit,
// ParseInput into maps, then Score.
func slowDecision(rs *engine.Ruleset, data []byte, opts engine.Options) (engine.Decision, error) {
	if opts.MaxDepth > 0 {
		if err := engine.CheckDepth(data, opts.MaxDepth); err != nil {
			return engine.Decision{}, err
		}
	}
	in, err := engine.ParseInput(data)
	if err != nil {
		return engine.Decision{}, err
	}
	return rs.Score(context.Background(), in, opts)
}

func decodeSeeds() [][]byte {
	seeds := [][]byte{
		[]byte(`{"id": "L1", "lead": {"employees": 20, "country": "DE"}, "account": {"ltv": 5}}`),
		[]byte(`{"employees": "20", "country": "US", "id": 7}`),
		[]byte(`{"country": "US", "lead": {"employees": 3}}`),
		[]byte(`{"lead": {"employees": 3, "employees": 4}}`),
		[]byte(`{"lead": {"country": "D\u00e9", "stack": ["a", "b", "c", "x"], "signed": "2026-11-01"}}`),
		[]byte(`{"lead": {"country": "\ud83d\ude00", "industry": "soft\"ware", "demo": "yes"}}`),
		[]byte(`{"lead": {"country": "\ud83d", "revenue": 1e3, "employees": 1.5e1}}`),
		[]byte(`{"lead": {"employees": null, "x": {"deep": [[[{}]]]}, "industry": 5}}`),
		[]byte(`{"lead": null}`),
		[]byte(`{"lead": {"employees": 1}} trailing`),
		[]byte(`{"lead_id": "A", "lead": {"id": "B", "lead_id": 3}}`),
		[]byte(`{"lead": {"stack": ["a", 1]}}`),
		[]byte(`{"lead": {"employees": -0, "revenue": -0.0, "demo": false}}`),
		[]byte(`{"lead": {"employees": -123456789012345678, "revenue": -0, "signed": "2024-02-29"}}`),
		[]byte(`{"lead": {"employees": 1234567890123456789, "revenue": 9007199254740993, "signed": "2023-02-29"}}`),
		[]byte(`{"lead": {"employees": 9223372036854775808, "revenue": -9007199254740993, "signed": "2026-1-01"}}`),
		[]byte(`{"lead": {"employees": 007, "revenue": 0}}`),
		[]byte(`{"lead": {"employees": 0, "revenue": -, "demo": true}}`),
		[]byte(`{"lead": {"employees": 12abc}}`),
		[]byte(`{"lead": {"employees": 1E2, "revenue": 123456789012345678}}`),
		[]byte(`{"lead": {"employees": -9, "revenue": -9007199254740991, "country": 10}}`),
		[]byte("{\"lead\": {\"country\": \"a\xffb\"}}"),
		[]byte(`{}`),
		[]byte(`[]`),
		// Keys that are not declared fields: warnings, or strict errors.
		[]byte(`{"lead": {"emial": "a@b.example", "employes": 5, "emial": 1}, "account": {"id": "x", "ltvv": 3}}`),
		[]byte(`{"id": "L", "countri": "DE", "employees": 5, "account_source": "request"}`),
		[]byte(`{"countri": "DE", "lead": {"employees": "x", "industri": "software"}}`),
		[]byte("{\"lead\": {\"emi\xffal\": 1}, \"account\": {\"\\u00e9\": 2}}"),
		// The lead's email (ScoreJSONEmail), wherever a request puts it.
		[]byte(`{"email": " Ann@Acme.Example ", "employees": 5}`),
		[]byte(`{"lead": {"email": "ann\u0040acme.example"}, "email": "top@acme.example"}`),
		[]byte(`{"lead": {"email": 5, "employees": 5}}`),
		[]byte(`{"lead": {"email": "a@b.example", "email": "c@d.example"}}`),
		[]byte(`{"lead": null, "email": "top@acme.example"}`),
		[]byte(`{"email": "flat@acme.example", "account": {"ltv": 5}}`),
		[]byte(`{"lead": {"email": "x@y.example"}, "account": {"email": "acct@acme.example"}}`),
		[]byte("{\"lead\": {\"email\": \"a\xff@b.example\"}}"),
		[]byte("{\"email\": \"\xe9@b.example\", \"employees\": 1}"),
	}
	files, _ := filepath.Glob("testdata/decisions/*.lead.json")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

func decodeRulesets(t testing.TB) []*engine.Ruleset {
	rss, err := rules.LoadPaths("testdata/rulesets", "testdata/semantics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []*engine.Ruleset
	for _, rs := range rss {
		out = append(out, engine.NewRuleset(rs))
	}
	return out
}

// b2bSaaSOf is the b2b-saas ruleset among rss (decodeRulesets').
func b2bSaaSOf(t testing.TB, rss []*engine.Ruleset) *engine.Ruleset {
	t.Helper()
	for _, r := range rss {
		if r.Name == "b2b-saas" {
			return r
		}
	}
	t.Fatal("no ruleset b2b-saas")
	return nil
}

func checkSameDecision(t *testing.T, rss []*engine.Ruleset, data []byte) {
	for _, rs := range rss {
		for _, strict := range []bool{false, true} {
			checkSameDecisionWith(t, rs, data, engine.Options{Strict: strict, Clock: func() time.Time { return fixedNow }})
		}
	}
	// A depth limit: the input is refused when CheckDepth refuses it, and
	// decided as without a limit otherwise.
	for _, max := range []int{1, 2, 3} {
		checkSameDecisionWith(t, rss[0], data, engine.Options{Clock: func() time.Time { return fixedNow }, MaxDepth: max})
	}
}

func checkSameDecisionWith(t *testing.T, rs *engine.Ruleset, data []byte, opts engine.Options) {
	t.Helper()
	fast, errF := rs.ScoreJSON(context.Background(), data, opts)
	slow, errS := slowDecision(rs, data, opts)
	if (errF == nil) != (errS == nil) || (errF != nil && errF.Error() != errS.Error()) {
		t.Fatalf("%s strict=%v max depth %d %q:\nScoreJSON error %v\nslow path error    %v", rs.Name, opts.Strict, opts.MaxDepth, data, errF, errS)
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Fatalf("%s strict=%v max depth %d %q: ScoreJSON differs from ParseInput+Score (-slow +fast):\n%s", rs.Name, opts.Strict, opts.MaxDepth, data, diff)
	}
	// ScoreJSONEmail decides the same, and says the email of the lead
	// ParseInput reads.
	var withEmail engine.Decision
	email, errE := rs.ScoreJSONEmail(context.Background(), data, opts, &withEmail)
	if (errE == nil) != (errF == nil) || (errE != nil && errE.Error() != errF.Error()) {
		t.Fatalf("%s strict=%v max depth %d %q:\nScoreJSONEmail error %v\nScoreJSON error      %v", rs.Name, opts.Strict, opts.MaxDepth, data, errE, errF)
	}
	if diff := cmp.Diff(fast, withEmail); diff != "" {
		t.Fatalf("%s strict=%v max depth %d %q: ScoreJSONEmail differs from ScoreJSON (-ScoreJSON +ScoreJSONEmail):\n%s", rs.Name, opts.Strict, opts.MaxDepth, data, diff)
	}
	want := ""
	if in, err := engine.ParseInput(data); err == nil && errS == nil {
		want, _ = in.Lead["email"].(string)
	}
	if email != want {
		t.Fatalf("%s strict=%v max depth %d %q: ScoreJSONEmail's email = %q; want %q", rs.Name, opts.Strict, opts.MaxDepth, data, email, want)
	}
}

func TestDecodeJSONMatchesParseInput(t *testing.T) {
	rss := decodeRulesets(t)
	for _, s := range decodeSeeds() {
		checkSameDecision(t, rss, s)
	}
}

// FuzzDecodeJSON checks that the direct decoder and the map-based path give
// the same decision, or the same error, for any bytes.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range decodeSeeds() {
		f.Add(s)
	}
	rss := decodeRulesets(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameDecision(t, rss, data)
	})
}

// TestDecodeStringsAtEveryOffset puts each byte that ends or changes a
// plain run of a string (quote, backslash, control, non-ASCII, invalid
// UTF-8) at every offset of strings of every length up to 17, in keys and
// in values: the decoder scans strings eight bytes at a time, and its
// word edges must not show.
func TestDecodeStringsAtEveryOffset(t *testing.T) {
	rss := decodeRulesets(t)[:1] // the decoder's part is the same for every ruleset
	specials := []string{`\"`, `\\`, `\n`, `\u00e9`, "\x01", "é", "\xff", `"`}
	for n := 0; n <= 17; n++ {
		for i := 0; i <= n; i++ {
			for _, sp := range specials {
				s := strings.Repeat("a", i) + sp + strings.Repeat("b", n-i)
				checkSameDecision(t, rss, []byte(`{"lead": {"country": "`+s+`", "industry": "software"}}`))
				checkSameDecision(t, rss, []byte(`{"lead": {"`+s+`": 1, "country": "DE"}}`))
			}
		}
	}
}

// TestDecodeKeyOrders sends leads in turn whose keys come in one order, in
// another, with keys left out, added, escaped, duplicated, and as prefixes
// of each other: the decoder predicts each key from the keys of the leads
// before, and a prediction must never change a decision.
func TestDecodeKeyOrders(t *testing.T) {
	rss := decodeRulesets(t)
	leads := []string{
		`{"id": "1", "lead": {"country": "DE", "employees": 20, "industry": "software", "tech_stack": ["a"]}}`,
		`{"id": "2", "lead": {"country": "US", "employees": 5, "industry": "retail", "tech_stack": []}}`,
		`{"id": "3", "lead": {"country": "US", "industry": "retail"}}`,
		`{"id": "4", "lead": {"industry": "retail", "employees": 7, "country": "FR"}}`,
		`{"id": "5", "lead": {"countryx": "FR", "country": "NL", "employee": 3, "employees": 9}}`,
		`{"id": "6", "lead": {"c": 1, "country": "BE", "employees": 9, "x": 1, "industry": "software"}}`,
		`{"id": "7", "lead": {"coun\u0074ry": "AT", "employees": 11}}`,
		`{"id": "8", "lead": {"country": "AT", "country": "DE"}}`,
		`{"id": "9", "lead": {"country"  :  "PL" , "employees":1}, "account": {"country": "PL"}}`,
		`{"id": "10", "lead": {"country": "PL", "employees": 1, "industry": "software", "tech_stack": ["b"]}}`,
		`{"id": "11", "lead": {"country": "PL", "employees": 1, "industry": "software", "tech_stack": ["b"]`,
		`{"id": "12", "lead": {"country"x: "PL"}}`,
		`{"id": "13", "lead": {"country`,
		`{"id": "14", "lead": {"country": "PL", "employees": 1, "industry": "software", "tech_stack": ["b"]}}`,
		// Keys compared word by word: keys that differ from the expected
		// one only in its second or third word (of the same length, so that
		// only the comparison tells them apart), keys of 23, 24 and more
		// bytes, and keys too near the end of the input for three words.
		`{"id": "15", "lead": {"pricing_page_visits": 3, "last_activity_date": "2026-11-01", "a_key_of_twenty_three_c": 1}}`,
		`{"id": "16", "lead": {"pricing_page_visitsX": 9, "last_activity_dateX": "2020-01-01", "pricing_page_visits": 1}}`,
		`{"id": "16b", "lead": {"pricing_page_visiXs": 9, "last_activity_datX": "2020-01-01"}}`,
		`{"id": "16c", "lead": {"pricing_pagX_visits": 9, "last_activiXy_date": "2020-01-01"}}`,
		`{"id": "17", "lead": {"a_key_of_twenty_three_c": 1, "a_key_of_twenty_four_ch": 2, "a_key_much_longer_than_twenty_four": 3, "pricing_page_visits": 5}}`,
		`{"id": "18", "lead": {"a_key_of_twenty_three_X": 1, "a_key_of_twenty_four_cX": 2, "a_key_much_longer_than_twenty_fouX": 3, "pricing_page_visits": 2}}`,
		`{"id":"19","lead":{"employees":1,"country":"US"}}`,
		`{"id":"20","lead":{"employees":1,"countrX":"US"}}`,
		`{"id":"21","lead":{"employees":1,"countryX":"US"}}`,
		`{"id":"22","lead":{"employees":1,"countr":"US"}}`,
	}
	// One ruleset at a time, lead after lead: the decoder keeps a key order
	// per ruleset, so leads of one ruleset in a row are what prediction
	// learns from and guesses wrong about.
	opts := engine.Options{Clock: func() time.Time { return fixedNow }}
	for _, rs := range rss {
		for range 3 {
			for _, l := range leads {
				checkSameDecisionWith(t, rs, []byte(l), opts)
			}
		}
	}
	for range 3 {
		for _, l := range leads {
			checkSameDecision(t, rss, []byte(l))
		}
	}
}

// The decoder reads strings and list items in place, without copying; a
// decision must still own everything it holds: a caller that reuses its
// buffer after ScoreJSON must not see the decision change.
func TestDecisionDoesNotAliasTheInput(t *testing.T) {
	rss := decodeRulesets(t)
	files, _ := filepath.Glob("testdata/decisions/*.lead.json")
	for _, rs := range rss {
		for i, f := range append(files, files...) { // full, then brief: no reasons to share a copy with
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			opts := engine.Options{Clock: func() time.Time { return fixedNow }}
			if i >= len(files) {
				opts.Detail = engine.Brief
			}
			d, err := rs.ScoreJSON(context.Background(), data, opts)
			if err != nil {
				continue // leads of another ruleset may be refused; not this test's concern
			}
			want, _ := rs.ScoreJSON(context.Background(), bytes.Clone(data), opts)
			for i := range data {
				data[i] = 'X'
			}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("%s %s: the decision changed when its input buffer was overwritten (-before +after):\n%s", rs.Name, f, diff)
			}
		}
	}
}
