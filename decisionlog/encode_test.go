package decisionlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// roundTrip encodes a JSON request and decodes it back.
func roundTrip(t *testing.T, input []byte, dict *dictionary, leadID, email string) (doc any, back any) {
	t.Helper()
	m, ok := decodeObject(input)
	if !ok {
		return nil, nil
	}
	enc := encodeInput(m, dict, leadID, email)
	out, err := decodeInput(enc, dict, leadID, email)
	if err != nil {
		t.Fatalf("decodeInput(encodeInput(%s)) = %v", input, err)
	}
	if !json.Valid(out) {
		t.Fatalf("decodeInput gave invalid JSON %s", out)
	}
	norm := func(b []byte) any {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	return norm(mustMarshal(t, m)), norm(out)
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testDict = newDictionary([]string{"account.is_customer", "lead.email", "lead.employees", "lead.tech_stack", "lead.title"})

// FuzzInputEncoding holds encodeInput and decodeInput to being a pair: any
// JSON object comes back equal, and decodeInput never panics on any bytes
// and always gives valid JSON or an error.
func FuzzInputEncoding(f *testing.F) {
	files, _ := filepath.Glob("../examples/leads/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "00Q5e00001AbCdE", "ana.silva@northbank.example")
	}
	f.Add([]byte(`{"id": "x", "lead": {"email": "x", "n": [1, 2.5, -3e400, {"lead": {"email": 1}}]}, "account": null}`), "x", "x")
	f.Add([]byte(`{"email": "", "employees": 9223372036854775807, "title": "\u0000\ud800", "a": {"b": []}}`), "", "")
	f.Fuzz(func(t *testing.T, input []byte, leadID, email string) {
		doc, back := roundTrip(t, input, testDict, leadID, email)
		if doc == nil {
			return
		}
		if !bytes.Equal(mustMarshal(t, doc), mustMarshal(t, back)) {
			t.Fatalf("round trip of %s:\n got %s\nwant %s", input, mustMarshal(t, back), mustMarshal(t, doc))
		}
		// Arbitrary bytes as a stored input: an error or valid JSON.
		if out, err := decodeInput(input, testDict, leadID, email); err == nil && !json.Valid(out) {
			t.Fatalf("decodeInput(%q) = invalid JSON %s", input, out)
		}
	})
}
