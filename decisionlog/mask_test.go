package decisionlog_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
)

func TestParseMask(t *testing.T) {
	tests := []struct {
		in   string
		want decisionlog.Mask
		err  bool
	}{
		{"", decisionlog.Mask{Mode: decisionlog.MaskNone}, false},
		{"none", decisionlog.Mask{Mode: decisionlog.MaskNone}, false},
		{"hash", decisionlog.Mask{Mode: decisionlog.MaskHash, Fields: decisionlog.DefaultMaskFields}, false},
		{"DROP", decisionlog.Mask{Mode: decisionlog.MaskDrop, Fields: decisionlog.DefaultMaskFields}, false},
		{"hash:email, lead.phone,", decisionlog.Mask{Mode: decisionlog.MaskHash, Fields: []string{"email", "lead.phone"}}, false},
		{"drop:", decisionlog.Mask{}, true},
		{"none:email", decisionlog.Mask{}, true},
		{"encrypt", decisionlog.Mask{}, true},
	}
	for _, tc := range tests {
		got, err := decisionlog.ParseMask(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseMask(%q) error = %v; want error %v", tc.in, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseMask(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

// competitor is a lead whose knockout reason quotes its email, and whose
// phone and name are personal data.
const competitor = `{"id": "C-1", "lead": {"email": "Jordan.Lee@pipelinepro.example", "phone": "+1 555 0100",
	"first_name": "Jordan", "company": "PipelinePro", "seniority": "vp", "employees": 300, "country": "US"}}`

var hashed = regexp.MustCompile(`^[0-9a-f]{32}@pipelinepro\.example$`)

func TestMaskHash(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("hash")
	l, path := open(t, decisionlog.WithMask(m))
	e := s.entry(t, t0, competitor)
	mustLog(t, l, e)
	if e.Decision.Knockouts[0].Reason != "Jordan.Lee@pipelinepro.example belongs to a competitor" {
		t.Fatalf("the caller's decision changed: %q", e.Decision.Knockouts[0].Reason)
	}

	got, err := l.Find(ctx, decisionlog.Query{Email: "jordan.lee@PIPELINEPRO.example"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Find(email) = %v, %v; want the decision, found by its hashed email", got, err)
	}
	rec := got[0]
	if !hashed.MatchString(rec.Email) {
		t.Errorf("stored email = %q; want a hash that keeps the domain", rec.Email)
	}
	for _, secret := range []string{"Jordan.Lee", "jordan.lee", "555 0100", `"Jordan"`} {
		if strings.Contains(string(rec.Input), secret) {
			t.Errorf("stored input %s holds %q", rec.Input, secret)
		}
	}
	if !strings.Contains(string(rec.Input), "PipelinePro") {
		t.Errorf("stored input %s lost an unmasked field", rec.Input)
	}
	reason := rec.Decision.Knockouts[0].Reason
	if want := rec.Email + " belongs to a competitor"; reason != want {
		t.Errorf("stored reason = %q; want %q", reason, want)
	}

	// The masked input still decides the same: the domain survived.
	in, err := engine.ParseInput(rec.Input)
	if err != nil {
		t.Fatal(err)
	}
	again, err := engine.NewRuleset(s.rs).Score(context.Background(), in, engine.Options{Clock: clock})
	if err != nil || len(again.Knockouts) != 1 || again.Knockouts[0].Rule != "competitor" {
		t.Errorf("re-scored masked input: %+v, %v; want the competitor knockout", again.Knockouts, err)
	}

	// A reader finds the salt in the file.
	l.Close()
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"}); err != nil || len(got) != 1 {
		t.Errorf("reader Find(email) = %v, %v; want one", got, err)
	}
	if got := r.Mask().String(); got != "hash:email,phone,mobile,first_name,last_name,full_name" {
		t.Errorf("reader Mask() = %q", got)
	}
}

func TestMaskSaltOutside(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("hash:email")
	m.Salt = []byte("pepper")
	l, path := open(t, decisionlog.WithMask(m))
	mustLog(t, l, s.entry(t, t0, competitor))
	l.Close()

	if _, err := decisionlog.Open(ctx, path, decisionlog.WithMask(decisionlog.Mask{Mode: decisionlog.MaskHash, Fields: []string{"email"}, Salt: []byte("salt")})); err == nil {
		t.Error("Open with another salt succeeded; want an error (hashes would no longer match)")
	}
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"})
	r.Close()
	if !errors.Is(err, decisionlog.ErrNoSalt) {
		t.Errorf("Find(email) without the salt: %v; want ErrNoSalt", err)
	}
	if _, err := decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Salt: []byte("wrong")})); err == nil {
		t.Error("OpenReader with a wrong salt succeeded; want an error")
	}
	r, err = decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Salt: []byte("pepper")}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"}); err != nil || len(got) != 1 {
		t.Errorf("Find(email) with the salt = %v, %v; want one", got, err)
	}
}

func TestMaskDrop(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("drop:email,lead.phone")
	l, _ := open(t, decisionlog.WithMask(m))
	mustLog(t, l, s.entry(t, t0, competitor))
	got, err := l.Find(ctx, decisionlog.Query{LeadID: "C-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Find = %v, %v", got, err)
	}
	rec := got[0]
	in, err := engine.ParseInput(rec.Input)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Lead["email"]; ok {
		t.Errorf("stored input %s still has the email", rec.Input)
	}
	if _, ok := in.Lead["phone"]; ok {
		t.Errorf("stored input %s still has the phone", rec.Input)
	}
	if in.Lead["first_name"] != "Jordan" {
		t.Errorf("stored input %s lost first_name, which the mask does not name", rec.Input)
	}
	if rec.Email != "" {
		t.Errorf("stored email = %q; want none", rec.Email)
	}
	if want := "[removed] belongs to a competitor"; rec.Decision.Knockouts[0].Reason != want {
		t.Errorf("stored reason = %q; want %q", rec.Decision.Knockouts[0].Reason, want)
	}
	if _, err := l.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"}); !errors.Is(err, decisionlog.ErrEmailDropped) {
		t.Errorf("Find(email) = %v; want ErrEmailDropped", err)
	}
}

func TestMaskBareLeadAndAccount(t *testing.T) {
	s := newScorer(t)
	m, _ := decisionlog.ParseMask("hash:email,account.owner")
	l, _ := open(t, decisionlog.WithMask(m))
	e := s.entry(t, t0, `{"id": "B-1", "email": "kim88@yahoo.com", "company": "", "country": "BR", "owner": "not masked: lead"}`)
	e.Account = map[string]any{"owner": "Pat Smith", "is_customer": false}
	mustLog(t, l, e)
	got, err := l.Find(context.Background(), decisionlog.Query{Email: "KIM88@yahoo.com"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Find(email) = %v, %v", got, err)
	}
	in, err := engine.ParseInput(got[0].Input)
	if err != nil {
		t.Fatal(err)
	}
	if email, _ := in.Lead["email"].(string); !strings.HasSuffix(email, "@yahoo.com") || strings.HasPrefix(email, "kim88") {
		t.Errorf("lead email = %q; want hashed, domain kept", email)
	}
	if in.Lead["owner"] != "not masked: lead" {
		t.Errorf("lead owner = %v; account.owner must not mask the lead's", in.Lead["owner"])
	}
	if owner, _ := in.Account["owner"].(string); !strings.HasPrefix(owner, "masked:") {
		t.Errorf("account owner = %q; want masked", owner)
	}
	if e.Account["owner"] != "Pat Smith" {
		t.Error("masking changed the caller's account")
	}
	for _, k := range got[0].Decision.Knockouts {
		if strings.Contains(k.Reason, "kim88") {
			t.Errorf("reason %q quotes the email", k.Reason)
		}
	}
}
