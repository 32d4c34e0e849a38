package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
)

// byDomain resolves an email to the account of its domain, and counts the
// calls.
type byDomain struct {
	accounts map[string]map[string]any
	calls    int
}

func (r *byDomain) Resolve(email string) (map[string]any, bool) {
	r.calls++
	_, domain, _ := strings.Cut(email, "@")
	a, ok := r.accounts[domain]
	return a, ok
}

// Options.Accounts joins the account of the lead's email to a request
// without one, on the fast decoder's path as on the maps' path: the
// decision is the one for the request with the account written in it. An
// account in the request, even empty, wins; leads without an email, or
// whose domain is unknown, are decided without an account.
func TestAccountsJoined(t *testing.T) {
	rss := decodeRulesets(t)
	var rs *engine.Ruleset
	for _, r := range rss {
		if r.Name == "b2b-saas" {
			rs = r
		}
	}
	customer := map[string]any{"is_customer": true, "open_opportunities": "2"} // a string to convert
	wrong := map[string]any{"is_customer": "perhaps"}
	resolver := &byDomain{accounts: map[string]map[string]any{"northbank.example": customer, "odd.example": wrong}}
	ctx := context.Background()
	for _, tc := range []struct {
		name, request, joined string
		resolves              bool
	}{
		{"enveloped", `{"id": "1", "lead": {"email": "ana@northbank.example", "employees": 400}}`,
			`{"id": "1", "lead": {"email": "ana@northbank.example", "employees": 400}, "account": {"is_customer": true, "open_opportunities": "2"}}`, true},
		{"bare", `{"employees": 400, "email": "ana@northbank.example"}`,
			`{"lead": {"employees": 400, "email": "ana@northbank.example"}, "account": {"is_customer": true, "open_opportunities": "2"}}`, true},
		// The email beside the lead is not the lead's (and is warned of): no account.
		{"bare then enveloped", `{"email": "ana@northbank.example", "lead": {"employees": 400}}`, `{"lead": {"employees": 400}, "email": "ana@northbank.example"}`, false},
		{"escaped email", `{"lead": {"email": "ana@north\u0062ank.example"}}`,
			`{"lead": {"email": "ana@northbank.example"}, "account": {"is_customer": true, "open_opportunities": "2"}}`, true},
		{"account in the request", `{"lead": {"email": "ana@northbank.example"}, "account": {}}`, `{"lead": {"email": "ana@northbank.example"}, "account": {}}`, false},
		{"wrong type in the account", `{"lead": {"email": "bo@odd.example"}}`,
			`{"lead": {"email": "bo@odd.example"}, "account": {"is_customer": "perhaps"}}`, true},
		{"unknown domain", `{"lead": {"email": "bo@elsewhere.example"}}`, `{"lead": {"email": "bo@elsewhere.example"}}`, true},
		{"no email", `{"lead": {"employees": 5}}`, `{"lead": {"employees": 5}}`, false},
		{"email not a string", `{"lead": {"email": 5}}`, `{"lead": {"email": 5}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, strict := range []bool{false, true} {
				plain := engine.Options{Clock: func() time.Time { return fixedNow }, Strict: strict}
				want, wantErr := rs.ScoreJSON(ctx, []byte(tc.joined), plain)
				opts := plain
				opts.Accounts = resolver
				resolver.calls = 0
				got, err := rs.ScoreJSON(ctx, []byte(tc.request), opts)
				if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
					t.Fatalf("strict=%v: ScoreJSON error %v; want %v", strict, err, wantErr)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("strict=%v: ScoreJSON with Accounts differs from the joined request (-joined +resolved):\n%s", strict, diff)
				}
				if (resolver.calls > 0) != tc.resolves {
					t.Errorf("strict=%v: Resolve called %d times; want a call: %v", strict, resolver.calls, tc.resolves)
				}
				in, perr := engine.ParseInput([]byte(tc.request))
				if perr != nil {
					t.Fatal(perr)
				}
				fromMap, err := rs.Score(ctx, in, opts)
				if (err == nil) != (wantErr == nil) {
					t.Fatalf("strict=%v: Score error %v; want %v", strict, err, wantErr)
				}
				if diff := cmp.Diff(want, fromMap); diff != "" {
					t.Errorf("strict=%v: Score with Accounts differs from the joined request (-joined +resolved):\n%s", strict, diff)
				}
			}
		})
	}
	// The join costs the fast decoder nothing but the account's own fields:
	// it does not decode the request into maps (which takes dozens of
	// allocations for this lead).
	data := []byte(`{"id": "1", "lead": {"email": "ana@northbank.example", "employees": 400, "industry": "fintech", "country": "US"}}`)
	with := engine.Options{Clock: func() time.Time { return fixedNow }, Accounts: resolver}
	without := with
	without.Accounts = nil
	allocs := func(opts engine.Options) float64 {
		return testing.AllocsPerRun(50, func() {
			if _, err := rs.ScoreJSON(ctx, data, opts); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Decoding the request into maps took dozens more; under the race
	// detector sync.Pool drops items at random, so a few more come and go.
	slack := 1.0
	if raceEnabled {
		slack = 10
	}
	if a, b := allocs(with), allocs(without); a > b+slack {
		t.Errorf("ScoreJSON with Accounts takes %.0f allocations, without %.0f: the join left the fast decoder", a, b)
	}
}
