package decisionlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/leadq/leadq/rules/eval"
)

// Search: the reps' page finds a lead by what a rep has at hand, any part
// of it from the start: its id, its email, its email's domain, its company
// or a word of the company's name, in any case. The keys of a lead,
// lower-cased, go to the search_keys table once per lead (key, lead id;
// clustered by key), so that a prefix is one range of one b-tree, and the
// lead's decisions, latest first, are one range of the lead id index: a
// lead decided many times costs its keys once (a new email or company adds
// its keys; the lead is found by the old ones too while it has decisions).
// Keys are stored when the indexer moves their decisions out of the
// journal (journal.go); until then a search finds the journal's decisions
// in memory (computed when a lookup needs them when nothing is masked: Log
// stores the request as it came, off the scoring goroutine's path;
// journalread.go finds the rows whose keys may start with the text without
// computing the others'). Either way a lead found shows all its decisions.
// model_test.go holds lookups to a model of these promises.

// maxSearchKeys bounds the distinct keys a search reads decisions of: a
// short prefix ("a") matches many; the closest ones (in key order) are
// enough to show, and the rep types more.
const maxSearchKeys = 25

// searchKeys are the keys under which a decision is found: the lead id,
// the email and its domain as stored (a masked email keeps only its
// domain searchable), and the company with each word of its name unless
// the mask covers it (company is the lead's company as sent: a string, or
// anything else when it is not one). All lower-cased, without duplicates.
func searchKeys(leadID, storedEmail string, company any, m Mask) []string {
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
	if company, ok := company.(string); ok && !m.masks("lead", "company") {
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

// prefixEnd is the least string greater than every string that starts
// with p, compared as bytes (SQLite's way, and PostgreSQL's with the "C"
// collation search_keys uses): U+10FFFF is the largest code point, and
// valid UTF-8 in both databases.
func prefixEnd(p string) string { return p + "\U0010FFFF" }

// search answers a Query with Text: the decisions of the leads whose id,
// email, email domain, company or a word of it starts with the text, in
// any case, latest first (for a key of many leads, such as a shared
// domain, the latest decisions of any of them); those whose stored email is the text's; and the
// decision whose id the text is.
func (r *Reader) search(ctx context.Context, text string, limit int) ([]Record, error) {
	text = clean(strings.TrimSpace(text))
	p := strings.ToLower(text)
	if p == "" {
		return []Record{}, nil
	}
	// The journal first (journal.go): its decisions whose lead id is the
	// text or whose keys start with it, whose leads are found as those of
	// the keys stored; and those whose email or id it is.
	email := ""
	if strings.Contains(text, "@") && !r.noKey {
		email = clean(r.mask.Email(text))
	}
	id, idErr := uuid.Parse(text)
	isID := idErr == nil && len(text) == 36 // a decision id, as answered
	found, err := r.journalMatch(ctx, limit, journalQuery{leadID: text, prefix: p})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	leads := map[string]bool{text: true} // an exact lead id, in its case
	for _, s := range found {
		leads[s.leadID] = true
	}
	if email != "" || isID {
		q := journalQuery{email: email}
		if isID {
			q.id = (*[16]byte)(&id)
		}
		more, err := r.journalMatch(ctx, limit, q)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		found = append(found, more...)
	}
	keys, err := r.matchingKeys(ctx, p)
	if err != nil {
		return nil, err
	}
	var common []string // keys of more than limit leads
	fallback := map[string]bool{}
	for _, k := range keys {
		// The leads of a key. A domain may have thousands: then the
		// latest decisions of any of them are looked for below.
		rows, err := r.db.query(ctx, `SELECT lead_id FROM search_keys WHERE key = ? ORDER BY lead_id LIMIT ?`, k, limit+1)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		var of []string
		for rows.Next() {
			var lead string
			if err := rows.Scan(&lead); err != nil {
				rows.Close()
				return nil, fmt.Errorf("search: %w", err)
			}
			of = append(of, lead)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(of) > limit {
			common = append(common, k)
			for _, lead := range of[:limit] {
				fallback[lead] = true
			}
			continue
		}
		for _, lead := range of {
			leads[lead] = true
		}
	}
	if len(common) > 0 {
		n, err := r.latestOf(ctx, common, limit, &found)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if n < limit {
			// Not enough among the latest decisions: the first leads of
			// the keys (by lead id), as for the other keys.
			for lead := range fallback {
				leads[lead] = true
			}
		}
	}
	// Every decision of the leads found: in the journal, those whose keys
	// do not start with the text (a lead decided again with another email
	// or company), then in the table.
	delete(leads, "") // (a decision without a lead id is no lead's)
	if len(leads) > 0 {
		more, err := r.journalMatch(ctx, limit, journalQuery{leads: slices.Sorted(maps.Keys(leads))})
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		found = append(found, more...)
	}
	if isID {
		var s storedRow
		if err := s.scan(r.db.queryRow(ctx, `SELECT `+recordColumns+` FROM decisions WHERE id = ?`, r.db.idArg(id))); err == nil {
			found = append(found, s)
		}
	}
	add := func(q string, arg any) error {
		rows, err := r.db.query(ctx, `SELECT `+recordColumns+` FROM decisions WHERE `+q+` ORDER BY id DESC LIMIT ?`, arg, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s storedRow
			if err := s.scan(rows); err != nil {
				return err
			}
			found = append(found, s)
		}
		return rows.Err()
	}
	for lead := range leads {
		if err := add(`lead_id = ?`, lead); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if email != "" {
		if err := add(`email = ?`, email); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	found = latestFirst(found, limit)
	out := make([]Record, 0, len(found))
	for _, s := range found {
		rec, err := r.record(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// commonScan bounds the latest decisions a search for a common key reads
// (a domain shared by thousands of leads).
const commonScan = 50_000

// latestOf appends to found the latest decisions, up to limit, of the leads
// of keys, among the latest commonScan decisions of the log: it reads
// decisions latest first and looks each one's lead up under the keys, so
// that a key of many leads costs what it finds, not all of its leads. It
// returns how many it found.
func (r *Reader) latestOf(ctx context.Context, keys []string, limit int, found *[]storedRow) (int, error) {
	in := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
	args := []any{commonScan}
	for _, k := range keys {
		args = append(args, k)
	}
	args = append(args, limit)
	rows, err := r.db.query(ctx, `SELECT `+recordColumns+` FROM (SELECT `+recordColumns+` FROM decisions ORDER BY id DESC LIMIT ?) d
		WHERE EXISTS (SELECT 1 FROM search_keys k WHERE k.key IN (`+in+`) AND k.lead_id = d.lead_id)
		ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var s storedRow
		if err := s.scan(rows); err != nil {
			return n, err
		}
		*found = append(*found, s)
		n++
	}
	return n, rows.Err()
}

// matchingKeys are the first maxSearchKeys keys that start with p, in key
// order. Each is one seek in the primary key, past the previous one: a
// DISTINCT over the range would read every lead of a common key (a domain
// shared by a million leads) to drop the duplicates.
func (r *Reader) matchingKeys(ctx context.Context, p string) ([]string, error) {
	var keys []string
	from, op := p, ">="
	for len(keys) < maxSearchKeys {
		var k string
		err := r.db.queryRow(ctx, `SELECT key FROM search_keys WHERE key `+op+` ? AND key < ? ORDER BY key LIMIT 1`, from, prefixEnd(p)).Scan(&k)
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
