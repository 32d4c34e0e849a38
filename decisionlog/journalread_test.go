package decisionlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/leadq/leadq/engine"
)

// FuzzJournalCandidates holds a batch's candidates, the fast path of a
// journal lookup, to the reference, journalQuery.matches on every row
// encoded: every row that matches a lookup by lead id, email or text is
// a candidate, whatever the request, its case, escapes and characters.
func FuzzJournalCandidates(f *testing.F) {
	files, _ := filepath.Glob("../examples/leads/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "00Q5e00001AbCdE", "", "acme")
		f.Add(b, "00Q5e00001AbCdE", "", "00q5e")
	}
	for _, c := range []struct{ input, leadID, email, text string }{
		{`{"id": "L-1", "lead": {"email": "Ann@Acme.Example", "company": "Acme Corp"}}`, "L-1", "", "ann@acme.example"},
		{`{"lead": {"email": "a@b.example", "company": "\u0041cme Co"}}`, "L-2", "", "acme"},
		{`{"lead": {"email": "a@b.example", "company": "` + "\u212a" + `elvin Labs"}}`, "L-3", "", "kelvin"},
		{`{"lead": {"email": "a@b.example", "company": "` + "\u0130" + `stanbul Ltd"}}`, "L-4", "", "istanbul"},
		{"{\n  \"lead\": {\n    \"email\": \"x@y.example\",\n    \"company\": \"Pretty Printed\"\n  }\n}", "L-5", "", "printed"},
		{`{"lead": {"email": "x@y.example", "company": "Keys", "compass": 1}}`, "L-6", "", "comp"},
		{`{"email": "bare@lead.example", "company": "Bare Lead"}`, "L-7", "", "lead"},
		{`{"lead": {"email": "inside@req.example"}}`, "L-8", "Given@Entry.Example", "given@entry.example"},
		{`{"lead": {"email": "  spaced@req.example  ", "company": "  Spaced  Out  "}}`, "L-9", "", "out"},
		{`{"lead": {"email": "a@b.example", "company": 42}}`, "L-10", "", "42"},
		{`{"lead": {"email": "a@b.example", "company": "Müller–Bau GmbH"}}`, "L-11", "", "bau"},
		{`{"lead": {"email": "a@b.example", "company": "Dup"}, "lead": {"email": "c@d.example", "company": "Second"}}`, "L-12", "", "second"},
		{`{"lead": {"email": "a@\tb.example"}}`, "L-13", "", "b.example"},
		{`{"lead": {"email": "q\"uote@b.example"}}`, "L-14", "", `q"uote`},
		{`{"lead": {"email": "first.last@mail.example", "company": "Foo.Bar-Baz 9 Qux"}}`, "L-15", "", "last"},
		{`{"lead": {"email": "first.last@mail.example", "company": "Foo.Bar-Baz 9 Qux"}}`, "L-16", "", "bar"},
		{`{"lead": {"email": "a@ spaced.example", "company": "x"}, "tags": ["acme", "spaced"]}`, "L-17", "", "spaced"},
		{`{"company": "Top Co", "lead": {"email": "a@b.example", "company": "Inner Co"}, "account": {"company": "Acct Co"}}`, "L-18", "", "inner"},
		{`{"lead": {"email" : "Spaced@Colon.Example" , "company" :"Tight"}}`, "L-19", "", "colon.example"},
		{`{"lead": {"email": "a@b.example", "company": "MÜLLER Bau"}}`, "L-20", "", "müller"},
		{`{"lead": {"email": "a@b.example", "company": "\u00c9cole Normale"}}`, "L-21", "", "école"},
		{`{"lead": {"email": "ÉLODIE@B.EXAMPLE"}}`, "L-22", "", "élodie@b.example"},
		{`{"lead": {"email": "a@b.example", "company": "Straße"}}`, "ß-L-23", "", "ß-l"},
	} {
		f.Add([]byte(c.input), c.leadID, c.email, c.text)
	}
	dict := newDictionary([]string{"lead.email", "lead.company", "lead.employees", "lead.title"})
	r := &Reader{versions: map[int64]*version{1: {dict: dict}}}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, input []byte, leadID, email, text string) {
		if !rawObject(input) || leadID != clean(leadID) {
			return // Log keeps no such request as it came (prepare)
		}
		var rows []row
		add := func(in []byte, leadID, email string) {
			x := row{leadID: leadID, email: email, versionID: 1, input: in, raw: true}
			x.id[0], x.id[15] = byte(len(rows)>>8), byte(len(rows))
			rows = append(rows, x)
		}
		add([]byte(`{"lead": {"email": "other@else.example", "company": "Other Inc"}}`), "L-0", "")
		add(input, leadID, email)
		add([]byte(`{"id": 1}`), "", "")
		add(input, strings.ToUpper(leadID), "")
		var data []byte
		var pw partWriter
		for i := range rows {
			data = appendJournal(data, &rows[i])
			addRow(&pw, &rows[i])
		}
		sum := pw.summary()
		b, err := newBatch(s2.Encode(nil, data), int64(len(rows)))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.resolve(ctx, r, []int32{0, 1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		t2 := clean(strings.TrimSpace(text))
		queries := []journalQuery{{leadID: t2}, {email: clean(Mask{Mode: MaskNone}.Email(text))}, {prefix: strings.ToLower(t2)},
			{leadID: t2, email: clean(Mask{Mode: MaskNone}.Email(text)), prefix: strings.ToLower(t2)},
			{leads: slices.DeleteFunc(slices.Sorted(slices.Values([]string{t2, b.row(2).leadID})), func(s string) bool { return s == "" })}}
		for _, q := range queries {
			if zeroQuery(q) {
				continue
			}
			var want, got []int32
			c := b.candidates(q)
			for i := range rows {
				if q.matches(b.row(int32(i))) {
					want = append(want, int32(i))
					if slices.Contains(c, int32(i)) {
						got = append(got, int32(i))
					}
				}
			}
			if !slices.Equal(got, want) {
				x := b.row(1)
				t.Errorf("candidates(%+v) miss matching rows: %v of %v (row 1: email %q, keys %q)", q, got, want, x.email, x.keys)
			}
			// The summary of the journal row (journalparts.go) must not
			// rule out a row a lookup finds.
			if len(want) > 0 && !sum.mayHold(q) {
				t.Errorf("the summary rules out %+v, which rows %v match", q, want)
			}
		}
		// Nor a lookup of each row's id, lead id and email as stored.
		for i := range rows {
			x := b.row(int32(i))
			for _, q := range []journalQuery{{id: &x.id}, {leadID: x.leadID}, {email: x.email}, {leads: slices.DeleteFunc([]string{x.leadID}, func(s string) bool { return s == "" })}} {
				if !zeroQuery(q) && !sum.mayHold(q) {
					t.Errorf("the summary rules out %+v, which row %d matches", q, i)
				}
			}
		}
	})
}

// FuzzScanJournal holds the reading of a batch (scanJournal, decodeRows
// and decodeRow on it) to its writing (appendJournal): whatever the bytes,
// reading never panics; the rows read, written again and read again are
// the same rows (the texts cleaned once, as the writer cleans them), and
// a reader's decodeRow of each is the row decodeRows gives.
func FuzzScanJournal(f *testing.F) {
	var valid []byte
	for i, x := range []row{
		{leadID: "L-1", email: "a@b.example", versionID: 3, qualified: true, tier: "A", score: -7, rules: []byte{1, 2}, input: []byte(`{"id": "L-1"}`), raw: true},
		{leadID: "L-2", email: "c@d.example", versionID: 1, rules: []byte{}, input: []byte{9, 8}, extra: []byte(`{}`), keys: []string{"l-2", "c@d.example"}},
		{leadID: "L-3", versionID: 1, input: []byte{1}, keysLater: true, company: "Acme"},
		{leadID: "L-4", versionID: 2, tier: "B", score: 40, input: []byte{2}, extra: []byte(`{"x":1}`), settle: true, brief: true},
	} {
		x.id[15] = byte(i)
		valid = appendJournal(valid, &x)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add([]byte{})
	f.Add(append(bytes.Clone(valid[:40]), 0xff, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := decodeRows(data, nil)
		found, serr := scanJournal(data, nil)
		if (err != nil) != (serr != nil) || len(found) != len(first) {
			t.Fatalf("scanJournal: %d rows, %v; decodeRows: %d rows, %v", len(found), serr, len(first), err)
		}
		b := &journalBatch{rows: found, data: data}
		for i := range found {
			if d, err := b.decodeRow(int32(i)); err != nil || !sameRow(d, first[i]) {
				t.Errorf("decodeRow(%d) = %+v, %v; decodeRows %+v", i, d, err, first[i])
			}
		}
		again := func(rows []row) []row {
			var data []byte
			for i := range rows {
				data = appendJournal(data, &rows[i])
			}
			read, err := decodeRows(data, nil)
			if err != nil || len(read) != len(rows) {
				t.Fatalf("%d rows written, %d read back, %v", len(rows), len(read), err)
			}
			return read
		}
		second := again(first)
		for i := range first {
			w, g := first[i], second[i]
			if g.id != w.id || g.leadID != w.leadID || g.email != w.email || g.versionID != w.versionID || g.qualified != w.qualified ||
				g.tier != clean(w.tier) || g.score != w.score || !bytes.Equal(g.rules, w.rules) || !bytes.Equal(g.input, w.input) ||
				!bytes.Equal(g.extra, w.extra) || (g.extra == nil) != (w.extra == nil) || g.raw != w.raw || !slices.Equal(g.keys, w.keys) {
				t.Errorf("row %d read %+v; written and read again %+v", i, w, g)
			}
		}
		for i, r := range again(second) {
			if !sameRow(r, second[i]) {
				t.Errorf("row %d written and read twice: %+v, then %+v", i, second[i], r)
			}
		}
	})
}

// sameRow reports whether two rows read from the journal are the same.
func sameRow(a, b row) bool {
	return a.id == b.id && a.leadID == b.leadID && a.email == b.email && a.versionID == b.versionID && a.qualified == b.qualified &&
		a.tier == b.tier && a.score == b.score && bytes.Equal(a.rules, b.rules) && bytes.Equal(a.input, b.input) &&
		bytes.Equal(a.extra, b.extra) && (a.extra == nil) == (b.extra == nil) && a.settle == b.settle && a.brief == b.brief &&
		a.raw == b.raw && slices.Equal(a.keys, b.keys) && a.keysLater == b.keysLater && a.company == b.company
}

func TestRarest(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{{"lead.777@", 8}, {"acme", 2}, {"c", 0}, {"company7", 7}, {"zeta", 0}} {
		if got := rarest(c.s); got != c.want {
			t.Errorf("rarest(%q) = %d; want %d", c.s, got, c.want)
		}
	}
}

// addRow adds r to w as Log does: its keys hashed first.
func addRow(w *partWriter, r *row) {
	k := filterKeysOf(r, &scanner{})
	w.add(r.id, &k)
}

// TestPartFilter: a summary's filter holds every key added, and about 1%
// of the others (10 bits a key, 7 probes: 0.8% in theory).
func TestPartFilter(t *testing.T) {
	var w partWriter
	const n = 10000
	for i := range n {
		addRow(&w, &row{leadID: fmt.Sprintf("L-%d", i), email: fmt.Sprintf("l.%d@x.example", i)})
	}
	s := w.summary()
	for i := range n {
		if !s.has(filterLeadID, fmt.Sprintf("L-%d", i)) || !s.has(filterEmail, fmt.Sprintf("l.%d@x.example", i)) {
			t.Fatalf("the filter lost lead L-%d", i)
		}
	}
	wrong := 0
	for i := n; i < 2*n; i++ {
		if s.has(filterLeadID, fmt.Sprintf("L-%d", i)) {
			wrong++
		}
		if s.has(filterEmail, fmt.Sprintf("L-%d", i-n)) { // a lead id taken for an email
			wrong++
		}
	}
	if rate := float64(wrong) / (2 * n); rate > 0.02 {
		t.Errorf("false positives: %.2f%%; want about 1%%", 100*rate)
	}
}

// BenchmarkPartSummary is what a journal row's summary costs the writer a
// decision (partWriter.add, and the filter built once a row of 1,000): of
// raw rows with the lead's email (as the server logs them: the engine read
// it), and without (the request is read for it).
func BenchmarkPartSummary(b *testing.B) {
	entries := leadEntries(b, 1000, engine.Brief)
	for _, withEmail := range []bool{true, false} {
		b.Run(fmt.Sprintf("email=%v", withEmail), func(b *testing.B) {
			rows := make([]row, len(entries))
			for i, e := range entries {
				rows[i] = row{leadID: e.Decision.LeadID, input: e.Input, raw: true}
				if withEmail {
					rows[i].email = requestEmail(b, e)
				}
				rows[i].id[15] = byte(i)
			}
			var w partWriter
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i%len(rows) == 0 {
					w.summary()
					w.reset()
				}
				addRow(&w, &rows[i%len(rows)])
				i++
			}
		})
	}
}

// requestEmail is the lead's email in an entry's request, as the engine
// reads it deciding the lead.
func requestEmail(t testing.TB, e Entry) string {
	t.Helper()
	var d engine.Decision
	email, err := e.Ruleset.ScoreJSONEmail(context.Background(), e.Input, engine.Options{Detail: engine.Brief}, &d)
	if err != nil {
		t.Fatal(err)
	}
	return email
}

// FuzzEmailHash holds Log's hash of an email (emailHash, addEmail)
// to the hash of the email as encodeRaw stores it.
func FuzzEmailHash(f *testing.F) {
	for _, s := range []string{"Ann@Acme.Example", "  spaced@req.example\t", "", " ", "ÉLODIE@B.EXAMPLE", "a\x00b@c", "\u00a0x@y\u00a0", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		want := clean(Mask{Mode: MaskNone}.Email(v))
		var k filterKeys
		k.addEmail(v)
		switch {
		case want == "" && k.n != 0:
			t.Errorf("addEmail(%q) added a key; the stored email is empty", v)
		case want != "" && (k.n != 1 || k.hash[0] != filterHash(filterEmail, want)):
			t.Errorf("addEmail(%q) = %x; want the hash of %q", v, k.hash[:k.n], want)
		}
	})
}

// FuzzLeadEmail holds the emails Log hashes into a journal row's
// filter for a raw row, the engine's (ScoreJSONEmail: the server logs it
// as Entry.Email) or, for an entry without one, the request's
// (leadEmailOf), to the email encodeRaw stores, by the reference
// (encodeDoc); and an entry with the engine's email is stored as the same
// bytes as one without, masked or not.
func FuzzLeadEmail(f *testing.F) {
	for _, s := range []string{
		`{"id": "1", "lead": {"email": " Ann@Acme.Example ", "employees": 5}, "account": {"email": "x@y.example"}}`,
		`{"email": "bare@acme.example", "employees": 5}`,
		`{"lead": null, "email": "top@acme.example"}`,
		`{"lead": 5, "email": "top@acme.example"}`,
		`{"email": "flat@acme.example", "account": {"ltv": 5}}`,
		`{"lead": {"email": "a@b.example", "email": "c@d.example"}}`,
		`{"lead": {"email": "ann\u0040acme.example"}}`,
		`{"lead": {"em\u0061il": "escaped@key.example"}}`,
		`{"lead": {"email": 5}, "email": "top@acme.example"}`,
		`{"lead": {"company": "Acme"}}`,
		"{\"lead\": {\"email\": \"a\xff@b.example\"}}",
		`{"lead": {"email": "\u00c9lodie@B.example"}, "lead": {"email": "last@lead.example"}}`,
	} {
		f.Add([]byte(s))
	}
	rs := B2BSaaS(f)
	none := Mask{Mode: MaskNone}
	f.Fuzz(func(t *testing.T, input []byte) {
		if !rawObject(input) {
			return // a raw row's request is one JSON object
		}
		want := encodeDoc(Entry{Input: input}, "", newDictionary(nil), none).email
		if email, ok := (&scanner{}).leadEmailOf(input); ok && clean(none.Email(email)) != want {
			t.Errorf("leadEmailOf(%q) = %q; encodeRaw stores %q", input, email, want)
		}
		var d engine.Decision
		email, err := rs.ScoreJSONEmail(context.Background(), input, engine.Options{MaxDepth: DecidedDepth}, &d)
		if err != nil || email == "" {
			return
		}
		if clean(none.Email(email)) != want {
			t.Errorf("ScoreJSONEmail(%q) = %q; encodeRaw stores %q", input, email, want)
		}
		dict := newDictionary([]string{"lead.email", "lead.company", "lead.employees"})
		for _, m := range []Mask{none, {Mode: MaskHash, Fields: DefaultMaskFields, Key: []byte("a key of sixteen bytes or more")}} {
			var sc scanner
			without, ok1 := encodeJSON(&sc, Entry{Input: input}, "L", dict, m)
			with, ok2 := encodeJSON(&sc, Entry{Input: input, Email: email}, "L", dict, m)
			if !ok1 || !ok2 {
				without, with = encodeDoc(Entry{Input: input}, "L", dict, m), encodeDoc(Entry{Input: input, Email: email}, "L", dict, m)
			}
			if !bytes.Equal(with.input, without.input) || with.email != without.email {
				t.Errorf("%s: %q with the engine's email %q is stored as %q, %q; without, %q, %q", m, input, email, with.input, with.email, without.input, without.email)
			}
		}
	})
}

// TestEmailUnknownReadByEmailLookups: a raw row whose request Log cannot
// read an email from (not one JSON object: a Decided entry never is,
// but Log does not trust that) marks its part's filter, so that every
// lookup by email reads the part, while lookups by lead id still use the
// filter; a part without such a row is skipped for an email it lacks.
func TestEmailUnknownReadByEmailLookups(t *testing.T) {
	summary := func(rows ...row) partSummary {
		var w partWriter
		for i := range rows {
			addRow(&w, &rows[i])
		}
		return w.summary()
	}
	known := row{raw: true, leadID: "L-1", input: []byte(`{"lead": {"email": "a@b.example"}}`)}
	unknown := row{raw: true, leadID: "L-2", input: []byte(`["email"]`)}
	if k := filterKeysOf(&unknown, &scanner{}); !k.emailUnknown || k.n != 1 {
		t.Fatalf("keys of a request not an object = %+v; want its lead id's and the email unknown", k)
	}
	plain, marked := summary(known), summary(known, unknown)
	q := journalQuery{email: "other@b.example"}
	if plain.mayHold(q) {
		t.Error("a part of known emails may hold another email")
	}
	if !marked.mayHold(q) {
		t.Error("a part with an unknown email is skipped by a lookup by email")
	}
	if marked.mayHold(journalQuery{leadID: "L-3"}) {
		t.Error("an unknown email opened the part to a lookup by lead id")
	}
	if !marked.mayHold(journalQuery{email: "a@b.example"}) || !marked.mayHold(journalQuery{leadID: "L-2"}) {
		t.Error("the part's own keys are not found")
	}
}

// zeroQuery reports whether q selects nothing.
func zeroQuery(q journalQuery) bool {
	return q.id == nil && q.leadID == "" && len(q.leads) == 0 && q.email == "" && q.prefix == "" && q.within == nil
}
