package decisionlog_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/pgtest"
)

var (
	t0    = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock = func() time.Time { return t0 }
)

// scorer decides example leads against examples/rulesets with a fixed clock.
type scorer struct {
	rs *engine.Ruleset
}

func newScorer(t testing.TB) scorer {
	t.Helper()
	return scorer{decisionlog.B2BSaaS(t)}
}

// entry scores the request and returns the entry a server would log.
func (s scorer) entry(t testing.TB, at time.Time, input string) decisionlog.Entry {
	t.Helper()
	d, err := s.rs.ScoreJSON(context.Background(), []byte(input), engine.Options{Clock: clock})
	if err != nil {
		t.Fatalf("ScoreJSON(%s): %v", input, err)
	}
	return decisionlog.Entry{Time: at, Decision: d, Ruleset: s.rs, Input: []byte(input)}
}

func readExample(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../examples/leads", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// backends runs test against a SQLite file and, when LEADQ_TEST_POSTGRES
// names a server, a new PostgreSQL database: the same queries serve both.
func backends(t *testing.T, test func(t *testing.T, target string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "decisions.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.Database(t)) })
}

func open(t testing.TB, opts ...decisionlog.Option) (*decisionlog.Log, string) {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "decisions.db"), opts...)
}

func openAt(t testing.TB, path string, opts ...decisionlog.Option) (*decisionlog.Log, string) {
	t.Helper()
	l, err := decisionlog.Open(context.Background(), path, append([]decisionlog.Option{decisionlog.WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func mustLog(t testing.TB, l *decisionlog.Log, es ...decisionlog.Entry) {
	t.Helper()
	for _, e := range es {
		if !l.Log(context.Background(), e) {
			t.Fatalf("Log(%s) = false; want true", e.Decision.LeadID)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ids(recs []decisionlog.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s@%s", r.LeadID, r.Time.Format("15:04")))
	}
	return out
}

func TestFind(t *testing.T) { backends(t, testFind) }

func testFind(t *testing.T, target string) {
	s := newScorer(t)
	l, _ := openAt(t, target)
	ctx := context.Background()
	vp := readExample(t, "vp-fintech.json")
	mustLog(t, l,
		s.entry(t, t0.Add(-2*time.Hour), vp),
		s.entry(t, t0.Add(-1*time.Hour), readExample(t, "competitor.json")),
		s.entry(t, t0, vp),
		s.entry(t, t0.Add(-3*time.Hour), vp), // logged last, happened first
	)

	got, err := l.Find(ctx, decisionlog.Query{LeadID: "00Q5e00001AbCdE"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"00Q5e00001AbCdE@09:00", "00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("Find(lead id) mismatch (-want +got):\n%s", diff)
	}
	rec := got[0]
	if !rec.Decision.Qualified || rec.Decision.Tier != "A" || rec.Decision.Ruleset.Name != "b2b-saas" || len(rec.Decision.Matched) == 0 {
		t.Errorf("stored decision = %+v; want the qualified A of b2b-saas with its reasons", rec.Decision)
	}
	if rec.Email != "ana.silva@northbank.example" {
		t.Errorf("Email = %q; want the lead's", rec.Email)
	}
	var in map[string]any
	if err := json.Unmarshal(rec.Input, &in); err != nil || in["lead"] == nil {
		t.Errorf("Input = %s (%v); want the request", rec.Input, err)
	}

	got, err = l.Find(ctx, decisionlog.Query{Email: "  Ana.Silva@NorthBank.example ", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:2], ids(got)); diff != "" {
		t.Errorf("Find(email, limit 2) mismatch (-want +got):\n%s", diff)
	}

	byID, err := l.Get(ctx, got[1].ID)
	if err != nil || byID.Time != got[1].Time || byID.ID != got[1].ID {
		t.Errorf("Get(%s) = %v, %v; want the record found", got[1].ID, byID, err)
	}
	for _, id := range []string{"0193a000-0000-7000-8000-000000000000", "999", ""} {
		if _, err := l.Get(ctx, id); !errors.Is(err, decisionlog.ErrNotFound) {
			t.Errorf("Get(%q) error = %v; want ErrNotFound", id, err)
		}
	}
	if got, err := l.Find(ctx, decisionlog.Query{LeadID: "nobody"}); err != nil || len(got) != 0 {
		t.Errorf("Find(unknown) = %v, %v; want none", got, err)
	}
	if _, err := l.Find(ctx, decisionlog.Query{}); err == nil {
		t.Error("Find(no id, no email) succeeded; want an error")
	}
}

// TestLogDropsWhenFull holds SQLite's write lock from another connection, so
// that the writer blocks inside its first transaction: Log must keep
// returning at once, accept what the buffer holds, and drop and count the
// rest. Once the lock is released, Close stores every accepted entry.
func TestLogDropsWhenFull(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	const buffer, batch = 4, 1
	var logged syncBuffer
	l, path := open(t, decisionlog.WithBuffer(buffer), decisionlog.WithBatch(batch), decisionlog.WithOverflow(decisionlog.OverflowDrop),
		decisionlog.WithWarnEvery(20*time.Millisecond), decisionlog.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))

	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	e := s.entry(t, t0, readExample(t, "vp-fintech.json"))
	const n = 200
	accepted := 0
	start := time.Now()
	for range n {
		if l.Log(ctx, e) {
			accepted++
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("%d Log calls took %v with the writer blocked; Log must not wait", n, d)
	}
	if accepted == 0 || accepted > buffer+batch {
		t.Errorf("accepted %d entries with a blocked writer; want 1 to %d (buffer + batch in hand)", accepted, buffer+batch)
	}
	if got := l.Dropped(); got != uint64(n-accepted) {
		t.Errorf("Dropped() = %d; want %d", got, n-accepted)
	}
	// The drops are logged as warnings with their counts, not one line each.
	want := fmt.Sprintf("dropped_total=%d", n-accepted)
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logged.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no warning with %q in the log:\n%s", want, logged.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// At most one warning each WithWarnEvery (20 ms) since the first drop:
	// Log encodes on the caller's goroutine, so on a busy machine (or
	// under the race detector) the 200 calls may span a few periods.
	limit := 2 + int(time.Since(start)/(20*time.Millisecond))
	if c := strings.Count(logged.String(), "decisions dropped"); c > limit || c >= n-accepted {
		t.Errorf("%d warnings about %d drops in %v; want at most %d, with counts:\n%s", c, n-accepted, time.Since(start), limit, logged.String())
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := l.Written(); got != uint64(accepted) || l.Failed() != 0 {
		t.Errorf("Written(), Failed() = %d, %d; want %d, 0: a locked file must be waited for, not given up on", got, l.Failed(), accepted)
	}
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Count(ctx); err != nil || got != accepted {
		t.Errorf("Count() = %d, %v after Close; want %d", got, err, accepted)
	}
}

func TestCloseFlushes(t *testing.T) { backends(t, testCloseFlushes) }

func testCloseFlushes(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	l, path := openAt(t, target, decisionlog.WithBuffer(5000), decisionlog.WithBatch(64))
	e := s.entry(t, t0, readExample(t, "director-logistics.json"))
	const n = 1000
	for range n {
		if !l.Log(ctx, e) {
			t.Fatal("Log dropped with room in the buffer")
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
	if l.Log(ctx, e) {
		t.Error("Log after Close = true; want false")
	}
	if got := l.Dropped(); got != 1 {
		t.Errorf("Dropped() = %d; want 1 (the entry logged after Close)", got)
	}
	if err := l.Flush(ctx); !errors.Is(err, decisionlog.ErrClosed) {
		t.Errorf("Flush after Close = %v; want ErrClosed", err)
	}
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Count(ctx); err != nil || got != n {
		t.Errorf("Count() = %d, %v; want %d: Close must write everything accepted", got, err, n)
	}
}

// TestLogConcurrentClose logs from many goroutines while the log closes:
// no panic, no race, and every accepted entry is stored.
func TestLogConcurrentClose(t *testing.T) {
	s := newScorer(t)
	ctx := context.Background()
	l, path := open(t, decisionlog.WithBuffer(64))
	e := s.entry(t, t0, readExample(t, "vp-fintech.json"))
	var wg, running sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	running.Add(8)
	for range 8 {
		wg.Go(func() {
			n := 0
			for i := range 500 {
				if l.Log(ctx, e) {
					n++
				}
				if i == 10 {
					running.Done()
				}
			}
			mu.Lock()
			accepted += n
			mu.Unlock()
		})
	}
	running.Wait() // close while they log
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := l.Dropped() + uint64(accepted); got != 8*500 {
		t.Errorf("accepted + dropped = %d; want %d", got, 8*500)
	}
	r, err := decisionlog.OpenReader(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.Count(ctx); err != nil || got != accepted {
		t.Errorf("Count() = %d, %v; want %d accepted", got, err, accepted)
	}
}

func TestAccountStoredWithInput(t *testing.T) {
	s := newScorer(t)
	l, _ := open(t)
	bare := `{"id": "L-1", "email": "kim@acme.example", "employees": 250}`
	e := s.entry(t, t0, bare)
	e.Account = map[string]any{"is_customer": true}
	mustLog(t, l, e)
	got, err := l.Find(context.Background(), decisionlog.Query{LeadID: "L-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Find = %v, %v", got, err)
	}
	in, err := engine.ParseInput(got[0].Input)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != "L-1" || in.Lead["email"] != "kim@acme.example" || in.Account["is_customer"] != true {
		t.Errorf("stored input = %s; want the bare lead wrapped with the resolved account", got[0].Input)
	}
	var doc map[string]any
	if err := json.Unmarshal(got[0].Input, &doc); err != nil || doc[decisionlog.AccountSource] != decisionlog.AccountResolved {
		t.Errorf("stored input = %s; want the account marked as resolved", got[0].Input)
	}

	// An account sent with the lead wins: the resolved one is not stored.
	e = s.entry(t, t0, `{"id": "L-2", "lead": {"email": "kim@acme.example"}, "account": {"is_customer": false}}`)
	e.Account = map[string]any{"is_customer": true}
	mustLog(t, l, e)
	got, err = l.Find(context.Background(), decisionlog.Query{LeadID: "L-2"})
	if err != nil || len(got) != 1 {
		t.Fatalf("Find = %v, %v", got, err)
	}
	if strings.Contains(string(got[0].Input), decisionlog.AccountResolved) || !strings.Contains(string(got[0].Input), `"is_customer":false`) {
		t.Errorf("stored input = %s; want the request's own account, unmarked", got[0].Input)
	}
}

func TestOpenReaderMissingFile(t *testing.T) {
	_, err := decisionlog.OpenReader(context.Background(), filepath.Join(t.TempDir(), "none.db"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReader(missing) error = %v; want os.ErrNotExist", err)
	}
	notLog := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(notLog, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := decisionlog.OpenReader(context.Background(), notLog); err == nil || !strings.Contains(err.Error(), notLog) {
		t.Errorf("OpenReader(not a database) error = %v; want one naming the file", err)
	}
}

// syncBuffer is a bytes.Buffer for a logger written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
