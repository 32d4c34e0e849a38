package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/rules"
)

// keysRuleset is b2b-saas of testdata: lead.email, lead.employees, ...,
// account.is_customer and account.open_opportunities.
func keysRuleset(t *testing.T) *Ruleset {
	t.Helper()
	all, err := rules.LoadPaths("testdata/rulesets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range all {
		if rs.Name == "b2b-saas" {
			return NewRuleset(rs)
		}
	}
	t.Fatal("no ruleset b2b-saas in testdata/rulesets")
	return nil
}

// The input contract: a key of the lead or of its account that is not a
// declared field of the ruleset used is a warning naming the nearest
// declared field of that namespace, or in strict mode an error on that
// field; the envelope's keys are not fields. The fast decoder and the map
// path give the same warnings and errors, and the fast decoder reads
// these requests itself.
func TestUndeclaredKeys(t *testing.T) {
	rs := keysRuleset(t)
	w := func(field, msg string) Warning { return Warning{Field: field, Message: msg} }
	tests := []struct {
		name string
		req  string
		want []Warning // strict mode refuses the request with these fields and messages
		fast bool      // the fast decoder reads it (else it leaves it to ParseInput)
	}{
		{"declared only", `{"id": "L1", "lead": {"email": "a@b.example", "employees": 50}, "account": {"is_customer": true}}`, nil, true},
		{"misspelt lead keys", `{"lead": {"emial": "a@b.example", "employes": 50}}`, []Warning{
			w("lead.emial", "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"),
			w("lead.employes", "lead.employes is not a field of ruleset b2b-saas (did you mean lead.employees?)"),
		}, true},
		{"bare lead", `{"id": 7, "emial": "a@b.example", "employees": 50}`, []Warning{
			w("lead.emial", "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"),
		}, true},
		{"nothing close", `{"lead": {"favourite_colour": "teal"}}`, []Warning{
			w("lead.favourite_colour", "lead.favourite_colour is not a field of ruleset b2b-saas"),
		}, true},
		{"account keys against account fields only", `{"lead": {"email": "a@b.example"}, "account": {"is_custmer": true, "email": "x"}}`, []Warning{
			w("account.email", "account.email is not a field of ruleset b2b-saas"),
			w("account.is_custmer", "account.is_custmer is not a field of ruleset b2b-saas (did you mean account.is_customer?)"),
		}, true},
		{"lead ids are not fields", `{"lead_id": "A", "lead": {"id": "B", "lead_id": 3, "account_source": "request"}, "account": {"id": "acc-1"}}`, nil, true},
		{"envelope keys are not lead fields", `{"id": "L1", "lead": {"email": "a@b.example"}, "account": {}}`, nil, true},
		{"a duplicate undeclared key warns once", `{"lead": {"emial": "a", "emial": "b"}}`, []Warning{
			w("lead.emial", "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"),
		}, true},
		{"beside a wrong type", `{"lead": {"employees": "many", "titel": "CEO"}}`, []Warning{
			w("lead.employees", `expected a whole number, got "many"; treated as missing`),
			w("lead.titel", "lead.titel is not a field of ruleset b2b-saas (did you mean lead.title?)"),
		}, true},
		{"a misspelt envelope key", `{"lead": {"email": "a@b.example"}, "acount": {"is_customer": true}}`, []Warning{
			w("acount", `"acount" is not a key of a scoring request (lead, account, id, lead_id) (did you mean account?); ignored`),
		}, true},
		{"a misspelt envelope key before the lead", `{"acount": {"is_customer": true}, "lead": {"emial": "a@b.example"}}`, []Warning{
			w("acount", `"acount" is not a key of a scoring request (lead, account, id, lead_id) (did you mean account?); ignored`),
			w("lead.emial", "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"),
		}, false},
		{"a lead field beside the lead", `{"account": {}, "lead": {"email": "a@b.example"}, "employees": 50}`, []Warning{
			w("employees", `"employees" is not a key of a scoring request (lead, account, id, lead_id); ignored`),
		}, true},
		{"flat lead with its account", `{"emial": "a@b.example", "account": {"is_customer": false, "oppen": 1}}`, []Warning{
			w("account", flatAccountMessage),
			w("account.oppen", "account.oppen is not a field of ruleset b2b-saas"),
			w("lead.emial", "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"),
		}, false},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				opts := Options{Strict: strict}
				l := new(record)
				_, _, ok, _ := l.decodeJSON(rs, []byte(tc.req), opts, false)
				if ok != tc.fast {
					t.Errorf("strict=%v: the fast decoder read it: %v; want %v", strict, ok, tc.fast)
				}
				fast, errF := rs.ScoreJSON(ctx, []byte(tc.req), opts)
				in, err := ParseInput([]byte(tc.req))
				if err != nil {
					t.Fatal(err)
				}
				slow, errS := rs.Score(ctx, in, opts)
				if diff := cmp.Diff(slow, fast); diff != "" {
					t.Errorf("strict=%v: ScoreJSON and ParseInput+Score differ (-map +fast):\n%s", strict, diff)
				}
				if !strict {
					if errF != nil || errS != nil {
						t.Fatalf("errors %v, %v; want none", errF, errS)
					}
					want := tc.want
					if want == nil {
						want = []Warning{}
					}
					if diff := cmp.Diff(want, fast.Warnings); diff != "" {
						t.Errorf("warnings (-want +got):\n%s", diff)
					}
					continue
				}
				for _, err := range []error{errF, errS} {
					var got []Warning
					var errs InputErrors
					if errors.As(err, &errs) {
						for _, e := range errs {
							got = append(got, Warning{Field: e.Field, Message: e.Message})
						}
					}
					var want []Warning
					for _, w := range tc.want { // strict refuses instead of treating as missing
						if w.Field == "lead.employees" {
							w.Message = `expected a whole number, got "many"`
						}
						w.Message = strings.TrimSuffix(w.Message, "; ignored")
						want = append(want, w)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("strict errors %v (-want +got):\n%s", err, diff)
					}
				}
			}
		})
	}
}

// An account joined from a directory (Options.Accounts) is not the
// request's: its columns are not checked against the declared fields.
func TestUndeclaredKeysOfJoinedAccounts(t *testing.T) {
	rs := keysRuleset(t)
	dir := resolverFunc(func(string) (map[string]any, bool) {
		return map[string]any{"is_customer": true, "crm_owner": "jo"}, true
	})
	req := `{"lead": {"email": "a@b.example"}}`
	for _, strict := range []bool{false, true} {
		opts := Options{Strict: strict, Accounts: dir}
		d, err := rs.ScoreJSON(context.Background(), []byte(req), opts)
		if err != nil || len(d.Warnings) != 0 {
			t.Errorf("ScoreJSON strict=%v: warnings %v, error %v; want none", strict, d.Warnings, err)
		}
		in, _ := ParseInput([]byte(req))
		d, err = rs.Score(context.Background(), in, opts)
		if err != nil || len(d.Warnings) != 0 {
			t.Errorf("Score strict=%v: warnings %v, error %v; want none", strict, d.Warnings, err)
		}
		in, _ = ParseInput([]byte(req))
		in.JoinAccount(dir) // as the server's preview does before Score
		d, err = rs.Score(context.Background(), in, Options{Strict: strict})
		if err != nil || len(d.Warnings) != 0 {
			t.Errorf("JoinAccount then Score strict=%v: warnings %v, error %v; want none", strict, d.Warnings, err)
		}
	}
}

type resolverFunc func(string) (map[string]any, bool)

func (f resolverFunc) Resolve(email string) (map[string]any, bool) { return f(email) }

// Past a few undeclared keys the decoder indexes the fields it reported:
// a key repeated among many still warns once (and a repeated key beside
// the lead still sends the request to the slow path), as with a few.
func TestManyUndeclaredKeys(t *testing.T) {
	rs := keysRuleset(t)
	var keys []string
	for i := range 40 {
		keys = append(keys, fmt.Sprintf(`"x%02d": 1`, i))
	}
	lead := strings.Join(keys, ", ")
	ctx := context.Background()
	for _, tc := range []struct {
		name, req string
		fast      bool
	}{
		{"lead keys repeated", `{"lead": {` + lead + `, ` + lead + `}}`, true},
		{"keys beside the lead repeated", `{"lead": {}, ` + lead + `, ` + lead + `}`, false},
	} {
		for _, strict := range []bool{false, true} {
			opts := Options{Strict: strict}
			_, _, ok, _ := new(record).decodeJSON(rs, []byte(tc.req), opts, false)
			if ok != tc.fast {
				t.Errorf("%s, strict=%v: the fast decoder read it: %v; want %v", tc.name, strict, ok, tc.fast)
			}
			d, err := rs.ScoreJSON(ctx, []byte(tc.req), opts)
			n := len(d.Warnings)
			var errs InputErrors
			if strict && errors.As(err, &errs) {
				n = len(errs)
			}
			if n != 40 {
				t.Errorf("%s, strict=%v: %d warnings or errors (error %v); want one for each of the 40 keys", tc.name, strict, n, err)
			}
		}
	}
}

// A key given twice is JSON's last value, which the sender may not mean:
// a lead that says 5 and then 500 employees is warned of (refused in
// strict mode) on each declared field and on a lead or account object
// given twice. A repeated undeclared key is only not a field.
func TestDuplicateKeys(t *testing.T) {
	rs := keysRuleset(t)
	twice := func(name string) Warning {
		return Warning{Field: name, Message: name + " is given twice; the last value is used"}
	}
	tests := []struct {
		req  string
		want []Warning
	}{
		{`{"lead": {"employees": 5, "employees": 500}}`, []Warning{twice("lead.employees")}},
		{`{"lead": {"employees": 5, "\u0065mployees": 500}}`, []Warning{twice("lead.employees")}},
		{`{"employees": 5, "email": "a@b.example", "employees": 500}`, []Warning{twice("lead.employees")}},
		{`{"lead": {"employees": 5}, "lead": {"employees": 500}}`, []Warning{twice("lead")}},
		{`{"lead": {"employees": 5, "employees": 6}, "lead": {"employees": 500}}`, []Warning{twice("lead")}},
		{`{"account": {"is_customer": true}, "lead": {}, "account": {"is_customer": false, "is_customer": true}}`,
			[]Warning{twice("account"), twice("account.is_customer")}},
		{`{"lead": {"emial": "a", "emial": "b", "tags": [{"x": 1, "x": 2}]}}`,
			[]Warning{{Field: "lead.emial", Message: "lead.emial is not a field of ruleset b2b-saas (did you mean lead.email?)"},
				{Field: "lead.tags", Message: "lead.tags is not a field of ruleset b2b-saas"}}},
	}
	for _, tc := range tests {
		d, err := rs.ScoreJSON(context.Background(), []byte(tc.req), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, d.Warnings); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", tc.req, diff)
		}
		var errs InputErrors
		_, err = rs.ScoreJSON(context.Background(), []byte(tc.req), Options{Strict: true})
		errors.As(err, &errs)
		for _, w := range tc.want {
			if strings.HasSuffix(w.Message, "given twice; the last value is used") &&
				!slices.ContainsFunc(errs, func(e *InputError) bool { return e.Field == w.Field && e.Message == w.Field+" is given twice" }) {
				t.Errorf("%s, strict: errors %v; want %s refused as given twice", tc.req, err, w.Field)
			}
		}
	}
}
