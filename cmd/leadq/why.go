package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type whyOptions struct {
	who     string // lead id, or email when it has an @
	log     string
	keyFile string
	rules   []string
	limit   int
	format  string
	now     string
}

func newWhyCmd(e *env) *cobra.Command {
	var opts whyOptions
	cmd := &cobra.Command{
		Use:   "why LEAD_ID|EMAIL|DECISION_ID --log FILE|URL [--rules PATH]",
		Short: "Explain the logged decisions about a lead, and whether it would qualify today",
		Long: `why looks a lead up in the decision log that leadq serve --log-db writes (a SQLite file, or
the postgres:// URL several replicas share), by decision id (as answered), lead id or email (an
argument with an @), and explains its latest decisions as leadq score does: the
verdict, what rejected it, what counted for and against it, what it would take to qualify and
which data was missing.

With --rules, it also scores the stored input against the rules as they are now and says
whether the lead would qualify today and what changed: verdict, tier, score, the ruleset
version, and the rules that fire or stop firing. Fields the log masked (--log-mask) are hashed
or missing in the stored input, so rules that read them may decide differently.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("give one lead id or email, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.who = strings.TrimSpace(args[0])
			if opts.log == "" {
				return &usageError{errors.New("--log is required (the decision log file of leadq serve --log-db)")}
			}
			if opts.who == "" {
				return &usageError{errors.New("give a lead id or an email")}
			}
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			if opts.limit < 1 || opts.limit > decisionlog.MaxLimit {
				return &usageError{fmt.Errorf("--limit %d: give 1 to %d", opts.limit, decisionlog.MaxLimit)}
			}
			return runWhy(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.log, "log", "", "the decision log leadq serve --log-db writes: a SQLite file or a postgres:// URL")
	cmd.Flags().StringVar(&opts.keyFile, "log-mask-key-file", "", "the key the log hashes emails with (--log-mask hash; or set "+maskKeyEnv+"), to look up by email")
	cmd.Flags().StringSliceVar(&opts.rules, "rules", nil, "re-explain against these rule files or directories (would it qualify today?)")
	cmd.Flags().IntVar(&opts.limit, "limit", 1, "how many decisions to show, latest first")
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text (for people) or json")
	cmd.Flags().StringVar(&opts.now, "now", "", "re-explain as of this date (2026-11-01), for days_since & co")
	return cmd
}

// whyJSON is one decision of `leadq why --format json`: the stored record
// and, with --rules, today's decision and what changed.
type whyJSON struct {
	decisionlog.Record
	Today *todayJSON `json:"today,omitempty"`
}

type todayJSON struct {
	Decision engine.Decision        `json:"decision"`
	Changes  decisionlog.Comparison `json:"changes"`
}

func runWhy(ctx context.Context, e *env, opts whyOptions) error {
	r, err := openLogReader(ctx, opts.log, opts.keyFile)
	if err != nil {
		return err
	}
	defer r.Close()
	q := decisionlog.Query{LeadID: opts.who, Limit: opts.limit}
	what := "lead " + opts.who
	if strings.Contains(opts.who, "@") {
		q = decisionlog.Query{Email: opts.who, Limit: opts.limit}
		what = opts.who
	}
	var recs []decisionlog.Record
	if uuid.Validate(opts.who) == nil { // a decision id, as answered; else a lead id of that shape
		if rec, err := r.Get(ctx, opts.who); err == nil {
			recs, what = []decisionlog.Record{rec}, "decision "+opts.who
		} else if !errors.Is(err, decisionlog.ErrNotFound) {
			return err
		}
	}
	if recs == nil {
		recs, err = r.Find(ctx, q)
	}
	if errors.Is(err, decisionlog.ErrNoKey) {
		return fmt.Errorf("%w (--log-mask-key-file or %s)", err, maskKeyEnv)
	}
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("no decisions about %s in %s", what, r.Path())}
	}

	var eng *engine.Engine
	if len(opts.rules) > 0 {
		clock := []engine.Option{}
		if opts.now != "" {
			now, err := rulefile.ParseDate(opts.now)
			if err != nil {
				return &usageError{fmt.Errorf("--now: %w", err)}
			}
			clock = append(clock, engine.WithClock(func() time.Time { return now }))
		}
		if eng, err = engine.Open(ctx, engine.Paths(opts.rules...), clock...); err != nil {
			return rulesError(e, err)
		}
	}

	var out []whyJSON
	failed := 0
	for i, rec := range recs {
		item := whyJSON{Record: rec}
		if eng != nil {
			d, err := scoreJSON(ctx, eng, rec.Decision.Ruleset.Name, rec.Input)
			if err != nil {
				failed++
				fmt.Fprintf(e.stderr, "decision %s: cannot re-explain: %v\n", rec.ID, err)
			} else {
				item.Today = &todayJSON{Decision: d, Changes: decisionlog.Compare(rec.Decision, d)}
			}
		}
		if opts.format == "json" {
			out = append(out, item)
			continue
		}
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		writeWhyText(e.stdout, item, r.Mask(), titlesOf(eng, rec.Decision.Ruleset.Name))
	}
	if opts.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"decisions": out}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s could not be re-explained", plural(failed, "decision"))}
	}
	return nil
}

// openLogReader opens a decision log read-only, with the masking key from
// a file or the environment when one is given.
func openLogReader(ctx context.Context, path, keyFile string) (*decisionlog.Reader, error) {
	key, err := maskKey(keyFile)
	if err != nil {
		return nil, err
	}
	return decisionlog.OpenReader(ctx, path, decisionlog.WithMask(decisionlog.Mask{Key: key}))
}

// rulesError prints rule errors as leadq score does.
func rulesError(e *env, err error) error {
	if list, ok := err.(rules.ErrorList); ok {
		for _, p := range list {
			fmt.Fprintln(e.stderr, p.Format())
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("the rules have %s; run leadq check", plural(len(list.Errors()), "error"))}
	}
	return err
}

// writeWhyText explains one logged decision for a rep: when it was made,
// the decision as leadq score prints it, and with rules, today's verdict
// and what changed.
func writeWhyText(w io.Writer, item whyJSON, mask decisionlog.Mask, titles fieldTitles) {
	fmt.Fprintf(w, "Decided %s (decision %s)\n", item.Time.UTC().Format("2006-01-02 15:04:05 UTC"), item.ID)
	writeDecisionText(w, item.Decision, titles)
	if item.Today == nil {
		return
	}
	d, c := item.Today.Decision, item.Today.Changes
	fmt.Fprintf(w, "\nToday, with ruleset %s %s: %s, tier %s, score %d\n", d.Ruleset.Name, shortVersion(d.Ruleset.Version), verdictText(d.Qualified), d.Tier, d.Score)
	switch {
	case c.QualifiedThen != c.QualifiedNow && c.QualifiedNow:
		fmt.Fprintln(w, "It would qualify today.")
	case c.QualifiedThen != c.QualifiedNow:
		fmt.Fprintln(w, "It would no longer qualify today.")
	case c.QualifiedNow:
		fmt.Fprintln(w, "It would still qualify today.")
	default:
		fmt.Fprintln(w, "It would still not qualify today.")
	}
	writeChanges(w, c)
	writeWouldQualify(w, d, titles)
	if then, now := titles.join(item.Decision.MissingFields), titles.join(d.MissingFields); now != then {
		if now == "" {
			now = "none"
		}
		fmt.Fprintf(w, "\nMissing data today: %s\n", now)
	}
	if mask.Mode != decisionlog.MaskNone && mask.Mode != "" {
		what := "hashed"
		if mask.Mode == decisionlog.MaskDrop {
			what = "missing"
		}
		fmt.Fprintf(w, "\nNote: the log masks these input fields: %s. Rules that read them see them %s today.\n",
			strings.Join(mask.Fields, ", "), what)
	}
}

func verdictText(qualified bool) string {
	if qualified {
		return "QUALIFIED"
	}
	return "NOT QUALIFIED"
}

// writeChanges lists what differs between the stored decision and today's.
func writeChanges(w io.Writer, c decisionlog.Comparison) {
	if !c.Changed {
		if c.VersionThen != c.VersionNow {
			fmt.Fprintf(w, "\nThe ruleset changed (%s -> %s), but not for this lead: same verdict, tier, score and rules.\n",
				shortVersion(c.VersionThen), shortVersion(c.VersionNow))
		} else {
			fmt.Fprintln(w, "\nNothing changed: same ruleset version, verdict, tier and score.")
		}
		return
	}
	fmt.Fprintln(w, "\nWhat changed since then:")
	if c.VersionThen != c.VersionNow {
		fmt.Fprintf(w, "  ruleset version %s -> %s\n", shortVersion(c.VersionThen), shortVersion(c.VersionNow))
	}
	if c.QualifiedThen != c.QualifiedNow {
		fmt.Fprintf(w, "  verdict %s -> %s\n", verdictText(c.QualifiedThen), verdictText(c.QualifiedNow))
	}
	if c.TierThen != c.TierNow {
		fmt.Fprintf(w, "  tier %s -> %s\n", c.TierThen, c.TierNow)
	}
	if c.ScoreThen != c.ScoreNow {
		fmt.Fprintf(w, "  score %d -> %d (%+d)\n", c.ScoreThen, c.ScoreNow, c.ScoreNow-c.ScoreThen)
	}
	for _, h := range c.KnockoutsGone {
		fmt.Fprintf(w, "  no longer rejected by %s: %s\n", h.Rule, h.Reason)
	}
	for _, h := range c.KnockoutsAdded {
		fmt.Fprintf(w, "  now rejected by %s: %s\n", h.Rule, h.Reason)
	}
	for _, h := range c.MatchedAdded {
		fmt.Fprintf(w, "  now counts %+d  %s [%s]\n", h.Points, h.Reason, h.Rule)
	}
	for _, h := range c.MatchedGone {
		fmt.Fprintf(w, "  no longer counts %+d  %s [%s]\n", h.Points, h.Reason, h.Rule)
	}
	for _, p := range c.Repointed {
		fmt.Fprintf(w, "  %s counts %+d, was %+d\n", p.Rule, p.PointsNow, p.PointsThen)
	}
}
