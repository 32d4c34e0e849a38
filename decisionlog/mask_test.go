package decisionlog_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
		if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreUnexported(decisionlog.Mask{})); diff != "" {
			t.Errorf("ParseMask(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

// competitor is a lead whose knockout reason quotes its email, and whose
// phone and name are personal data.
const competitor = `{"id": "C-1", "lead": {"email": "Jordan.Lee@pipelinepro.example", "phone": "+1 555 0100",
	"first_name": "Jordan", "company": "PipelinePro", "seniority": "vp", "employees": 300, "country": "US"}}`

// testKey is the masking key of the tests, as an operator would keep it in
// a file or an environment variable.
var testKey = []byte("k3y-kept-outside-the-log")

var hashed = regexp.MustCompile(`^[0-9a-f]{32}@pipelinepro\.example$`)

func TestMaskHash(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("hash")
	m.Key = testKey
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
	if strings.Contains(string(rec.Input), "PipelinePro") {
		t.Errorf("stored input %s holds the company, which is masked by default", rec.Input)
	}
	if !strings.Contains(string(rec.Input), `"seniority":"vp"`) {
		t.Errorf("stored input %s lost an unmasked field", rec.Input)
	}
	reason := rec.Decision.Knockouts[0].Reason
	if want := rec.Email + " belongs to a competitor"; reason != want {
		t.Errorf("stored reason = %q; want %q", reason, want)
	}

	// The masked input still decides the same: the domain survived.
	if reason := rec.Decision.Knockouts[0].Reason; !strings.HasSuffix(reason, "@pipelinepro.example belongs to a competitor") || strings.Contains(reason, "jordan") {
		t.Errorf("rebuilt reason = %q; want the hashed email's", reason)
	}
	in, err := engine.ParseInput(rec.Input)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.rs.Score(context.Background(), in, engine.Options{Clock: clock})
	if err != nil || len(again.Knockouts) != 1 || again.Knockouts[0].Rule != "competitor" {
		t.Errorf("re-scored masked input: %+v, %v; want the competitor knockout", again.Knockouts, err)
	}

	// A reader given the key finds the lead by email.
	l.Close()
	r, err := decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Key: testKey}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"}); err != nil || len(got) != 1 {
		t.Errorf("reader Find(email) = %v, %v; want one", got, err)
	}
	if got := r.Mask().String(); got != "hash:email,phone,mobile,name,first_name,last_name,full_name,contact_name,company" {
		t.Errorf("reader Mask() = %q", got)
	}
}

func TestMaskKey(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("hash:email")
	if _, err := decisionlog.Open(ctx, filepath.Join(t.TempDir(), "x.db"), decisionlog.WithMask(m)); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("Open(hash without a key) = %v; want an error asking for the key", err)
	}
	m.Key = []byte("short")
	if _, err := decisionlog.Open(ctx, filepath.Join(t.TempDir(), "x.db"), decisionlog.WithMask(m)); err == nil {
		t.Error("Open(hash with a 5-byte key) succeeded; want an error")
	}
	m.Key = []byte("pepper pepper pepper")
	l, path := open(t, decisionlog.WithMask(m))
	mustLog(t, l, s.entry(t, t0, competitor))
	l.Close()

	if _, err := decisionlog.Open(ctx, path, decisionlog.WithMask(decisionlog.Mask{Mode: decisionlog.MaskHash, Fields: []string{"email"}, Key: []byte("another key, long enough")})); err == nil {
		t.Error("Open with another key succeeded; want an error (hashes would no longer match)")
	}
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"})
	r.Close()
	if !errors.Is(err, decisionlog.ErrNoKey) {
		t.Errorf("Find(email) without the key: %v; want ErrNoKey", err)
	}
	if _, err := decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Key: []byte("wrong")})); err == nil {
		t.Error("OpenReader with a wrong key succeeded; want an error")
	}
	r, err = decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Key: []byte("pepper pepper pepper")}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Find(ctx, decisionlog.Query{Email: "jordan.lee@pipelinepro.example"}); err != nil || len(got) != 1 {
		t.Errorf("Find(email) with the key = %v, %v; want one", got, err)
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
	m.Key = testKey
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

// TestMaskResistsDictionaryAttack is the attack of issue 17: with the log
// file alone, hash name-pattern guesses at each stored domain and compare
// them with the stored email hashes. Every key the log could give away (no
// key, each value it stores) recovers nothing; the real key, which the log
// never holds, recovers every address, which shows the attack itself works.
func TestMaskResistsDictionaryAttack(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	m, _ := decisionlog.ParseMask("hash")
	m.Key = testKey
	l, path := open(t, decisionlog.WithMask(m))
	files, _ := filepath.Glob("../examples/leads/*.json")
	var emails []string
	for _, f := range files {
		lead := readExample(t, filepath.Base(f))
		var doc struct {
			Email string // a bare lead's
			Lead  struct{ Email string }
		}
		json.Unmarshal([]byte(lead), &doc)
		if e := doc.Email + doc.Lead.Email; e != "" {
			emails = append(emails, strings.ToLower(e))
		}
		mustLog(t, l, s.entry(t, t0, lead))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(emails) < 4 {
		t.Fatalf("%d example emails; want several", len(emails))
	}

	// What the attacker reads: the stored hashes, and everything the file holds.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, testKey) {
		t.Fatal("the log file holds the masking key")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT email FROM decisions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		rows.Scan(&e)
		if h, _, ok := strings.Cut(e, "@"); ok {
			stored[h] = true
		}
	}
	rows.Close()
	keys := [][]byte{nil, {}}
	rows, err = db.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		rows.Scan(&k, &v)
		keys = append(keys, []byte(k), []byte(v))
		if b, err := hex.DecodeString(v); err == nil {
			keys = append(keys, b)
		}
	}
	rows.Close()

	// Name-pattern guesses at each domain: the example's own names among
	// common ones, in the usual address patterns.
	firsts := []string{"ana", "jordan", "li", "r", "sam", "alex", "maria", "john", "wei", "chris", "pat", "kim"}
	lasts := []string{"silva", "lee", "wei", "okafor", "smith", "garcia", "chen", "jones", "brown", "khan"}
	var domains []string
	for _, e := range emails {
		_, d, _ := strings.Cut(e, "@")
		domains = append(domains, d)
	}
	for _, e := range emails { // the example's names, whatever they are
		local, _, _ := strings.Cut(e, "@")
		for _, part := range strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
			firsts, lasts = append(firsts, part), append(lasts, part)
		}
	}
	var guesses []string
	for _, d := range domains {
		for _, f := range firsts {
			for _, l := range lasts {
				for _, p := range []string{f + "." + l, f[:1] + "." + l, f + l, f + "_" + l, f, l + "." + f} {
					guesses = append(guesses, p+"@"+d)
				}
			}
		}
	}
	attack := func(key []byte) int {
		found := map[string]bool{}
		for _, g := range guesses {
			h := hmac.New(sha256.New, key)
			h.Write([]byte(g))
			if stored[hex.EncodeToString(h.Sum(nil)[:16])] {
				found[g] = true
			}
		}
		return len(found)
	}
	for _, k := range keys {
		if n := attack(k); n > 0 {
			t.Errorf("with %q from the log, %d of %d guesses matched a stored email", k, n, len(guesses))
		}
	}
	if n := attack(testKey); n != len(stored) {
		t.Errorf("with the real key the attack recovered %d of %d emails; the test's attack is broken", n, len(stored))
	}
}
