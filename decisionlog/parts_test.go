package decisionlog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/pgtest"
	"github.com/leadq/leadq/rules"
)

// TestRelabel: the rows of a part of local versions carry positions in
// the part's versions, which the writer replaces by the versions' ids
// (relabel): ids of several bytes as uvarints, where the positions took
// one, and the rest of every row as it was.
func TestRelabel(t *testing.T) {
	rows := []row{
		{id: [16]byte{1}, leadID: "L-1", email: "a@x.example", versionID: 0, tier: "A", score: 70, rules: []byte{1, 2}, input: []byte(`{"a":1}`), raw: true},
		{id: [16]byte{2}, leadID: "L-2", email: "", versionID: 1, qualified: true, tier: "B", score: -3, rules: []byte{}, input: []byte(`{}`), extra: []byte(`{"x":2}`)},
		{id: [16]byte{3}, leadID: "", email: "c@x.example", versionID: 0, tier: "", input: []byte(`{"c":3}`), keys: []string{"k1", "k2"}},
	}
	var data []byte
	for i := range rows {
		data = appendJournal(data, &rows[i])
	}
	ids := []int64{300, 1 << 40}
	got, err := relabel(data, ids)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := range rows {
		r := rows[i]
		r.versionID = ids[r.versionID]
		want = appendJournal(want, &r)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("relabel =\n%x\nwant\n%x", got, want)
	}
	if _, err := relabel(data, ids[:1]); err == nil {
		t.Error("relabel with a position past the ids: no error")
	}
}

// TestVersionsStoredWhileFilling: an entry of a ruleset version the writer
// has not stored yet, after entries of a stored one in the part being
// filled, starts a part of its own whose rows point at the version by
// position until the writer stores it (parts.go). The writer is held
// while versions alternate, so that every entry waits in a part; each
// decision is then read back as decided by its own version.
func TestVersionsStoredWhileFilling(t *testing.T) {
	ctx := context.Background()
	v1, v2 := B2BSaaS(t), anotherVersion(t)
	if v1.Version == v2.Version {
		t.Fatal("the two versions are one")
	}
	l, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"), WithBatch(16), WithBuffer(256))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries := leadEntries(t, 40, engine.Brief)
	mustLogOne := func(e Entry) {
		t.Helper()
		if !l.Log(ctx, e) {
			t.Fatal("dropped")
		}
	}
	mustLogOne(entries[0])
	if err := l.Flush(ctx); err != nil { // v1 is stored
		t.Fatal(err)
	}
	release := holdWriter(l)
	want := map[string]string{entries[0].Decision.ID: v1.Version}
	for i, e := range entries[1:] {
		if i%5 >= 3 { // runs of three of v1, two of v2
			d, err := v2.ScoreJSON(ctx, e.Input, engine.Options{Clock: func() time.Time { return e.Time }, Detail: engine.Brief})
			if err != nil {
				t.Fatal(err)
			}
			d.ID = uuid.Must(uuid.NewV7()).String()
			e.Decision, e.Ruleset = d, v2
		}
		want[e.Decision.ID] = e.Ruleset.Version
		mustLogOne(e)
	}
	release()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for id, version := range want {
		rec, err := l.Get(ctx, id)
		if err != nil {
			t.Fatalf("decision %s: %v", id, err)
		}
		if rec.Decision.Ruleset.Version != version {
			t.Errorf("decision %s read back as of version %.12s; want %.12s", id, rec.Decision.Ruleset.Version, version)
		}
	}
}

// anotherVersion is examples/rulesets' b2b-saas with a comment added to
// its file: the same rules, another version.
func anotherVersion(t *testing.T) *engine.Ruleset {
	dir := t.TempDir()
	files, _ := filepath.Glob("../examples/rulesets/b2b-saas*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), append(data, "\n# another version\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := rules.LoadPaths(dir)
	if err != nil || len(sets) != 1 {
		t.Fatalf("LoadPaths = %d rulesets, %v", len(sets), err)
	}
	return engine.NewRuleset(sets[0])
}

// TestNewVersionAfterWait: an entry of a version not stored yet, whose
// caller hands the part being filled over and waits for a free part, may
// find on waking a part another caller began meanwhile with rows of
// stored versions. It must not join that part (its rows carry ids, and
// the entry has none): it hands that one over too and begins its own.
func TestNewVersionAfterWait(t *testing.T) {
	l := &Log{
		cfg:     newConfig([]Option{WithBatch(16)}),
		stored:  map[string]storedVersion{"v1": {id: 7}},
		free:    make(chan *part, 3),
		full:    make(chan *part, 3),
		started: make(chan struct{}, 1),
		stop:    make(chan struct{}),
	}
	stored := func() *part { // a part holding one row of v1, as Log fills it
		r := row{version: "v1", versionID: 7, input: []byte(`{}`)}
		return &part{data: appendJournal(nil, &r), n: 1}
	}
	first, other := stored(), stored()
	l.cur = first
	done := make(chan bool)
	go func() { done <- l.append(context.Background(), &row{version: "v2", input: []byte(`{}`)}) }()
	// The caller has handed the first part over and waits for a free one
	// (none is free): another caller begins a part of v1, and a part is
	// freed.
	for {
		l.fill.Lock()
		if len(l.full) == 1 {
			break
		}
		l.fill.Unlock()
		time.Sleep(time.Millisecond)
	}
	l.cur = other
	l.free <- &part{}
	l.fill.Unlock()
	if !<-done {
		t.Fatal("the entry was dropped")
	}
	if other.n != 1 || other.versions != nil {
		t.Errorf("the entry joined the part of stored versions another caller began (%d rows)", other.n)
	}
	if p := l.cur; p == nil || p == other || p.n != 1 || len(p.versions) != 1 || p.versions[0].version != "v2" {
		t.Errorf("the part being filled is not one of the entry's own, with its version by position")
	}
	if len(l.full) != 2 {
		t.Errorf("%d parts handed over; want the first and the other caller's", len(l.full))
	}
}

// TestPartsWrittenWithoutFlush: a part that does not fill is written once
// the writer has lingered for it, with no Flush or Close, also when Log
// began it while the writer had yet to see the signal of an earlier part
// (eleven entries at once with batches of eight: one full part, handed
// over, and one of three, begun right after).
func TestPartsWrittenWithoutFlush(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "d.db"), WithBatch(8), WithBuffer(64))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries := leadEntries(t, 11, engine.Brief)
	for _, e := range entries {
		if !l.Log(ctx, e) {
			t.Fatal("dropped")
		}
	}
	for deadline := time.Now().Add(30 * time.Second); l.Written() < uint64(len(entries)); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after Log the writer has written %d of %d entries; the part that did not fill waits", l.Written(), len(entries))
		}
	}
}

// TestRefusedPartWrittenOneByOne: when the database answers but refuses a
// part (here a trigger refuses every journal row), the writer stores its
// decisions one at a time in the indexed tables, and counts and logs the
// ones refused too; the others are found.
func TestRefusedPartWrittenOneByOne(t *testing.T) {
	entries := leadEntries(t, 5, engine.Brief)
	refused := entries[2].Decision.LeadID
	t.Run("sqlite", func(t *testing.T) {
		refusedPartWrittenOneByOne(t, filepath.Join(t.TempDir(), "d.db"), entries,
			`CREATE TRIGGER refuse_parts BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'no journal'); END`,
			`CREATE TRIGGER refuse_lead BEFORE INSERT ON decisions WHEN NEW.lead_id = '`+refused+`' BEGIN SELECT RAISE(ABORT, 'not this lead'); END`)
	})
	t.Run("postgres", func(t *testing.T) {
		refusedPartWrittenOneByOne(t, pgtest.Database(t), entries,
			`CREATE FUNCTION refuse_parts() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'no journal'; END$$`,
			`CREATE TRIGGER refuse_parts BEFORE INSERT ON journal FOR EACH ROW EXECUTE FUNCTION refuse_parts()`,
			`CREATE FUNCTION refuse_lead() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN
				IF NEW.lead_id = '`+refused+`' THEN RAISE EXCEPTION 'not this lead'; END IF;
				RETURN NEW;
			END$$`,
			`CREATE TRIGGER refuse_lead BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION refuse_lead()`)
	})
}

// refusedPartWrittenOneByOne logs entries in parts of 8 to the log at
// target, after the statements that make its database refuse every
// journal row and the decision of entries[2]'s lead.
func refusedPartWrittenOneByOne(t *testing.T, target string, entries []Entry, refuse ...string) {
	ctx := context.Background()
	l, err := Open(ctx, target, WithBatch(8))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	refused := entries[2].Decision.LeadID
	for _, stmt := range refuse {
		if _, err := l.db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range entries {
		if !l.Log(ctx, e) {
			t.Fatal("dropped")
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Written() != 4 || l.Failed() != 1 {
		t.Fatalf("written %d, failed %d; want 4 and the refused lead's 1", l.Written(), l.Failed())
	}
	for _, e := range entries {
		_, err := l.Get(ctx, e.Decision.ID)
		if found := err == nil; found != (e.Decision.LeadID != refused) {
			t.Errorf("lead %s: found %v (%v)", e.Decision.LeadID, found, err)
		}
	}
	if h := l.Health(); !h.OK || h.Queued != 0 {
		t.Errorf("Health after the part = ok %v, %d queued; want ok, none", h.OK, h.Queued)
	}
}
