package decisionlog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Retention bounds what the log keeps. Zero fields mean no bound. The writer
// prunes at start and then periodically (WithPruneEvery), so the log may
// briefly hold more than MaxCount decisions or older ones than MaxAge.
type Retention struct {
	MaxAge   time.Duration // decisions older than this are deleted
	MaxCount int           // only the newest MaxCount decisions are kept
}

func (r Retention) set() bool { return r.MaxAge > 0 || r.MaxCount > 0 }

// String is the retention as ParseRetention reads it.
func (r Retention) String() string {
	var parts []string
	if r.MaxAge > 0 {
		parts = append(parts, FormatDuration(r.MaxAge))
	}
	if r.MaxCount > 0 {
		parts = append(parts, strconv.Itoa(r.MaxCount))
	}
	if len(parts) == 0 {
		return "forever"
	}
	return strings.Join(parts, ",")
}

// ParseRetention reads a --log-retention value: an age ("30d", "720h"), a
// count of decisions ("1000000"), or both separated by a comma ("30d,1000000").
// "" and "forever" keep everything.
func ParseRetention(s string) (Retention, error) {
	var r Retention
	s = strings.TrimSpace(s)
	if s == "" || s == "forever" {
		return r, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if n, err := strconv.Atoi(part); err == nil {
			if n <= 0 || r.MaxCount > 0 {
				return Retention{}, fmt.Errorf("retention %q: give one positive count of decisions", s)
			}
			r.MaxCount = n
			continue
		}
		d, err := ParseDuration(part)
		if err != nil || d <= 0 || r.MaxAge > 0 {
			return Retention{}, fmt.Errorf("retention %q: use an age like 30d or 720h, a count like 1000000, or both (30d,1000000)", s)
		}
		r.MaxAge = d
	}
	return r, nil
}

// ParseDuration is time.ParseDuration that also reads days and weeks
// ("30d", "2w", "1d12h"). An age is never negative, and one past
// time.Duration's range (292 years) is an error, not a wrapped number.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	orig := s
	tooLong := fmt.Errorf("invalid duration %q: longer than %v", orig, time.Duration(math.MaxInt64).Truncate(time.Hour))
	var total time.Duration
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		i := strings.Index(s, unit.suffix)
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		if time.Duration(n) > (math.MaxInt64-total)/unit.d {
			return 0, tooLong
		}
		total += time.Duration(n) * unit.d
		s = s[i+1:]
	}
	if s == "" {
		if total == 0 {
			return 0, errors.New("invalid duration: empty")
		}
		return total, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use 90m, 24h, 7d or 2w)", orig)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: an age is not negative", orig)
	}
	if d > math.MaxInt64-total {
		return 0, tooLong
	}
	return total + d, nil
}

// FormatDuration writes whole days as "30d" and anything else as Go does.
func FormatDuration(d time.Duration) string {
	if day := 24 * time.Hour; d >= day && d%day == 0 {
		return strconv.Itoa(int(d/day)) + "d"
	}
	return d.String()
}

// prune deletes what the retention no longer keeps, in transactions of at
// most batch decisions, so that a pass never holds the database long
// enough to stall the writer, and returns how many decisions it deleted. It
// stops early when stop is closed. Decision ids are UUIDv7, so "older than"
// and "beyond the newest N" are both a range of ids.
func prune(ctx context.Context, d *db, r Retention, now time.Time, batch int, stop <-chan struct{}, cur *keyCursor) (n int64, err error) {
	defer func() {
		if err == nil && n > 0 {
			err = sweepKeys(ctx, d, cur, batch, 10)
		}
	}()
	if !r.set() {
		return 0, nil
	}
	var bound [16]byte // delete ids below it
	if r.MaxAge > 0 {
		bound = idFloor(now.Add(-r.MaxAge))
	}
	if keep := r.MaxCount; keep > 0 && !d.noJournal {
		// The journal's decisions (journal.go) count among the newest;
		// when they are as many as the count, this pass leaves the rest
		// to the next one, after they are indexed.
		var j int
		if err := d.queryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM journal`).Scan(&j); err != nil {
			return 0, err
		}
		r.MaxCount = max(keep-j, 0)
		if r.MaxCount == 0 && r.MaxAge == 0 {
			return 0, nil
		}
	}
	if r.MaxCount > 0 {
		var keep scanID
		err := d.queryRow(ctx, `SELECT id FROM decisions ORDER BY id DESC LIMIT 1 OFFSET ?`, r.MaxCount-1).Scan(&keep)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, err
		case bytes.Compare(keep[:], bound[:]) > 0:
			bound = keep
		}
	}
	if bound == [16]byte{} {
		return 0, nil
	}
	for {
		k, err := pruneBatch(ctx, d, bound, batch)
		n += k
		if err != nil || k < int64(batch) {
			return n, err
		}
		select {
		case <-stop:
			return n, nil
		default:
		}
	}
}

// pruneBatch deletes up to batch decisions below bound.
func pruneBatch(ctx context.Context, d *db, bound [16]byte, batch int) (int64, error) {
	res, err := d.exec(ctx, `DELETE FROM decisions WHERE id IN
		(SELECT id FROM decisions WHERE id < ? ORDER BY id LIMIT ?)`, d.idArg(bound), batch)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// keyCursor is where the sweep of search keys goes on from: a (key, lead
// id) pair, or the start when done is false and key is empty.
type keyCursor struct{ key, lead string }

// sweepKeys deletes the search keys of leads that have no decision left,
// going through search_keys in key order from cur, batch keys per
// statement, for at most windows statements; cur wraps to the start at
// the end. Keys of pruned leads thus go within a few passes, each pass
// bounded, whatever the table's size.
//
// Each statement counts a sweep (meta's key_sweeps) first, in its
// transaction: an indexer skips the keys of leads it stored before
// (Log.keyed) only while the count it locked is the one it knew, so that
// a lead whose keys a sweep deleted, by any writer of the log, gets them
// again when decided again; the lock orders a sweep and an indexer's
// transaction, so that neither deletes keys the other is about to skip.
func sweepKeys(ctx context.Context, d *db, cur *keyCursor, batch, windows int) error {
	for range windows {
		last, err := sweepWindow(ctx, d, cur, batch)
		if err != nil || last {
			return err
		}
	}
	return nil
}

// sweepWindow is one statement of sweepKeys, from cur; last reports that
// it reached the end of the table (cur is back at the start).
func sweepWindow(ctx context.Context, d *db, cur *keyCursor, batch int) (last bool, err error) {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS TEXT) WHERE key = 'key_sweeps'`); err != nil {
		return false, err
	}
	var end keyCursor
	err = tx.QueryRowContext(ctx, d.rebind(`SELECT key, lead_id FROM search_keys WHERE (key, lead_id) > (?, ?)
		ORDER BY key, lead_id LIMIT 1 OFFSET ?`), cur.key, cur.lead, batch-1).Scan(&end.key, &end.lead)
	last = errors.Is(err, sql.ErrNoRows)
	if err != nil && !last {
		return false, err
	}
	q := `DELETE FROM search_keys WHERE (key, lead_id) > (?, ?) AND (key, lead_id) <= (?, ?)
		AND NOT EXISTS (SELECT 1 FROM decisions WHERE decisions.lead_id = search_keys.lead_id)`
	args := []any{cur.key, cur.lead, end.key, end.lead}
	if last {
		q = `DELETE FROM search_keys WHERE (key, lead_id) > (?, ?)
			AND NOT EXISTS (SELECT 1 FROM decisions WHERE decisions.lead_id = search_keys.lead_id)`
		args = args[:2]
	}
	if _, err := tx.ExecContext(ctx, d.rebind(q), args...); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	if last {
		*cur = keyCursor{}
	} else {
		*cur = end
	}
	return last, nil
}
