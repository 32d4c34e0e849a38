package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/leadq/leadq/diff"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type diffOptions struct {
	old, new string
	leads    string
	ruleset  string
	now      string
	top      int
	format   string
	strict   bool
}

func newDiffCmd(e *env) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff OLD NEW --leads FILE",
		Short: "Score the same leads with two versions of a ruleset and show what moves",
		Long: `diff scores every lead in --leads with the OLD and the NEW ruleset and reports how many
leads change qualification and tier, the tier transition matrix, the leads whose score moves
most, and the rules responsible: those that start or stop firing, or whose points changed.

OLD and NEW are rule files, directories, or git revisions with a path, like
HEAD~1:examples/rulesets (read with git from the repository of the current directory).
--leads is a CSV file with a header row (columns like employees, lead.employees or
account.lifetime_value; id for the lead id), JSON Lines of scoring requests as leadq score
reads them, or a directory of such files. Both sides use one clock, --now or today.`,
		Args: diffArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.old, opts.new = args[0], args[1]
			if opts.leads == "" {
				return &usageError{fmt.Errorf("--leads is required (a CSV or JSON Lines file of leads)")}
			}
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			return runDiff(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.leads, "leads", "", "leads to score: CSV with a header, JSON Lines, or a directory of them")
	cmd.Flags().StringVar(&opts.ruleset, "ruleset", "", "ruleset name (needed when OLD or NEW hold several)")
	cmd.Flags().StringVar(&opts.now, "now", "", "score as of this date (2026-11-01); default today")
	cmd.Flags().IntVar(&opts.top, "top", 10, "how many of the leads that move most to list (-1 for all)")
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&opts.strict, "strict", false, "refuse leads with wrong-typed fields instead of warning")
	return cmd
}

// diffArgs wants exactly OLD and NEW, as a usage error.
func diffArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 2 {
		return &usageError{fmt.Errorf("want OLD and NEW, got %d argument(s): leadq %s", len(args), cmd.Use)}
	}
	return nil
}

func runDiff(ctx context.Context, e *env, opts diffOptions) error {
	dopts := diff.Options{Top: opts.top, Strict: opts.strict}
	if opts.now != "" {
		now, err := rulefile.ParseDate(opts.now)
		if err != nil {
			return &usageError{fmt.Errorf("--now: %w", err)}
		}
		dopts.Now = now
	}
	old, err := loadDiffSide(ctx, e, "OLD", opts.old, opts.ruleset)
	if err != nil {
		return err
	}
	name := opts.ruleset
	if name == "" {
		name = old.Name // NEW must then hold it, or be a single ruleset
	}
	nw, err := loadDiffSide(ctx, e, "NEW", opts.new, name)
	if err != nil && opts.ruleset == "" {
		nw, err = loadDiffSide(ctx, e, "NEW", opts.new, "")
	}
	if err != nil {
		return err
	}
	leads, err := diff.ReadLeads(opts.leads, old, nw)
	if err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("--leads: %w", err)}
	}
	if unknown := diff.UnknownFields(leads, old, nw); len(unknown) > 0 {
		fmt.Fprintf(e.stderr, "leadq: note: neither ruleset declares %s; those values are ignored\n", strings.Join(unknown, ", "))
	}
	rep, err := diff.Compare(old, nw, leads, dopts)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if opts.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeDiffText(e.stdout, rep, opts.old, opts.new)
	return nil
}

// loadDiffSide compiles one side and picks the ruleset named name, or the
// only one when name is "".
func loadDiffSide(ctx context.Context, e *env, label, spec, name string) (*rules.Ruleset, error) {
	rulesets, err := diff.LoadRulesets(ctx, spec)
	if err != nil {
		var list rules.ErrorList
		if errors.As(err, &list) {
			for _, p := range list {
				fmt.Fprintln(e.stderr, p.Format())
			}
			return nil, &exitError{code: exitFailed, err: fmt.Errorf("%s (%s) has %s", label, spec, plural(len(list.Errors()), "error"))}
		}
		return nil, &exitError{code: exitFailed, err: err}
	}
	var names []string
	for _, rs := range rulesets {
		if rs.Name == name || (name == "" && len(rulesets) == 1) {
			return rs, nil
		}
		names = append(names, rs.Name)
	}
	if name == "" {
		return nil, &usageError{fmt.Errorf("%s (%s) holds %d rulesets (%s); name one with --ruleset", label, spec, len(names), strings.Join(names, ", "))}
	}
	return nil, &usageError{fmt.Errorf("%s (%s) has no ruleset %q (it has %s)", label, spec, name, strings.Join(names, ", "))}
}

func writeDiffText(w io.Writer, r *diff.Report, oldSpec, newSpec string) {
	name := r.New.Name
	if r.Old.Name != r.New.Name {
		name = r.Old.Name + " -> " + r.New.Name
	}
	fmt.Fprintf(w, "%s: %s (%s) -> %s (%s)\n", name, oldSpec, shortVersion(r.Old.Version), newSpec, shortVersion(r.New.Version))
	fmt.Fprintf(w, "%s scored with both, as of %s\n", plural(r.Leads, "lead"), r.Now.Format("2006-01-02"))
	for _, x := range r.Refused {
		fmt.Fprintf(w, "  refused by %s: %s (%s): %s\n", x.Side, x.Lead, x.Where, x.Error)
	}
	if r.Leads == 0 {
		return
	}
	fmt.Fprintln(w)
	countLine := func(label string, c diff.Count, gained, lost string) {
		fmt.Fprintf(w, "  %-13s %d -> %d", label, c.Old, c.New)
		var parts []string
		if c.Gained > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.Gained, gained))
		}
		if c.Lost > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.Lost, lost))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "  (%s)", strings.Join(parts, ", "))
		}
		fmt.Fprintln(w)
	}
	countLine("qualified", r.Qualified, "newly qualified", "no longer qualified")
	countLine("knocked out", r.KnockedOut, "newly knocked out", "no longer knocked out")
	fmt.Fprintf(w, "  %-13s %s\n", "tier changed", plural(r.TierChanged, "lead"))
	fmt.Fprintf(w, "  %-13s %s\n", "score changed", plural(r.ScoreChanged, "lead"))

	fmt.Fprintln(w, "\nTier transitions (rows: old tier, columns: new tier)")
	width := 4
	for _, t := range r.Tiers {
		width = max(width, len(t)+1)
	}
	for _, row := range r.Matrix {
		for _, n := range row {
			width = max(width, len(fmt.Sprint(n))+1)
		}
	}
	fmt.Fprintf(w, "  %*s", width, "")
	for _, t := range r.Tiers {
		fmt.Fprintf(w, "%*s", width+1, t)
	}
	fmt.Fprintln(w)
	for i, t := range r.Tiers {
		fmt.Fprintf(w, "  %*s", width, t)
		for _, n := range r.Matrix[i] {
			cell := fmt.Sprint(n)
			if n == 0 {
				cell = "."
			}
			fmt.Fprintf(w, "%*s", width+1, cell)
		}
		fmt.Fprintln(w)
	}

	if len(r.Movers) == 0 {
		fmt.Fprintln(w, "\nNo lead's decision changed.")
	} else {
		fmt.Fprintln(w, "\nLeads that move most")
		idw := 0
		for _, m := range r.Movers {
			idw = max(idw, len(m.Lead))
		}
		for _, m := range r.Movers {
			verdict := ""
			switch {
			case m.NewQualified && !m.OldQualified:
				verdict = "  now qualified"
			case m.OldQualified && !m.NewQualified:
				verdict = "  no longer qualified"
			}
			fmt.Fprintf(w, "  %+5d  %-*s  %s %d -> %s %d%s\n", m.Delta, idw, m.Lead, m.OldTier, m.OldScore, m.NewTier, m.NewScore, verdict)
			var why []string
			if len(m.Started) > 0 {
				why = append(why, "fires now: "+strings.Join(m.Started, ", "))
			}
			if len(m.Stopped) > 0 {
				why = append(why, "no longer fires: "+strings.Join(m.Stopped, ", "))
			}
			if len(why) > 0 {
				fmt.Fprintf(w, "  %5s  %-*s  %s\n", "", idw, "", strings.Join(why, "; "))
			}
		}
	}

	if len(r.Rules) == 0 {
		return
	}
	fmt.Fprintln(w, "\nRules responsible (leads it now fires for, no longer fires for, fires for with new points)")
	rw := len("rule")
	for _, rc := range r.Rules {
		rw = max(rw, len(rc.Rule))
	}
	fmt.Fprintf(w, "  %-*s  %7s  %7s  %9s  %7s  %s\n", rw, "rule", "started", "stopped", "repointed", "points", "change")
	for _, rc := range r.Rules {
		points := fmt.Sprintf("%+d", rc.Points)
		if rc.Knockout {
			points = "-"
		}
		fmt.Fprintf(w, "  %-*s  %7d  %7d  %9d  %7s  %s\n", rw, rc.Rule, rc.Started, rc.Stopped, rc.Repointed, points, describeChange(rc))
	}
	fmt.Fprintln(w, "  (points: the net points the rule gives across these leads, before group caps)")
}

func describeChange(rc diff.RuleChange) string {
	kind := "score rule"
	if rc.Knockout {
		kind = "knockout"
	}
	switch rc.Change {
	case "added":
		if rc.Knockout {
			return "new knockout"
		}
		return fmt.Sprintf("new score rule (%+d)", rc.NewPoints)
	case "removed":
		return "removed " + kind
	case "changed":
		var parts []string
		for _, p := range rc.Parts {
			if p == "points" {
				p = fmt.Sprintf("points %+d -> %+d", rc.OldPoints, rc.NewPoints)
			}
			parts = append(parts, p)
		}
		return "changed: " + strings.Join(parts, ", ")
	}
	return "same text; a list, macro or field it reads changed"
}
