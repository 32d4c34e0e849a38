package decisionlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// Query limits: Find returns DefaultLimit decisions unless asked, MaxLimit
// at most.
const (
	DefaultLimit = 10
	MaxLimit     = 1000
)

// Errors of lookups; test with errors.Is.
var (
	ErrNotFound     = errors.New("no such decision in the log")
	ErrEmailDropped = errors.New("the log does not keep emails (--log-mask drop); look up by lead id")
	ErrNoKey        = errors.New("the log hashes emails with a key kept outside it; give the same key to look up by email")
)

// Reader answers lookups and statistics from a log. A Log embeds one;
// OpenReader opens a log read-only, as `leadq why` and `leadq stats` do
// while servers may be writing it.
type Reader struct {
	db    *db
	mask  Mask
	noKey bool // hashed emails, and no key to hash lookups with

	mu       sync.Mutex
	versions map[int64]*version // by versions.id

	jmu    sync.Mutex       // one read of the journal at a time
	jparts map[int64]*jpart // the journal's rows known, by seq

	// journal rows fetched and decoded, and their bytes as stored, and
	// the bytes of summaries read: for tests and benchmarks
	journalRead, journalBytes, summaryBytes atomic.Int64
}

func newReader(d *db, m Mask) *Reader {
	return &Reader{db: d, mask: m, versions: map[int64]*version{}}
}

// OpenReader opens an existing log, a SQLite file (read-only) or a
// PostgreSQL URL. The mask is read from the log; give WithMask with the key
// to look up hashed emails.
func OpenReader(ctx context.Context, target string, opts ...Option) (*Reader, error) {
	cfg := newConfig(opts)
	d, err := openDB(ctx, target, true)
	if err != nil {
		return nil, err
	}
	r := newReader(d, Mask{})
	if err := r.readMask(ctx, cfg.mask.Key); err != nil {
		d.Close()
		return nil, fmt.Errorf("decision log %s: %w", d.target, err)
	}
	return r, nil
}

func (r *Reader) readMask(ctx context.Context, key []byte) error {
	s, ok, err := getMeta(ctx, r.db, "mask")
	if err != nil {
		return err
	}
	r.mask = Mask{Mode: MaskNone}
	if ok {
		if r.mask, err = ParseMask(s); err != nil {
			return err
		}
	}
	if r.mask.Mode != MaskHash {
		return nil
	}
	if len(key) == 0 {
		r.noKey = true
		return nil
	}
	r.mask.Key = key
	if check, ok, err := getMeta(ctx, r.db, "mask_key_check"); err == nil && ok && check != r.mask.mac(keyCheck) {
		return errors.New("the masking key given is not the one the log was written with")
	}
	return nil
}

// Close closes the database. For a Log, call Log.Close instead.
func (r *Reader) Close() error { return r.db.Close() }

// Path is the log's file or URL (with any password hidden).
func (r *Reader) Path() string { return r.db.target }

// Mask is how the log masks personal data (without the key).
func (r *Reader) Mask() Mask { m := r.mask; m.Key = nil; return m }

// Record is one stored decision. Its JSON is the API's.
type Record struct {
	ID       string          `json:"id"`
	Time     time.Time       `json:"time"`
	LeadID   string          `json:"lead_id"`
	Email    string          `json:"email"` // as stored: masked when the log masks emails
	Decision engine.Decision `json:"decision"`
	Input    json.RawMessage `json:"input"` // the scoring request, masked as configured
}

// Query selects decisions by lead id, by email, or by Text (one of them),
// latest first. Text is what a rep types: the start of a lead id, email,
// email domain, company or word of a company's name, in any case. Limit 0
// means DefaultLimit; it is capped at MaxLimit.
type Query struct {
	LeadID string
	Email  string
	Text   string
	Limit  int
}

// Find returns the decisions about one lead, latest first, or those a
// search by text finds. An email is matched as the log stores it
// (lower-cased, hashed when masked).
func (r *Reader) Find(ctx context.Context, q Query) ([]Record, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var column, value string
	switch {
	case q.Text != "" && q.LeadID == "" && q.Email == "":
		return r.search(ctx, q.Text, limit)
	case q.LeadID != "" && q.Email == "":
		column, value = "lead_id", clean(q.LeadID)
	case q.Email != "" && q.LeadID == "":
		if r.mask.masks("lead", "email") {
			switch {
			case r.mask.Mode == MaskDrop:
				return nil, ErrEmailDropped
			case r.noKey:
				return nil, ErrNoKey
			}
		}
		column, value = "email", clean(r.mask.Email(q.Email))
	default:
		return nil, errors.New("find: give a lead id, an email or a text to search")
	}
	// The journal first, then the indexed table (journal.go).
	jq := journalQuery{email: value}
	if column == "lead_id" {
		jq = journalQuery{leadID: value}
	}
	stored, err := r.journalMatch(ctx, limit, jq)
	if err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	rows, err := r.db.query(ctx, `SELECT `+recordColumns+` FROM decisions
		WHERE `+column+` = ? ORDER BY id DESC LIMIT ?`, value, limit)
	if err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	for rows.Next() {
		var s storedRow
		if err := s.scan(rows); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find: %w", err)
		}
		stored = append(stored, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	out := []Record{}
	for _, s := range latestFirst(stored, limit) {
		rec, err := r.record(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// Get returns one decision by its id, or ErrNotFound.
func (r *Reader) Get(ctx context.Context, id string) (Record, error) {
	u, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return Record{}, fmt.Errorf("decision %q: %w", id, ErrNotFound)
	}
	inJournal, err := r.journalMatch(ctx, 1, journalQuery{id: (*[16]byte)(&u)})
	if err != nil {
		return Record{}, err
	}
	if len(inJournal) > 0 {
		return r.record(ctx, inJournal[0])
	}
	var s storedRow
	err = s.scan(r.db.queryRow(ctx, `SELECT `+recordColumns+` FROM decisions WHERE id = ?`, r.db.idArg(u)))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("decision %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, err
	}
	return r.record(ctx, s)
}

// Count is how many decisions the log holds, in the journal and indexed.
// It reads no journal row's data: each row says how many decisions it
// holds, and one statement counts both tables in one snapshot, so a
// journal row the indexer moves meanwhile (one transaction, journal.go) is
// counted once, before or after.
func (r *Reader) Count(ctx context.Context) (int, error) {
	query := `SELECT (SELECT COUNT(*) FROM decisions) + (SELECT COALESCE(SUM(n), 0) FROM journal)`
	if r.db.noJournal {
		query = `SELECT COUNT(*) FROM decisions`
	}
	var n int
	err := r.db.queryRow(ctx, query).Scan(&n)
	return n, err
}

const recordColumns = `id, lead_id, email, version_id, qualified, tier, score, rules, input, extra`

// storedRow is a row of decisions as stored.
type storedRow struct {
	id               scanID
	leadID, email    string
	versionID        int64
	qualified        bool
	tier             string
	score            int
	rules, input, ex []byte
	// settle, brief: ex is a journal row's masked decision, which the
	// indexer drops when the input rebuilds it (settleExtra); a read
	// checks the same, so that the decision reads the same before and
	// after.
	settle, brief bool
}

func (s *storedRow) scan(sc interface{ Scan(...any) error }) error {
	return sc.Scan(&s.id, &s.leadID, &s.email, &s.versionID, &s.qualified, &s.tier, &s.score, &s.rules, &s.input, &s.ex)
}

// record rebuilds a stored decision: the version that made it decides its
// stored input again, at the time it was made, which gives back the
// decision as answered (reasons, missed rules and missing fields
// included); the row's verdict and rules are checked against it.
func (r *Reader) record(ctx context.Context, s storedRow) (Record, error) {
	id := uuid.UUID(s.id).String()
	rec := Record{ID: id, Time: idTime(s.id), LeadID: s.leadID, Email: s.email}
	v, err := r.version(ctx, s.versionID)
	if err != nil {
		return Record{}, fmt.Errorf("decision %s: %w", id, err)
	}
	if rec.Input, err = decodeInput(s.input, v.dict, s.leadID, s.email); err != nil {
		return Record{}, fmt.Errorf("decision %s: %w", id, err)
	}
	if s.ex != nil && s.settle && v.rs != nil && rebuilds(v.rs, s.input, v.dict, s.leadID, s.email, s.id, s.brief, s.ex) {
		s.ex = nil
	}
	if s.ex != nil {
		if err := json.Unmarshal(s.ex, &rec.Decision); err != nil {
			return Record{}, fmt.Errorf("decision %s: %w", id, err)
		}
		rec.Decision.ID = id
		return rec, nil
	}
	summary := func(why string) engine.Decision {
		d := engine.Decision{ID: id, LeadID: s.leadID, Ruleset: engine.RulesetRef{Name: v.name, Version: v.version},
			Qualified: s.qualified, Tier: s.tier, Score: s.score, Groups: engine.Groups{},
			Knockouts: []engine.Hit{}, Matched: []engine.Hit{}, Missed: []engine.Miss{}, MissingFields: []string{}, Errors: []engine.RuleError{},
			Warnings: []engine.Warning{{Message: why}}}
		for _, rule := range v.fired(s.rules) {
			h := engine.Hit{Rule: rule.id}
			if rule.kind == KindKnockout {
				d.Knockouts = append(d.Knockouts, h)
			} else {
				d.Matched = append(d.Matched, h)
			}
		}
		return d
	}
	if v.rs == nil {
		rec.Decision = summary("the log does not hold the sources of ruleset version " + v.version + ": only the verdict and the rules that fired are shown")
		return rec, nil
	}
	d, err := rebuild(v.rs, rec.Input, rec.Time, false)
	if err != nil {
		rec.Decision = summary("the stored input no longer decides: " + err.Error())
		return rec, nil
	}
	d.ID = id
	if d.Qualified != s.qualified || d.Tier != s.tier || d.Score != s.score || !bytes.Equal(appendRuleIndexes(nil, v.rs.Ruleset, &d), s.rules) {
		rec.Decision = summary("the stored input does not decide as the answer did (a masked value a rule reads?): only the verdict and the rules that fired are shown")
		return rec, nil
	}
	rec.Decision = d
	return rec, nil
}

// version is a row of versions, with the ruleset compiled from its sources.
type version struct {
	name, version string
	dict          *dictionary
	rules         versionRules
	rs            *engine.Ruleset // nil without sources
}

type firedRule struct{ id, kind string }

// fired names the rules of a decision's rules column.
func (v *version) fired(b []byte) []firedRule {
	var out []firedRule
	for len(b) > 0 {
		i, n := binary.Uvarint(b)
		if n <= 0 {
			break
		}
		b = b[n:]
		switch {
		case i < uint64(len(v.rules.Knockouts)):
			out = append(out, firedRule{v.rules.Knockouts[i], KindKnockout})
		case i < uint64(len(v.rules.Knockouts)+len(v.rules.Score)):
			out = append(out, firedRule{v.rules.Score[i-uint64(len(v.rules.Knockouts))], KindScore})
		}
	}
	return out
}

// version loads and compiles a ruleset version once per Reader (once it
// has its sources).
func (r *Reader) version(ctx context.Context, id int64) (*version, error) {
	r.mu.Lock()
	v, ok := r.versions[id]
	r.mu.Unlock()
	if ok {
		return v, nil
	}
	var fields, rulesJSON string
	var sources []byte
	v = &version{}
	if err := r.db.queryRow(ctx, `SELECT ruleset, version, fields, rules, sources FROM versions WHERE id = ?`, id).
		Scan(&v.name, &v.version, &fields, &rulesJSON, &sources); err != nil {
		return nil, fmt.Errorf("ruleset version %d: %w", id, err)
	}
	var names []string
	if err := json.Unmarshal([]byte(fields), &names); err != nil {
		return nil, fmt.Errorf("ruleset version %s: fields: %w", v.version, err)
	}
	v.dict = newDictionary(names)
	if err := json.Unmarshal([]byte(rulesJSON), &v.rules); err != nil {
		return nil, fmt.Errorf("ruleset version %s: rules: %w", v.version, err)
	}
	if sources != nil {
		var src versionSources
		if err := json.Unmarshal(sources, &src); err != nil {
			return nil, fmt.Errorf("ruleset version %s: sources: %w", v.version, err)
		}
		var files []*rules.File
		for _, f := range src.Files {
			pf, err := rules.Parse(f.Name, []byte(f.Src))
			if err != nil {
				return nil, fmt.Errorf("ruleset version %s: %w", v.version, err)
			}
			files = append(files, pf)
		}
		rs, err := rules.Compile(files...)
		if err != nil {
			return nil, fmt.Errorf("ruleset version %s no longer compiles: %w", v.version, err)
		}
		if rs.Version == v.version {
			v.rs = engine.NewRuleset(rs)
		}
	}
	if sources != nil {
		// A version without sources is read again next time: a writer
		// may store them later (with its dictionary and rule list).
		r.mu.Lock()
		r.versions[id] = v
		r.mu.Unlock()
	}
	return v, nil
}

// Stats are rule hit statistics over a time window, per ruleset.
type Stats struct {
	Since    time.Time      `json:"since"`
	Until    time.Time      `json:"until"`
	Rulesets []RulesetStats `json:"rulesets"`
}

// RulesetStats are one ruleset's decisions in the window and how often each
// of its rules fired.
type RulesetStats struct {
	Ruleset       string      `json:"ruleset"`
	Decisions     int         `json:"decisions"`
	Qualified     int         `json:"qualified"`
	QualifiedRate float64     `json:"qualified_rate"` // Qualified / Decisions
	Rules         []RuleStats `json:"rules"`
}

// RuleStats is how often one knockout or score rule fired.
type RuleStats struct {
	Rule          string  `json:"rule"`
	Kind          string  `json:"kind"`           // KindKnockout or KindScore
	Hits          int     `json:"hits"`           // decisions in which it fired
	HitRate       float64 `json:"hit_rate"`       // Hits / the ruleset's decisions
	Qualified     int     `json:"qualified"`      // of those decisions, how many qualified
	QualifiedRate float64 `json:"qualified_rate"` // Qualified / Hits; 0 without hits
}

// Stats counts, per ruleset, the decisions made in [since, until) and for
// each rule the decisions in which it fired and how many of those
// qualified. Rules are listed knockouts first, then by hits, most first.
func (r *Reader) Stats(ctx context.Context, since, until time.Time) (Stats, error) {
	st := Stats{Since: since.UTC(), Until: until.UTC(), Rulesets: []RulesetStats{}}
	// Decision ids are UUIDv7: the window is a range of ids.
	var from, to [16]byte
	from, to = idFloor(since), idFloor(until)
	type count struct{ hits, qualified int }
	type acc struct {
		RulesetStats
		rules map[firedRule]*count
		order []firedRule
	}
	var byName map[string]*acc
	var names []string
	versions := map[int64]*version{}
	add := func(vid int64, qualified bool, fired []byte, extra []byte, n int) error {
		v := versions[vid]
		if v == nil {
			var err error
			if v, err = r.version(ctx, vid); err != nil {
				return err
			}
			versions[vid] = v
		}
		a := byName[v.name]
		if a == nil {
			a = &acc{RulesetStats: RulesetStats{Ruleset: v.name, Rules: []RuleStats{}}, rules: map[firedRule]*count{}}
			byName[v.name] = a
			names = append(names, v.name)
		}
		a.Decisions += n
		if qualified {
			a.Qualified += n
		}
		hits := v.fired(fired)
		if extra != nil {
			hits = hits[:0]
			var d engine.Decision
			if json.Unmarshal(extra, &d) == nil {
				for _, h := range d.Knockouts {
					hits = append(hits, firedRule{h.Rule, KindKnockout})
				}
				for _, h := range d.Matched {
					hits = append(hits, firedRule{h.Rule, KindScore})
				}
			}
		}
		for _, h := range hits {
			c := a.rules[h]
			if c == nil {
				c = &count{}
				a.rules[h] = c
				a.order = append(a.order, h)
			}
			c.hits += n
			if qualified {
				c.qualified += n
			}
		}
		return nil
	}
	tally := func() ([]*journalBatch, error) {
		byName, names = map[string]*acc{}, nil
		// The journal first, then the indexed table (journal.go): the
		// journal rows whose decisions may be in the window.
		batches, err := r.journal(ctx, journalQuery{within: &idRange{from, to}})
		if err != nil {
			return nil, err
		}
		for _, b := range batches {
			for i := range b.rows {
				x := &b.rows[i]
				if bytes.Compare(x.id[:], from[:]) >= 0 && bytes.Compare(x.id[:], to[:]) < 0 {
					var extra []byte
					if x.flags&2 != 0 {
						extra = b.bytes(x.extra)
					}
					if err := add(x.versionID, x.flags&1 != 0, b.bytes(x.rules), extra, 1); err != nil {
						return nil, err
					}
				}
			}
		}
		// The database counts the decisions by version, verdict and fired
		// rules (a few hundred groups for millions of decisions); the few
		// stored whole (extra) come one group each, their rules read from it.
		rows, err := r.db.query(ctx, `SELECT version_id, qualified, rules, extra, COUNT(*) FROM decisions
			WHERE id >= ? AND id < ? GROUP BY version_id, qualified, rules, extra`, r.db.idArg(from), r.db.idArg(to))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var vid int64
			var qualified bool
			var fired, extra []byte
			var n int
			if err := rows.Scan(&vid, &qualified, &fired, &extra, &n); err != nil {
				return nil, err
			}
			if err := add(vid, qualified, fired, extra, n); err != nil {
				return nil, err
			}
		}
		return batches, rows.Err()
	}
	for try := 0; ; try++ {
		batches, err := tally()
		if err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		// A journal row indexed between the two reads was counted twice.
		moved, err := r.moved(ctx, batches)
		if err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		if !moved || try == 3 {
			break
		}
	}
	sort.Strings(names)
	for _, name := range names {
		a := byName[name]
		a.QualifiedRate = rate(a.Qualified, a.Decisions)
		for _, h := range a.order {
			c := a.rules[h]
			a.Rules = append(a.Rules, RuleStats{Rule: h.id, Kind: h.kind, Hits: c.hits, HitRate: rate(c.hits, a.Decisions),
				Qualified: c.qualified, QualifiedRate: rate(c.qualified, c.hits)})
		}
		rs := a.Rules
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].Kind != rs[j].Kind {
				return rs[i].Kind == KindKnockout
			}
			if rs[i].Hits != rs[j].Hits {
				return rs[i].Hits > rs[j].Hits
			}
			return rs[i].Rule < rs[j].Rule
		})
		st.Rulesets = append(st.Rulesets, a.RulesetStats)
	}
	return st, nil
}

// idFloor is the smallest UUIDv7 of the time t's millisecond.
func idFloor(t time.Time) [16]byte {
	var u [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u
}

// Complete adds to the statistics the rules of the given rulesets that never
// fired in the window (with zero hits), and a ruleset without decisions, so
// that marketing also sees what never matches. Rules keep the order of
// Stats; the added ones follow in file order within their kind.
func (st *Stats) Complete(rulesets ...*rules.Ruleset) {
	for _, set := range rulesets {
		i := -1
		for j := range st.Rulesets {
			if st.Rulesets[j].Ruleset == set.Name {
				i = j
			}
		}
		if i < 0 {
			st.Rulesets = append(st.Rulesets, RulesetStats{Ruleset: set.Name, Rules: []RuleStats{}})
			i = len(st.Rulesets) - 1
		}
		rs := &st.Rulesets[i]
		seen := map[string]bool{}
		for _, r := range rs.Rules {
			seen[r.Kind+"/"+r.Rule] = true
		}
		var ko, sc []RuleStats
		for _, r := range set.Knockouts {
			if !seen[KindKnockout+"/"+r.ID] {
				ko = append(ko, RuleStats{Rule: r.ID, Kind: KindKnockout})
			}
		}
		for _, r := range set.Rules {
			if !seen[KindScore+"/"+r.ID] {
				sc = append(sc, RuleStats{Rule: r.ID, Kind: KindScore})
			}
		}
		// knockouts (fired, then never fired), then score rules likewise.
		split := 0
		for split < len(rs.Rules) && rs.Rules[split].Kind == KindKnockout {
			split++
		}
		out := make([]RuleStats, 0, len(rs.Rules)+len(ko)+len(sc))
		out = append(out, rs.Rules[:split]...)
		out = append(out, ko...)
		out = append(out, rs.Rules[split:]...)
		out = append(out, sc...)
		rs.Rules = out
	}
	sort.SliceStable(st.Rulesets, func(a, b int) bool { return st.Rulesets[a].Ruleset < st.Rulesets[b].Ruleset })
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
