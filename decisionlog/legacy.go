package decisionlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// A log written by leadq before decision ids (its meta says schema 1, as
// the first migration does, but its tables differ) is converted in place
// when a writer opens it, in the migration's transaction:
//
//   - its decisions (integer ids, nanosecond times, the decision's JSON and
//     the input's) get UUIDv7 ids of their times, and keep their JSON
//     whole (extra): the log did not keep the rulesets' sources, so they
//     cannot be decided again;
//   - each ruleset version they name becomes a row of versions without
//     sources, whose rule list is the rules its decisions fired (from the
//     old hits table), so that statistics still count them; it is named
//     legacyPrefix + the version, so that the same version logged anew
//     (with its sources, dictionary and full rule list) is a row of its
//     own;
//   - the stored inputs are encoded compactly (masked as they were stored),
//     and the search keys rebuilt, each lead's once.
//
// Readers (leadq why, leadq stats) open logs read-only and say which
// command converts one.
var legacyTables = []string{"hits"}

// legacyPrefix starts the name of a converted log's ruleset versions.
const legacyPrefix = "before-ids/"

// isLegacy reports whether a SQLite log was written by leadq before
// decision ids.
func isLegacy(ctx context.Context, q querier, d *db) (bool, error) {
	if d.postgres {
		return false, nil
	}
	return hasTable(ctx, q, d, legacyTables[0])
}

// errLegacyReadOnly is what a reader says of a log it would have to convert.
const errLegacyReadOnly = "written by leadq before decision ids (schema 1); convert it by opening it once for writing: leadq serve --log-db %s (the server converts it at start, in place)"

// legacyRow is a decision of a legacy log.
type legacyRow struct {
	id                              int64
	time                            int64 // unix nanoseconds
	leadID, email, ruleset, version string
	qualified                       bool
	tier                            string
	score                           int
	decision, input                 string
	knockouts, matched              []string // the rules that fired, from hits
}

// convertLegacy converts a legacy log in tx: the new schema beside the old
// tables, the decisions copied over, the old tables dropped.
func convertLegacy(ctx context.Context, tx *sql.Tx) error {
	// What the old log masked decides which search keys it gets.
	m := Mask{Mode: MaskNone}
	var mask string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'mask'`).Scan(&mask); err == nil {
		if m, err = ParseMask(mask); err != nil {
			m = Mask{Mode: MaskHash, Fields: DefaultMaskFields}
		}
	}
	for _, s := range []string{
		`ALTER TABLE decisions RENAME TO legacy_decisions`,
		`DROP INDEX IF EXISTS decisions_lead_id`,
		`DROP INDEX IF EXISTS decisions_email`,
		`DROP INDEX IF EXISTS decisions_time`,
		`DROP TABLE IF EXISTS search_keys`,
	} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("convert the log written before decision ids: %w", err)
		}
	}
	for _, s := range migrations[0].sqlite {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("convert the log written before decision ids: %w", err)
		}
	}
	versions := map[string]int64{} // version -> versions.id
	keyed := map[[2]string]bool{}  // lead id, key: stored
	ruleLists := map[int64]versionRules{}
	empty := newDictionary(nil)
	var last int64 = -1
	for {
		rows, err := legacyBatch(ctx, tx, last, 1000)
		if err != nil {
			return fmt.Errorf("convert the log written before decision ids: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for _, o := range rows {
			last = o.id
			vid, ok := versions[o.version]
			if !ok {
				if vid, err = legacyVersion(ctx, tx, o.ruleset, o.version); err != nil {
					return fmt.Errorf("convert the log written before decision ids: ruleset version %s: %w", o.version, err)
				}
				versions[o.version] = vid
			}
			rules, err := legacyRules(ctx, tx, vid, o, ruleLists)
			if err != nil {
				return fmt.Errorf("convert the log written before decision ids: %w", err)
			}
			in := encodeDoc(Entry{Input: []byte(o.input), Email: o.email}, o.leadID, empty, Mask{Mode: MaskNone})
			id := newID(time.Unix(0, o.time))
			if _, err := tx.ExecContext(ctx, insertSQL(1), id[:], clean(o.leadID), clean(o.email), vid, o.qualified, clean(o.tier), int64(o.score), rules, in.input, []byte(o.decision)); err != nil {
				return fmt.Errorf("convert the log written before decision ids: decision %d: %w", o.id, err)
			}
			if o.leadID == "" {
				continue
			}
			for _, k := range searchKeys(clean(o.leadID), clean(o.email), in.company, m) {
				if keyed[[2]string{o.leadID, k}] {
					continue
				}
				keyed[[2]string{o.leadID, k}] = true
				if _, err := tx.ExecContext(ctx, keysSQL(1), clean(k), clean(o.leadID)); err != nil {
					return fmt.Errorf("convert the log written before decision ids: %w", err)
				}
			}
		}
	}
	for _, s := range []string{`DROP TABLE legacy_decisions`, `DROP TABLE hits`} {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("convert the log written before decision ids: %w", err)
		}
	}
	return nil
}

// legacyBatch reads the next n decisions after id after, with the rules
// each fired.
func legacyBatch(ctx context.Context, tx *sql.Tx, after int64, n int) ([]legacyRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, time, lead_id, email, ruleset, version, qualified, tier, score, decision, input
		FROM legacy_decisions WHERE id > ? ORDER BY id LIMIT ?`, after, n)
	if err != nil {
		return nil, err
	}
	var out []legacyRow
	for rows.Next() {
		var o legacyRow
		if err := rows.Scan(&o.id, &o.time, &o.leadID, &o.email, &o.ruleset, &o.version, &o.qualified, &o.tier, &o.score, &o.decision, &o.input); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		hits, err := tx.QueryContext(ctx, `SELECT kind, rule FROM hits WHERE decision_id = ? ORDER BY rule`, out[i].id)
		if err != nil {
			return nil, err
		}
		for hits.Next() {
			var kind, rule string
			if err := hits.Scan(&kind, &rule); err != nil {
				hits.Close()
				return nil, err
			}
			if kind == KindKnockout {
				out[i].knockouts = append(out[i].knockouts, rule)
			} else {
				out[i].matched = append(out[i].matched, rule)
			}
		}
		hits.Close()
		if err := hits.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// legacyVersion stores a ruleset version of a legacy log, without
// sources, with the rules its decisions fired as its rule list.
func legacyVersion(ctx context.Context, tx *sql.Tx, ruleset, version string) (int64, error) {
	vr := versionRules{Knockouts: []string{}, Score: []string{}}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT h.kind, h.rule FROM hits h JOIN legacy_decisions d ON d.id = h.decision_id
		WHERE d.version = ? ORDER BY h.rule`, version)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var kind, rule string
		if err := rows.Scan(&kind, &rule); err != nil {
			rows.Close()
			return 0, err
		}
		if kind == KindKnockout {
			vr.Knockouts = append(vr.Knockouts, rule)
		} else {
			vr.Score = append(vr.Score, rule)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	rulesJSON, _ := json.Marshal(vr)
	if _, err := tx.ExecContext(ctx, `INSERT INTO versions (ruleset, version, fields, rules, sources) VALUES (?, ?, '[]', ?, NULL)
		ON CONFLICT (version) DO NOTHING`, clean(ruleset), legacyPrefix+clean(version), string(rulesJSON)); err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM versions WHERE version = ?`, legacyPrefix+clean(version)).Scan(&id)
	return id, err
}

// legacyRules are the rules a legacy decision fired as indexes into its
// version's rule list (the rules column).
func legacyRules(ctx context.Context, tx *sql.Tx, vid int64, o legacyRow, lists map[int64]versionRules) ([]byte, error) {
	vr, ok := lists[vid]
	if !ok {
		var rulesJSON string
		if err := tx.QueryRowContext(ctx, `SELECT rules FROM versions WHERE id = ?`, vid).Scan(&rulesJSON); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rulesJSON), &vr); err != nil {
			return nil, err
		}
		lists[vid] = vr
	}
	b := []byte{}
	for _, r := range o.knockouts {
		if i := slices.Index(vr.Knockouts, r); i >= 0 {
			b = binary.AppendUvarint(b, uint64(i))
		}
	}
	for _, r := range o.matched {
		if i := slices.Index(vr.Score, r); i >= 0 {
			b = binary.AppendUvarint(b, uint64(len(vr.Knockouts)+i))
		}
	}
	return b, nil
}
