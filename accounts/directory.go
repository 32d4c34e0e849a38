package accounts

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/leadq/leadq/rules/eval"
)

// DefaultCacheSize is how many domains' lookups a Directory remembers.
const DefaultCacheSize = 10000

// Option configures a Directory; see the With functions.
type Option func(*Directory)

// WithLogger sets the logger for reloads. The default discards.
func WithLogger(l *slog.Logger) Option { return func(d *Directory) { d.log = l } }

// WithCacheSize sets how many domains' lookups are cached (default
// DefaultCacheSize).
func WithCacheSize(n int) Option { return func(d *Directory) { d.cacheSize = n } }

// WithOnReload registers a callback called after every reload attempt with
// the number of domains now served and the reload's error, if any. It is
// called outside the directory's lock.
func WithOnReload(fn func(domains int, err error)) Option {
	return func(d *Directory) { d.onReload = append(d.onReload, fn) }
}

// Directory resolves leads' accounts from an account file. Create it with
// Open.
type Directory struct {
	path      string
	log       *slog.Logger
	cacheSize int
	onReload  []func(int, error)

	cur atomic.Pointer[snapshot] // immutable table, with its own cache
	mu  sync.Mutex               // serialises Reload; Resolve never takes it

	statusMu sync.Mutex
	status   Status
}

// snapshot is one version of the file and the lookups made against it.
type snapshot struct {
	table  *Table
	cache  *lru.Cache[string, lookup]
	loaded time.Time
	hits   atomic.Uint64
	misses atomic.Uint64
}

// lookup is a cached answer for one domain, a miss included.
type lookup struct {
	account map[string]any
	ok      bool
}

// Status is what a Directory reports about its file.
type Status struct {
	Path        string
	Domains     int       // domains that resolve
	Accounts    int       // records in the file
	LoadedAt    time.Time // when the live table was read
	LastReload  time.Time
	LastError   error // of the last attempt; nil when it succeeded
	Reloads     int
	Failures    int
	CacheHits   uint64 // lookups answered from the cache, since the last reload
	CacheMisses uint64
}

// Open reads the account file at path and returns a Directory serving it.
// It fails when the file cannot be read or has errors (an ErrorList).
func Open(ctx context.Context, path string, opts ...Option) (*Directory, error) {
	d := &Directory{path: path, log: slog.New(slog.DiscardHandler), cacheSize: DefaultCacheSize}
	for _, o := range opts {
		o(d)
	}
	if d.cacheSize <= 0 {
		return nil, fmt.Errorf("accounts: cache size must be positive, got %d", d.cacheSize)
	}
	d.status.Path = path
	if err := d.Reload(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// Reload reads the file again and swaps the new table in, with an empty
// cache. On error the previous table stays live and the error is kept in
// Status.
func (d *Directory) Reload(ctx context.Context) error {
	d.mu.Lock()
	next, err := d.read(ctx)
	now := time.Now()
	if err == nil {
		d.cur.Store(next)
	}
	domains := 0
	if cur := d.cur.Load(); cur != nil {
		domains = cur.table.Len()
	}
	d.statusMu.Lock()
	d.status.LastReload = now
	d.status.Reloads++
	d.status.LastError = err
	if err != nil {
		d.status.Failures++
	}
	d.statusMu.Unlock()
	d.mu.Unlock()

	if err != nil {
		d.log.Error("account file reload failed; keeping the last good accounts", "path", d.path, "err", err)
	} else {
		d.log.Info("accounts loaded", "path", d.path, "domains", domains, "accounts", next.table.Accounts())
		if s := next.table.Skipped(); len(s) > 0 {
			d.log.Warn("free-mail domains in the account file never match an account", "path", d.path, "domains", s)
		}
	}
	for _, fn := range d.onReload {
		fn(domains, err)
	}
	return err
}

func (d *Directory) read(ctx context.Context) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(d.path)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	t, err := Parse(d.path, data)
	if err != nil {
		return nil, err
	}
	cache, err := lru.New[string, lookup](d.cacheSize)
	if err != nil {
		return nil, err
	}
	return &snapshot{table: t, cache: cache, loaded: time.Now()}, nil
}

// Resolve returns the account of the lead with this email: the account of
// the email's domain, else of its nearest parent domain in the file. Free
// mail and addresses without a domain never resolve. The map is shared:
// callers must not modify it.
func (d *Directory) Resolve(email string) (map[string]any, bool) {
	s := d.cur.Load()
	domain := eval.Domain(email)
	if s == nil || domain == "" || eval.IsFreeEmail(email) {
		return nil, false
	}
	if l, ok := s.cache.Get(domain); ok {
		s.hits.Add(1)
		return l.account, l.ok
	}
	s.misses.Add(1)
	l := s.find(domain)
	s.cache.Add(strings.Clone(domain), l) // email may be a view of a request buffer that is reused
	return l.account, l.ok
}

// find walks from the domain up to its parents, stopping before a bare
// top-level domain.
func (s *snapshot) find(domain string) lookup {
	for dom := domain; strings.Contains(dom, "."); {
		if a, ok := s.table.byDomain[dom]; ok {
			return lookup{a, true}
		}
		_, dom, _ = strings.Cut(dom, ".")
	}
	return lookup{}
}

// Status returns the live table's size and the outcome of the last reloads.
func (d *Directory) Status() Status {
	d.statusMu.Lock()
	st := d.status
	d.statusMu.Unlock()
	if s := d.cur.Load(); s != nil {
		st.Domains = s.table.Len()
		st.Accounts = s.table.Accounts()
		st.LoadedAt = s.loaded
		st.CacheHits = s.hits.Load()
		st.CacheMisses = s.misses.Load()
	}
	return st
}
