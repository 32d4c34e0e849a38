package decisionlog

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/leadq/leadq/rules/eval"
)

// Search: the reps' page finds a lead by what a rep has at hand, any part
// of it from the start: its id, its email, its email's domain, its company
// or a word of the company's name, in any case. Each logged decision adds
// its keys, lower-cased, to the search_keys table (clustered by key, then
// decision id), so that a prefix is one range of one b-tree and the
// decisions of one key, latest first, another.

// searchSchema is the search_keys table; schema lists it. Pruning deletes
// the keys of pruned decisions (pruneSearchKeys).
const searchSchema = `CREATE TABLE IF NOT EXISTS search_keys (
		key         TEXT    NOT NULL,
		decision_id INTEGER NOT NULL,
		PRIMARY KEY (key, decision_id)
	) WITHOUT ROWID`

// maxSearchKeys bounds the distinct keys a search reads decisions of: a
// short prefix ("a") matches many; the closest ones (in key order) are
// enough to show, and the rep types more.
const maxSearchKeys = 25

// searchKeys are the keys under which a decision is found: the lead id,
// the email and its domain as stored (a masked email keeps only its
// domain searchable), and the company with each word of its name unless
// the mask covers it. All lower-cased, without duplicates.
func searchKeys(leadID, storedEmail string, doc map[string]any, m Mask) []string {
	var keys []string
	add := func(s string) {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" && !slices.Contains(keys, s) {
			keys = append(keys, s)
		}
	}
	add(leadID)
	if storedEmail != "" {
		if !m.masks("lead", "email") {
			add(storedEmail)
		}
		add(eval.Domain(storedEmail))
	}
	if company, ok := leadValue(doc, "company").(string); ok && !m.masks("lead", "company") {
		add(company)
		words := strings.FieldsFunc(company, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for i, w := range words {
			if i > 0 && len(w) > 1 {
				add(w)
			}
		}
	}
	return keys
}

// leadValue is a key of the lead in a request, as engine.InputFromMap
// finds the lead.
func leadValue(doc map[string]any, key string) any {
	lead := doc
	if l, ok := doc["lead"].(map[string]any); ok {
		lead = l
	}
	return lead[key]
}

// prefixEnd is the least string greater than every string that starts with
// p: SQLite compares text as bytes, and 0xff starts no UTF-8 sequence.
func prefixEnd(p string) string { return p + "\xff" }

// search answers a Query with Text: the decisions whose lead id, email,
// email domain, company or a word of it starts with the text, in any case,
// latest first. Exact lead ids and emails are also matched in the
// decisions table, for decisions logged before search keys were.
func (r *Reader) search(ctx context.Context, text string, limit int) ([]Record, error) {
	text = strings.TrimSpace(text)
	p := strings.ToLower(text)
	if p == "" {
		return []Record{}, nil
	}
	keys, err := r.matchingKeys(ctx, p)
	if err != nil {
		return nil, err
	}
	// The latest decisions of each key: those logged last (ids grow as
	// decisions are written), which are the latest unless some came late;
	// one backward range of search_keys' primary key each.
	var ids []any
	for _, k := range keys {
		if err := scanIDs(&ids)(r.db.QueryContext(ctx, `SELECT decision_id FROM search_keys WHERE key = ? ORDER BY decision_id DESC LIMIT ?`, k, limit)); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if err := scanIDs(&ids)(r.db.QueryContext(ctx, `SELECT id FROM decisions WHERE lead_id = ? ORDER BY time DESC, id DESC LIMIT ?`, text, limit)); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if email := r.mask.Email(text); strings.Contains(text, "@") && email != "" && !r.noSalt {
		if err := scanIDs(&ids)(r.db.QueryContext(ctx, `SELECT id FROM decisions WHERE email = ? ORDER BY time DESC, id DESC LIMIT ?`, email, limit)); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if len(ids) == 0 {
		return []Record{}, nil
	}
	// Their times, by primary key, to merge the keys' lists latest first.
	type hit struct{ id, time int64 }
	var hits []hit
	rows, err := r.db.QueryContext(ctx, `SELECT id, time FROM decisions WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.time); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.time != b.time {
			return cmp.Compare(b.time, a.time)
		}
		return cmp.Compare(b.id, a.id)
	})
	hits = slices.Compact(hits)
	if len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]Record, 0, len(hits))
	for _, h := range hits {
		rec, err := r.Get(ctx, h.id)
		if errors.Is(err, ErrNotFound) {
			continue // pruned since its key was read
		}
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// scanIDs returns a function that appends the ids a query returns to ids.
func scanIDs(ids *[]any) func(*sql.Rows, error) error {
	return func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			*ids = append(*ids, id)
		}
		return rows.Err()
	}
}

// matchingKeys are the first maxSearchKeys keys that start with p, in key
// order. Each is one seek in the primary key, past the previous one: a
// DISTINCT over the range would read every decision of a common key
// (a domain shared by a million leads) to drop the duplicates.
func (r *Reader) matchingKeys(ctx context.Context, p string) ([]string, error) {
	var keys []string
	from, op := p, ">="
	for len(keys) < maxSearchKeys {
		var k string
		err := r.db.QueryRowContext(ctx, `SELECT key FROM search_keys WHERE key `+op+` ? AND key < ? ORDER BY key LIMIT 1`, from, prefixEnd(p)).Scan(&k)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		keys = append(keys, k)
		from, op = k, ">"
	}
	return keys, nil
}

// pruneSearchKeys deletes the keys of decisions no longer in the log: they
// were all logged before the oldest one kept (ids grow with time).
func pruneSearchKeys(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM search_keys WHERE decision_id < (SELECT COALESCE(MIN(id), 1 << 62) FROM decisions)`)
	return err
}
