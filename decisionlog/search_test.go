package decisionlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/internal/pgtest"
)

// TestSearch: a rep finds a lead by whatever they have at hand, from its
// start and in any case: id, email, domain, company, a word of the company.
func TestSearch(t *testing.T) { backends(t, testSearch) }

func testSearch(t *testing.T, target string) {
	s := newScorer(t)
	l, _ := openAt(t, target)
	ctx := context.Background()
	vp := readExample(t, "vp-fintech.json") // ana.silva@northbank.example, Northbank
	other := `{"id": "L-2", "lead": {"email": "bo@northbank.example", "company": "North Bank Holdings", "employees": 50}}`
	mustLog(t, l,
		s.entry(t, t0.Add(-2*time.Hour), vp),
		s.entry(t, t0.Add(-1*time.Hour), readExample(t, "competitor.json")),
		s.entry(t, t0, other),
		s.entry(t, t0.Add(-3*time.Hour), vp),
	)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"00Q5e00001AbCdE", []string{"00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}},
		{"00q5e00001", []string{"00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}},                         // id prefix, any case
		{"00Q5e0000", []string{"00Q5e00003KlMnO@08:00", "00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}}, // two leads
		{"ana.silva", []string{"00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}},                          // the start of an email
		{"Ana.Silva@NorthBank.example", []string{"00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}},
		{"northbank.example", []string{"L-2@09:00", "00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}}, // the domain
		{"Northbank", []string{"L-2@09:00", "00Q5e00001AbCdE@07:00", "00Q5e00001AbCdE@06:00"}},         // company, and domain
		{"holdings", []string{"L-2@09:00"}},                                                            // a word of the company
		{"pipelinepro", []string{"00Q5e00003KlMnO@08:00"}},
		{"  nobody  ", nil},
		{"%", nil}, // no pattern syntax
	} {
		got, err := l.Find(ctx, decisionlog.Query{Text: tc.q})
		if err != nil {
			t.Fatalf("Find(%q): %v", tc.q, err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("Find(Text: %q) mismatch (-want +got):\n%s", tc.q, diff)
		}
	}
	// A decision id, as answered, finds that decision.
	all, err := l.Find(ctx, decisionlog.Query{LeadID: "00Q5e00001AbCdE"})
	if err != nil || len(all) != 2 {
		t.Fatalf("Find(lead id) = %v, %v", ids(all), err)
	}
	if got, err := l.Find(ctx, decisionlog.Query{Text: all[1].ID}); err != nil || len(got) != 1 || got[0].ID != all[1].ID {
		t.Errorf("Find(Text: a decision id) = %v, %v; want that decision", ids(got), err)
	}
	if got, err := l.Find(ctx, decisionlog.Query{Text: "00Q5e0000", Limit: 1}); err != nil || len(got) != 1 || got[0].LeadID != "00Q5e00003KlMnO" {
		t.Errorf("Find(prefix, limit 1) = %v, %v; want the latest decision only", ids(got), err)
	}
}

// TestSearchMasked: with emails hashed, the domain and the whole email
// (hashed like the stored one) still find the lead; the start of the
// address does not, since the log does not keep it.
func TestSearchMasked(t *testing.T) {
	s := newScorer(t)
	l, _ := open(t, decisionlog.WithMask(decisionlog.Mask{Mode: decisionlog.MaskHash, Fields: []string{"email"}, Key: testKey}))
	ctx := context.Background()
	mustLog(t, l, s.entry(t, t0, readExample(t, "vp-fintech.json")))
	for q, want := range map[string]int{"northbank.example": 1, "ANA.SILVA@northbank.example": 1, "ana.silva": 0} {
		got, err := l.Find(ctx, decisionlog.Query{Text: q})
		if err != nil || len(got) != want {
			t.Errorf("Find(Text: %q) = %d decisions, %v; want %d", q, len(got), err, want)
		}
	}
}

// TestSearchAfterPruning: the keys of pruned decisions go with them.
func TestSearchAfterPruning(t *testing.T) {
	l, path := open(t, decisionlog.WithRetention(decisionlog.Retention{MaxCount: 1}))
	ctx := context.Background()
	mustLog(t, l, decided("old-1", t0.Add(-time.Hour), true, nil), decided("new-1", t0, true, nil))
	if _, err := l.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := l.Find(ctx, decisionlog.Query{Text: "old"})
	if err != nil || len(got) != 0 {
		t.Errorf("Find(pruned) = %v, %v; want none", ids(got), err)
	}
	if n := countRows(t, path, "search_keys"); n != 1 {
		t.Errorf("search_keys has %d rows after pruning; want 1 (new-1's id; old-1 has no decision left)", n)
	}
}

// TestSearchAfterPruningAndAgain: a lead whose decisions the retention
// deleted, with its keys, is found again once decided again, by the
// writer that stored its keys the first time, whether that writer pruned
// or another one (a replica) did.
func TestSearchAfterPruningAndAgain(t *testing.T) {
	for _, pruner := range []string{"same writer", "another writer"} {
		t.Run(pruner, func(t *testing.T) {
			backends(t, func(t *testing.T, target string) {
				testSearchAfterPruningAndAgain(t, target, pruner == "another writer")
			})
		})
	}
}

func testSearchAfterPruningAndAgain(t *testing.T, target string, another bool) {
	s := newScorer(t)
	ctx := context.Background()
	retention := decisionlog.WithRetention(decisionlog.Retention{MaxAge: 24 * time.Hour})
	var l *decisionlog.Log
	if another {
		l, _ = openAt(t, target)
	} else {
		l, _ = openAt(t, target, retention)
	}
	lead := `{"id": "L-7", "email": "dee@back.example", "company": "Back Again Ltd"}`
	mustLog(t, l, s.entry(t, t0.Add(-48*time.Hour), lead))
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	if another {
		openAt(t, target, retention) // it prunes as it opens
	} else if n, err := l.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want the old decision deleted", n, err)
	}
	if got, err := l.Find(ctx, decisionlog.Query{Text: "back again"}); err != nil || len(got) != 0 {
		t.Fatalf("Find(pruned) = %v, %v; want none", ids(got), err)
	}
	mustLog(t, l, s.entry(t, t0, lead))
	if err := l.Index(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"back again", "dee@", "l-7"} {
		if got, err := l.Find(ctx, decisionlog.Query{Text: q}); err != nil || len(got) != 1 {
			t.Errorf("Find(Text: %q) = %v, %v; want L-7@09:00", q, ids(got), err)
		}
	}
}

// BenchmarkSearch looks leads up in a log of a million decisions (set
// LEADQ_SEARCH_BENCH_N to change it; building the log takes a minute or
// two): by a whole id, an email's start, a domain shared by a thousand
// leads, a company word, and a one-letter prefix.
func BenchmarkSearch(b *testing.B) {
	n := envInt("LEADQ_SEARCH_BENCH_N", 0)
	if n == 0 {
		b.Skip("set LEADQ_SEARCH_BENCH_N=1000000 to build a log of that many decisions")
	}
	l, _ := open(b, decisionlog.WithBuffer(8192), decisionlog.WithBatch(2048))
	ctx := context.Background()
	for i := 0; i < n; i++ {
		e := decided(fmt.Sprintf("00Q%012d", i), t0.Add(time.Duration(i)*time.Millisecond), i%3 == 0, nil, "demo")
		e.Input = []byte(fmt.Sprintf(`{"id": "00Q%012d", "lead": {"email": "person%d@company%d.example", "company": "Company %d Holdings"}}`, i, i, i%1000, i%1000))
		for !l.Log(ctx, e) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"00Q000000123456", "person77777@", "company7.example", "holdings", "c", "P"} {
		b.Run(strings.NewReplacer("@", "_at_", ".", "_").Replace(q), func(b *testing.B) {
			for b.Loop() {
				got, err := l.Find(ctx, decisionlog.Query{Text: q, Limit: 20})
				if err != nil || len(got) == 0 {
					b.Fatalf("Find(%q) = %d, %v", q, len(got), err)
				}
			}
		})
	}
}

// countRows counts a table's rows through a second, read-only connection
// (path is a SQLite file or a PostgreSQL URL).
func countRows(t testing.TB, path, table string) int {
	t.Helper()
	driver, source := "sqlite", "file:"+path+"?mode=ro"
	if decisionlog.IsURL(path) {
		driver, source = "pgx", path
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// TestSearchCommonKeyLatestFirst: a domain shared by more leads than the
// limit shows the latest decisions of any of them, not those of the first
// leads by id.
func TestSearchCommonKeyLatestFirst(t *testing.T) { backends(t, testSearchCommonKeyLatestFirst) }

func testSearchCommonKeyLatestFirst(t *testing.T, target string) {
	l, _ := openAt(t, target)
	ctx := context.Background()
	var es []decisionlog.Entry
	for i := range 30 { // L-00 first and oldest, L-29 last and latest
		e := decided(fmt.Sprintf("L-%02d", i), t0.Add(time.Duration(i)*time.Minute), true, nil)
		e.Input = []byte(fmt.Sprintf(`{"id": "L-%02d", "lead": {"email": "p%d@shared.example"}}`, i, i))
		es = append(es, e)
	}
	mustLog(t, l, es...)
	got, err := l.Find(ctx, decisionlog.Query{Text: "shared.example", Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"L-29@09:29", "L-28@09:28", "L-27@09:27", "L-26@09:26"}, ids(got)); diff != "" {
		t.Errorf("Find(a domain of 30 leads, limit 4) mismatch (-want +got):\n%s", diff)
	}
}

// BenchmarkSearchJournal looks leads up while the journal holds as many
// decisions as it may before the writer indexes as it appends
// (DefaultMaxUnindexed), on each backend: the worst case of a lookup
// during bulk traffic. Each kind of lookup runs "first", a reader's first
// lookup (a reader just opened: it has decoded nothing of the journal;
// opening it is timed apart, "open"), and "warm", the same lookup again
// from a reader that has read the journal before; cpu-ms/op is the
// process's CPU time (a PostgreSQL server's not included), which a
// shared machine moves less than the time; journal-rows/op and
// journal-KiB/op what a first lookup fetched of the journal (its rows'
// data as stored, and their summaries).
func BenchmarkSearchJournal(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			target := filepath.Join(b.TempDir(), "decisions.db")
			if backend == "postgres" {
				target = pgtest.Database(b)
			}
			benchmarkSearchJournal(b, target)
		})
	}
}

func benchmarkSearchJournal(b *testing.B, target string) {
	l, _ := openAt(b, target, decisionlog.WithIndexing(time.Hour, 1<<30))
	ctx := context.Background()
	entries := distinctEntries(b, decisionlog.DefaultMaxUnindexed)
	for _, e := range entries {
		for !l.Log(ctx, e) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if h := l.Health(); h.Unindexed != decisionlog.DefaultMaxUnindexed {
		b.Fatalf("Health().Unindexed = %d; want %d", h.Unindexed, decisionlog.DefaultMaxUnindexed)
	}
	got, err := l.Find(ctx, decisionlog.Query{LeadID: "00Q00000777"})
	if err != nil || len(got) != 1 {
		b.Fatalf("Find(00Q00000777) = %d, %v", len(got), err)
	}
	id := got[0].ID
	type lookup struct {
		name string
		do   func(*decisionlog.Reader) (int, error)
		none bool // finds nothing
	}
	find := func(q decisionlog.Query) func(*decisionlog.Reader) (int, error) {
		return func(r *decisionlog.Reader) (int, error) {
			got, err := r.Find(ctx, q)
			return len(got), err
		}
	}
	lookups := []lookup{
		{"id", func(r *decisionlog.Reader) (int, error) {
			_, err := r.Get(ctx, id)
			return 1, err
		}, false},
		{"lead_id", find(decisionlog.Query{LeadID: "00Q00000777"}), false},
		{"email", find(decisionlog.Query{Email: "lead.777@company77.example"}), false},
		{"text=email_start", find(decisionlog.Query{Text: "lead.777@"}), false},
		{"text=company_word", find(decisionlog.Query{Text: "company7"}), false},
		{"text=domain", find(decisionlog.Query{Text: "company77.example"}), false},
		{"text=one_letter", find(decisionlog.Query{Text: "c", Limit: 20}), false},
		// In every request, in no key: the domains' last part.
		{"text=in_no_key", find(decisionlog.Query{Text: "example"}), true},
		// Outside ASCII, in no request.
		{"text=outside_ascii", find(decisionlog.Query{Text: "müller"}), true},
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			r, err := decisionlog.OpenReader(ctx, l.Path())
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	for _, lk := range lookups {
		b.Run(lk.name+"/first", func(b *testing.B) {
			var cpu time.Duration
			var rows, read int64 // journal rows fetched, and bytes (as stored, summaries included)
			for b.Loop() {
				// Opening the reader (above: a connection, the schema
				// and mask read) is not timed: a server's reader is open.
				b.StopTimer()
				r, err := decisionlog.OpenReader(ctx, l.Path())
				if err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				b.StartTimer()
				cpu0 := cpuTime()
				if n, err := lk.do(r); err != nil || (n == 0) != lk.none {
					b.Fatalf("%s = %d, %v", lk.name, n, err)
				}
				cpu += cpuTime() - cpu0
				b.StopTimer()
				n, data, sums := decisionlog.JournalRead(r)
				rows, read = rows+n, read+data+sums
				r.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(rows)/float64(b.N), "journal-rows/op")
			b.ReportMetric(float64(read)/1024/float64(b.N), "journal-KiB/op")
		})
		b.Run(lk.name+"/warm", func(b *testing.B) {
			if n, err := lk.do(l.Reader); err != nil || (n == 0) != lk.none {
				b.Fatalf("%s = %d, %v", lk.name, n, err)
			}
			cpu0 := cpuTime()
			for b.Loop() {
				if n, err := lk.do(l.Reader); err != nil || (n == 0) != lk.none {
					b.Fatalf("%s = %d, %v", lk.name, n, err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestSearchKeysOfARepeatedLead: a lead decided again with another email
// or company is found by the new ones as by the old, whether the writer
// that stored its first keys is the same (it remembers the leads it keyed)
// or another one (a replica, a restart).
func TestSearchKeysOfARepeatedLead(t *testing.T) { backends(t, testSearchKeysOfARepeatedLead) }

func testSearchKeysOfARepeatedLead(t *testing.T, target string) {
	s := newScorer(t)
	ctx := context.Background()
	lead := func(email, company string) string {
		return `{"id": "L-1", "email": "` + email + `", "company": "` + company + `", "employees": 120}`
	}
	index := func(l *decisionlog.Log) {
		t.Helper()
		if err := l.Index(ctx); err != nil {
			t.Fatal(err)
		}
		if h := l.Health(); h.Unindexed != 0 {
			t.Fatalf("Health().Unindexed = %d after Index; want 0", h.Unindexed)
		}
	}
	first, err := decisionlog.Open(ctx, target, decisionlog.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	mustLog(t, first, s.entry(t, t0.Add(-3*time.Hour), lead("ann@acme.example", "Acme Widgets")))
	index(first)
	mustLog(t, first, s.entry(t, t0.Add(-2*time.Hour), lead("ann@newco.example", "Newco Labs")))
	index(first)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, _ := openAt(t, target)
	mustLog(t, second,
		s.entry(t, t0.Add(-1*time.Hour), lead("ann@third.example", "Third Works")),
		s.entry(t, t0, `{"id": "L-2", "email": "bo@acme.example", "company": "Acme Widgets"}`),
	)
	index(second)
	all := []string{"L-1@08:00", "L-1@07:00", "L-1@06:00"}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"ann@acme", all},
		{"newco", all}, // a key of the second decision, by the same writer
		{"ann@newco.example", all},
		{"third", all}, // by another writer
		{"ann@third", all},
		{"acme", append([]string{"L-2@09:00"}, all...)},
		{"bo@", []string{"L-2@09:00"}},
	} {
		got, err := second.Find(ctx, decisionlog.Query{Text: tc.q})
		if err != nil {
			t.Fatalf("Find(%q): %v", tc.q, err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("Find(Text: %q) mismatch (-want +got):\n%s", tc.q, diff)
		}
	}
}

// TestSearchKeysRace: another replica inserts a key of the same lead while
// the indexer moves its decision (the lead sent twice, to two replicas;
// here a transaction that commits the key while the indexer waits for it):
// the indexer skips that key instead of failing the chunk.
func TestSearchKeysRace(t *testing.T) {
	target := pgtest.Database(t)
	s := newScorer(t)
	ctx := context.Background()
	l, _ := openAt(t, target, decisionlog.WithIndexing(time.Hour, 1<<20))
	mustLog(t, l, s.entry(t, t0, `{"id": "L-9", "email": "cy@race.example", "company": "Race Co"}`))
	db, err := sql.Open("pgx", target)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	other, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `INSERT INTO search_keys (key, lead_id) VALUES ('race.example', 'L-9')`); err != nil {
		t.Fatal(err)
	}
	indexed := make(chan error, 1)
	go func() { indexed <- l.Index(ctx) }()
	// The indexer's insert waits for the other transaction's key.
	for waiting := 0; waiting == 0; {
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-indexed:
			t.Fatalf("Index returned (%v) before the other transaction committed", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-indexed; err != nil {
		t.Fatalf("Index: %v", err)
	}
	if h := l.Health(); h.Unindexed != 0 {
		t.Errorf("Health().Unindexed = %d; want 0", h.Unindexed)
	}
	for _, q := range []string{"race.example", "cy@race", "race co", "l-9"} {
		if got, err := l.Find(ctx, decisionlog.Query{Text: q}); err != nil || len(got) != 1 {
			t.Errorf("Find(Text: %q) = %v, %v; want L-9's decision", q, ids(got), err)
		}
	}
	var keys int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM search_keys WHERE lead_id = 'L-9'`).Scan(&keys); err != nil || keys != 5 {
		t.Errorf("L-9 has %d search keys (%v); want 5", keys, err)
	}
}
