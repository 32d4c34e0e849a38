package decisionlog

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

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
	ErrNoSalt       = errors.New("the log hashes emails with a salt kept outside it; give the same salt to look up by email")
)

// Reader answers lookups and statistics from a log file. A Log embeds one;
// OpenReader opens a file read-only, as `leadq why` and `leadq stats` do
// while a server may be writing it.
type Reader struct {
	db     *sql.DB
	mask   Mask
	path   string
	noSalt bool // hashed emails, and no salt to hash lookups with
}

// OpenReader opens an existing log file read-only. The mask is read from
// the file; give WithMask with the salt when the log was written with one
// kept outside the file.
func OpenReader(ctx context.Context, path string, opts ...Option) (*Reader, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	db, err := openDB(ctx, path, true)
	if err != nil {
		return nil, err
	}
	r := &Reader{db: db, path: path}
	if err := r.readMask(ctx, cfg.mask.Salt); err != nil {
		db.Close()
		return nil, fmt.Errorf("decision log %s: %w", path, err)
	}
	return r, nil
}

func (r *Reader) readMask(ctx context.Context, salt []byte) error {
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
	if len(salt) == 0 {
		s, ok, err := getMeta(ctx, r.db, "mask_salt")
		if err != nil {
			return err
		}
		if !ok {
			r.noSalt = true
			return nil
		}
		if salt, err = hex.DecodeString(s); err != nil {
			return err
		}
	}
	r.mask.Salt = salt
	if check, ok, err := getMeta(ctx, r.db, "mask_salt_check"); err == nil && ok && check != r.mask.mac(saltCheck) {
		return errors.New("the salt given is not the one the log was written with")
	}
	return nil
}

// Close closes the file. For a Log, call Log.Close instead.
func (r *Reader) Close() error { return r.db.Close() }

// Path is the log's file.
func (r *Reader) Path() string { return r.path }

// Mask is how the log masks personal data (without the salt).
func (r *Reader) Mask() Mask { m := r.mask; m.Salt = nil; return m }

// Record is one stored decision. Its JSON is the API's.
type Record struct {
	ID       int64           `json:"id"`
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
	var rows *sql.Rows
	var err error
	switch {
	case q.Text != "" && q.LeadID == "" && q.Email == "":
		return r.search(ctx, q.Text, limit)
	case q.LeadID != "" && q.Email == "":
		rows, err = r.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM decisions
			WHERE lead_id = ? ORDER BY time DESC, id DESC LIMIT ?`, q.LeadID, limit)
	case q.Email != "" && q.LeadID == "":
		if r.mask.masks("lead", "email") {
			switch {
			case r.mask.Mode == MaskDrop:
				return nil, ErrEmailDropped
			case r.noSalt:
				return nil, ErrNoSalt
			}
		}
		rows, err = r.db.QueryContext(ctx, `SELECT `+recordColumns+` FROM decisions
			WHERE email = ? ORDER BY time DESC, id DESC LIMIT ?`, r.mask.Email(q.Email), limit)
	default:
		return nil, errors.New("find: give a lead id, an email or a text to search")
	}
	if err != nil {
		return nil, fmt.Errorf("find: %w", err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("find: %w", err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Get returns one decision by its id in the log, or ErrNotFound.
func (r *Reader) Get(ctx context.Context, id int64) (Record, error) {
	rec, err := scanRecord(r.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM decisions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("decision %d: %w", id, ErrNotFound)
	}
	return rec, err
}

// Count is how many decisions the log holds.
func (r *Reader) Count(ctx context.Context) (int, error) {
	var n int
	err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM decisions`).Scan(&n)
	return n, err
}

const recordColumns = `id, time, lead_id, email, decision, input`

func scanRecord(s interface{ Scan(...any) error }) (Record, error) {
	var rec Record
	var t int64
	var dec, input string
	if err := s.Scan(&rec.ID, &t, &rec.LeadID, &rec.Email, &dec, &input); err != nil {
		return Record{}, err
	}
	rec.Time = time.Unix(0, t).UTC()
	if err := json.Unmarshal([]byte(dec), &rec.Decision); err != nil {
		return Record{}, fmt.Errorf("decision %d: %w", rec.ID, err)
	}
	rec.Input = json.RawMessage(input)
	return rec, nil
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
	from, to := since.UnixNano(), until.UnixNano()
	rows, err := r.db.QueryContext(ctx, `SELECT ruleset, COUNT(*), SUM(qualified) FROM decisions
		WHERE time >= ? AND time < ? GROUP BY ruleset ORDER BY ruleset`, from, to)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	byName := map[string]int{}
	for rows.Next() {
		var rs RulesetStats
		if err := rows.Scan(&rs.Ruleset, &rs.Decisions, &rs.Qualified); err != nil {
			rows.Close()
			return st, fmt.Errorf("stats: %w", err)
		}
		rs.QualifiedRate = rate(rs.Qualified, rs.Decisions)
		rs.Rules = []RuleStats{}
		byName[rs.Ruleset] = len(st.Rulesets)
		st.Rulesets = append(st.Rulesets, rs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	rows, err = r.db.QueryContext(ctx, `SELECT ruleset, kind, rule, COUNT(*), SUM(qualified) FROM hits
		WHERE time >= ? AND time < ? GROUP BY ruleset, kind, rule`, from, to)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var rule RuleStats
		if err := rows.Scan(&name, &rule.Kind, &rule.Rule, &rule.Hits, &rule.Qualified); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
		i, ok := byName[name]
		if !ok {
			continue // a decision pruned between the two queries
		}
		rule.HitRate = rate(rule.Hits, st.Rulesets[i].Decisions)
		rule.QualifiedRate = rate(rule.Qualified, rule.Hits)
		st.Rulesets[i].Rules = append(st.Rulesets[i].Rules, rule)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	for i := range st.Rulesets {
		rs := st.Rulesets[i].Rules
		sort.Slice(rs, func(a, b int) bool {
			if rs[a].Kind != rs[b].Kind {
				return rs[a].Kind == KindKnockout
			}
			if rs[a].Hits != rs[b].Hits {
				return rs[a].Hits > rs[b].Hits
			}
			return rs[a].Rule < rs[b].Rule
		})
	}
	return st, nil
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
