package decisionlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/s2"
	"github.com/leadq/leadq/engine"
)

// TestJournalKeysLater holds a journal row whose search keys are computed
// when read (flag 4: the company stored instead) to the keys prepare
// computed before, and reads rows of both forms in one batch.
func TestJournalKeysLater(t *testing.T) {
	for _, tc := range []struct {
		name, leadID, email string
		company             any
	}{
		{"all", "00Q-1", "Ann@Example.COM", "Acme Widgets Holdings"},
		{"no company", "00Q-2", "b@example.com", nil},
		{"company not a string", "00Q-3", "c@example.com", 42.0},
		{"blank company", "00Q-4", "", "  "},
		{"odd text", "00Q-5\x00", "d@\xffexample.com", "Ünïcode & Co. — x\x00y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := row{leadID: clean(tc.leadID), email: clean(tc.email), rules: []byte{}, input: []byte{1}}
			before.keys = leadKeys(before.leadID, before.email, tc.company, Mask{Mode: MaskNone})
			later := before
			later.keys, later.keysLater = nil, true
			later.company, _ = tc.company.(string)
			data := appendJournal(appendJournal(nil, &before), &later)
			rows, err := decodeJournal(s2.Encode(nil, data), nil)
			if err != nil || len(rows) != 2 {
				t.Fatalf("decodeJournal = %d rows, %v; want 2, nil", len(rows), err)
			}
			if diff := cmp.Diff(before.keys, rows[0].keys); diff != "" {
				t.Errorf("keys stored (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.keys, rows[1].keys); diff != "" {
				t.Errorf("keys computed when read (-want +got):\n%s", diff)
			}
			fresh := later
			fresh.fillKeys()
			if diff := cmp.Diff(before.keys, fresh.keys); diff != "" {
				t.Errorf("fillKeys (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRawEncodedAsPrepared holds what prepare leaves to the journal's
// readers (a request without a mask, stored raw) to what it encoded
// before: the same input, email and search keys once read back
// (appendJournal, decodeJournal, encodeRaw).
func TestRawEncodedAsPrepared(t *testing.T) {
	rs := B2BSaaS(t)
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	leads, err := filepath.Glob("../examples/leads/*.json")
	if err != nil || len(leads) == 0 {
		t.Fatalf("no example leads: %v", err)
	}
	inputs := []string{
		`{"id": "L-1", "email": "ann@acme.example", "company": "Acme Widgets Holdings", "country": "DE", "employees": 120}`,
		`{"lead": {"id": "L-2", "email": " Bob@Acme.example ", "company": "Acme"}, "account": {"employees": 50}}`,
		`{"id": "L-3", "email": "c@\u00e9x.example", "company": "Caf\u00e9 \"Zed\"", "tags": ["a", {"b": 1}], "x": 1e400}`,
		`{"id": "L-4", "id": "L-4b", "email": "d@x.example", "company": 42}`,
		"{\"id\": \"L-5\", \"email\": \"e@x.example\", \"company\": \"bad \xff utf8\"}",
		`{"email": "nolead@x.example"}`,
	}
	for _, f := range leads {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(b))
	}
	n := 0
	for i, input := range inputs {
		for _, email := range []string{"", "given@x.example"} {
			d, err := rs.ScoreJSON(ctx, []byte(input), engine.Options{Detail: engine.Brief})
			if err != nil {
				continue // not a lead the engine scores
			}
			e := Entry{Time: time.Now(), Decision: d, Ruleset: rs, Input: []byte(input), Email: email}
			n++
			var r row
			l.prepare(&e, &r, &scratch{})
			if !r.raw {
				t.Errorf("input %d: prepare did not leave it raw", i)
				continue
			}
			dict := l.dictionary(rs.Ruleset)
			want, ok := encodeJSON(&scanner{}, e, d.LeadID, dict, Mask{Mode: MaskNone})
			if !ok {
				want = encodeDoc(e, d.LeadID, dict, Mask{Mode: MaskNone})
			}
			var wantKeys []string
			if d.LeadID != "" {
				wantKeys = leadKeys(d.LeadID, want.email, want.company, Mask{Mode: MaskNone})
			}
			id, err := l.versionID(ctx, partVersion{name: r.ruleset, version: r.version, sources: r.sources})
			if err != nil {
				t.Fatal(err)
			}
			r.versionID = id
			got, err := decodeJournal(s2.Encode(nil, appendJournal(nil, &r)), nil)
			if err != nil || len(got) != 1 {
				t.Fatalf("decodeJournal = %d rows, %v", len(got), err)
			}
			if err := l.encodeRaw(ctx, got); err != nil {
				t.Fatal(err)
			}
			g := got[0]
			if g.raw || !bytes.Equal(g.input, want.input) || g.email != want.email || !cmp.Equal(g.keys, wantKeys) || g.extra != nil {
				t.Errorf("input %d, email %q: read back as input %x, email %q, keys %q; want %x, %q, %q",
					i, email, g.input, g.email, g.keys, want.input, want.email, wantKeys)
			}
		}
	}
	if n < 2*len(inputs)-4 {
		t.Errorf("%d of %d requests scored; want all but a few", n, 2*len(inputs))
	}
}
