package decisionlog

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzEncodeJSON holds encodeJSON, the writer's fast path, to its
// reference encodeDoc: for any request, masked or not, with or without an
// account the caller resolved, where the fast path answers it gives the
// same stored input, email, search keys and masked values (with one
// scanner reused from input to input, as the log reuses them).
func FuzzEncodeJSON(f *testing.F) {
	files, _ := filepath.Glob("../examples/leads/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for mode := range uint8(6) {
			f.Add(b, "00Q5e00001AbCdE", "", mode)
		}
	}
	for _, in := range []string{
		`{"id": "x", "lead": {"email": "x", "n": [1, 2.5, -3e400, {"lead": {"email": 1}}]}, "account": null}`,
		`{"email": "", "employees": 9223372036854775807, "title": "\u0000\ud800", "a": {"b": []}}`,
		`{"email": "A@B.example", "company": "Acme Co", "phone": ["1", 2, null, {"x": 1}], "name": null, "email": "c@d.example"}`,
		`{"lead": "x", "company": "Acme", "email": "e@f.example", "account_source": 1}`,
		`{"lead": {"company": ["x"], "email": 5, "name": "\u00e9\"q"}, "account": {"company": "Acme", "owner": {"email": "o@p.example"}}}`,
		`{"employees": -0, "score": 1.50, "big": 12345678901234567890, "neg": -123456789012345678, "t": true, "f": false}`,
		"{\"name\": \"\xff\xfe\", \"company\": \"ok\"} ",
		`{"a": 1} {"b": 2}`, `[1]`, `null`, ``, `{"a": tru}`, `{"a\u0062": 1}`,
	} {
		f.Add([]byte(in), "x", "", uint8(1))
		f.Add([]byte(in), "", "given@example.com", uint8(4))
	}
	var sc scanner
	f.Fuzz(func(t *testing.T, input []byte, leadID, email string, mode uint8) {
		masks := []Mask{
			{Mode: MaskNone},
			{Mode: MaskHash, Fields: DefaultMaskFields, Key: []byte("a key of sixteen bytes or more")},
			{Mode: MaskDrop, Fields: DefaultMaskFields},
			{Mode: MaskHash, Fields: []string{"lead.phone", "account.company", "title", "email"}, Key: []byte("a key of sixteen bytes or more")},
		}
		e := Entry{Input: input, Email: email}
		if mode&4 != 0 {
			e.Account = map[string]any{"company": "Resolved Co", "employees": 40, "is_customer": true}
		}
		m := masks[int(mode)%len(masks)]
		dict := newDictionary([]string{"account.is_customer", "lead.email", "lead.company", "lead.employees", "lead.tech_stack", "lead.title", "lead.name"})
		got, ok := encodeJSON(&sc, e, leadID, dict, m)
		if !ok {
			return
		}
		want := encodeDoc(Entry{Input: bytes.Clone(input), Email: email, Account: e.Account}, leadID, dict, m)
		if !bytes.Equal(got.input, want.input) {
			gotJSON, _ := decodeInput(got.input, dict, leadID, got.email)
			wantJSON, _ := decodeInput(want.input, dict, leadID, want.email)
			t.Fatalf("encodeJSON(%q) stored\n%s\nwant (encodeDoc)\n%s", input, gotJSON, wantJSON)
		}
		if got.email != want.email || got.keepWhole != want.keepWhole {
			t.Fatalf("encodeJSON(%q) = email %q, keepWhole %v; encodeDoc: %q, %v", input, got.email, got.keepWhole, want.email, want.keepWhole)
		}
		// The company read unmasked by one and masked by the other: the
		// search keys skip a masked company.
		if g, w := searchKeys(leadID, got.email, got.company, m), searchKeys(leadID, want.email, want.company, m); !slices.Equal(g, w) {
			t.Fatalf("encodeJSON(%q) search keys %q; encodeDoc: %q", input, g, w)
		}
		if diff := cmp.Diff(pairSet(want.pairs), pairSet(got.pairs)); diff != "" {
			t.Fatalf("encodeJSON(%q) masked values mismatch (-encodeDoc +encodeJSON):\n%s", input, diff)
		}
	})
}

// pairSet is old, new pairs as a sorted list (the reference finds them in
// map order).
func pairSet(pairs []string) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, pairs[i]+" -> "+pairs[i+1])
	}
	slices.Sort(out)
	return out
}

// BenchmarkEncode is the writer's encoding of one request (the example VP
// lead, masking off): from its bytes (encodeJSON) against through a map
// (encodeDoc).
func BenchmarkEncode(b *testing.B) {
	input, err := os.ReadFile("../examples/leads/vp-fintech.json")
	if err != nil {
		b.Fatal(err)
	}
	dict := newDictionary([]string{"account.is_customer", "lead.email", "lead.company", "lead.employees", "lead.tech_stack", "lead.title"})
	e := Entry{Input: input}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		var s scanner
		for b.Loop() {
			if _, ok := encodeJSON(&s, e, "00Q5e00001AbCdE", dict, Mask{Mode: MaskNone}); !ok {
				b.Fatal("not encoded")
			}
		}
	})
	b.Run("doc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encodeDoc(e, "00Q5e00001AbCdE", dict, Mask{Mode: MaskNone})
		}
	})
}
