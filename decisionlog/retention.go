package decisionlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// ("30d", "2w", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
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
			return 0, fmt.Errorf("invalid duration %q", s)
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
		return 0, fmt.Errorf("invalid duration %q (use 90m, 24h, 7d or 2w)", s)
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

// prune deletes what the retention no longer keeps, in one transaction, and
// returns how many decisions it deleted.
func prune(ctx context.Context, db *sql.DB, r Retention, now time.Time) (int64, error) {
	if !r.set() {
		return 0, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int64
	if r.MaxAge > 0 {
		cutoff := now.Add(-r.MaxAge).UnixNano()
		if _, err := tx.ExecContext(ctx, `DELETE FROM hits WHERE time < ?`, cutoff); err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM decisions WHERE time < ?`, cutoff)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if r.MaxCount > 0 {
		// The newest MaxCount by time; the hits of the older ones go by
		// the same (time, id) order, a range of hits' primary key.
		var last, lastTime int64
		err := tx.QueryRowContext(ctx, `SELECT id, time FROM decisions ORDER BY time DESC, id DESC LIMIT 1 OFFSET ?`, r.MaxCount).Scan(&last, &lastTime)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, err
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM hits WHERE time < ? OR (time = ? AND decision_id <= ?)`, lastTime, lastTime, last); err != nil {
				return 0, err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM decisions WHERE time < ? OR (time = ? AND id <= ?)`, lastTime, lastTime, last)
			if err != nil {
				return 0, err
			}
			k, _ := res.RowsAffected()
			n += k
		}
	}
	if n > 0 {
		if err := pruneSearchKeys(ctx, tx); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}
