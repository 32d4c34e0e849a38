package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type statsOptions struct {
	log    string
	since  string
	until  string
	rules  []string
	format string
}

func newStatsCmd(e *env) *cobra.Command {
	var opts statsOptions
	cmd := &cobra.Command{
		Use:   "stats --log FILE [--since 24h] [--rules PATH]",
		Short: "Rule hit statistics from the decision log",
		Long: `stats counts, from the decision log that leadq serve --log-db writes, the decisions of a time
window per ruleset and, for each knockout and score rule, in how many of them it fired and how
many of those qualified. With --rules, rules that never fired in the window are listed too.

--since is an age (90m, 24h, 7d) counted back from --until, or a date or time (2026-11-01,
2026-11-01T09:00:00Z); --until defaults to now.`,
		Args: rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.log == "" {
				return &usageError{errors.New("--log is required (the decision log file of leadq serve --log-db)")}
			}
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			return runStats(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.log, "log", "", "the decision log leadq serve --log-db writes: a SQLite file or a postgres:// URL")
	cmd.Flags().StringVar(&opts.since, "since", "24h", "start of the window: an age back from --until (24h, 7d) or a date")
	cmd.Flags().StringVar(&opts.until, "until", "", "end of the window, excluded: a date or time (default now)")
	cmd.Flags().StringSliceVar(&opts.rules, "rules", nil, "rule files or directories: also list rules that never fired")
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	return cmd
}

// window reads --since and --until into a time window ending now by default.
func window(since, until string, now time.Time) (time.Time, time.Time, error) {
	to := now
	if until != "" {
		t, err := rulefile.ParseDate(until)
		if err != nil {
			return time.Time{}, time.Time{}, &usageError{fmt.Errorf("--until: %w", err)}
		}
		to = t
	}
	if d, err := decisionlog.ParseDuration(since); err == nil {
		return to.Add(-d), to, nil
	}
	from, err := rulefile.ParseDate(since)
	if err != nil {
		return time.Time{}, time.Time{}, &usageError{fmt.Errorf("--since %q: give an age (24h, 7d) or a date (2026-11-01)", since)}
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, &usageError{fmt.Errorf("--since %s is not before --until %s", from.Format(time.RFC3339), to.Format(time.RFC3339))}
	}
	return from, to, nil
}

func runStats(ctx context.Context, e *env, opts statsOptions) error {
	from, to, err := window(opts.since, opts.until, time.Now())
	if err != nil {
		return err
	}
	r, err := openLogReader(ctx, opts.log, "")
	if err != nil {
		return err
	}
	defer r.Close()
	st, err := r.Stats(ctx, from, to)
	if err != nil {
		return err
	}
	if len(opts.rules) > 0 {
		eng, err := engine.Open(ctx, engine.Paths(opts.rules...))
		if err != nil {
			return rulesError(e, err)
		}
		var sets []*rules.Ruleset
		for _, info := range eng.Status().Rulesets {
			rs, err := eng.Ruleset(info.Name)
			if err != nil {
				return err
			}
			sets = append(sets, rs.Ruleset)
		}
		st.Complete(sets...)
	}
	if opts.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	writeStatsText(e.stdout, st)
	return nil
}

// writeStatsText prints one table per ruleset.
func writeStatsText(w io.Writer, st decisionlog.Stats) {
	const layout = "2006-01-02 15:04 UTC"
	fmt.Fprintf(w, "Decisions from %s to %s\n", st.Since.Format(layout), st.Until.Format(layout))
	if len(st.Rulesets) == 0 {
		fmt.Fprintln(w, "\nNo decisions in this window.")
		return
	}
	for _, rs := range st.Rulesets {
		fmt.Fprintf(w, "\n%s: %s, %d qualified (%s)\n", rs.Ruleset, plural(rs.Decisions, "decision"), rs.Qualified, percent(rs.QualifiedRate, rs.Decisions))
		if len(rs.Rules) == 0 || rs.Decisions == 0 {
			continue
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  kind\trule\t  hits\tof decisions\tqualified")
		for _, r := range rs.Rules {
			fmt.Fprintf(tw, "  %s\t%s\t%6d\t%12s\t%9s\n", r.Kind, r.Rule, r.Hits, percent(r.HitRate, rs.Decisions), percent(r.QualifiedRate, r.Hits))
		}
		tw.Flush()
	}
}

// percent writes a rate as a percentage, or "-" when there is nothing to
// divide.
func percent(rate float64, of int) string {
	if of == 0 {
		return "-"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", 100*rate), ".0") + "%"
}
