package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/internal/jsonscan"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type scoreOptions struct {
	rules   []string
	ruleset string
	format  string
	strict  bool
	now     string
	maps    []string // --map: input map files or FIELD=PATH pairs
	inputs  []string
}

func newScoreCmd(e *env) *cobra.Command {
	var opts scoreOptions
	cmd := &cobra.Command{
		Use:   "score --rules PATH [--ruleset NAME] [FILE|-]...",
		Short: "Score leads (JSON, JSON Lines or arrays from files or stdin) and explain the decisions",
		Long: `score decides leads against a ruleset and prints each decision: the verdict, tier and
score, what rejected the lead, what counted for and against it, what it would take to qualify
and which data was missing. A lead is a JSON object, {"id", "lead", "account"} or the bare
lead; an input holds one lead, a JSON array of leads, or leads one after another (JSON Lines).
With no FILE or with -, stdin is read. With --format json each decision is one line of JSON
(JSON Lines), in the order of the leads; a lead that cannot be scored is reported on stderr
as FILE:LINE:COL and the others are still scored. In JSON Lines a bad line (cut short, a
quote left open, not JSON) is reported as POST /v1/score/stream answers it, and the lines
after it are read; the exit status is 1 when any lead could not be scored.`,
		Args: rangeArgs(0, 1<<20),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.inputs = args
			if len(opts.inputs) == 0 {
				opts.inputs = []string{"-"}
			}
			if len(opts.rules) == 0 {
				return &usageError{fmt.Errorf("--rules is required (a rule file or directory)")}
			}
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			return runScore(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.rules, "rules", nil, "rule files or directories")
	cmd.Flags().StringVar(&opts.ruleset, "ruleset", "", "ruleset name (needed when several are loaded)")
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text (for people) or json")
	cmd.Flags().BoolVar(&opts.strict, "strict", false, "refuse leads with wrong-typed fields or undeclared keys instead of warning")
	cmd.Flags().StringArrayVar(&opts.maps, "map", nil, "read each lead through an input map: a mapping file (examples/crm/hubspot.yaml) or FIELD=PATH (lead.employees=properties.numberofemployees); repeatable")
	cmd.Flags().StringVar(&opts.now, "now", "", "evaluate as of this date (2026-11-01), for days_since & co")
	return cmd
}

func runScore(ctx context.Context, e *env, opts scoreOptions) error {
	var clock []engine.Option
	if opts.now != "" {
		now, err := rulefile.ParseDate(opts.now)
		if err != nil {
			return &usageError{fmt.Errorf("--now: %w", err)}
		}
		clock = append(clock, engine.WithClock(func() time.Time { return now }))
	}
	eng, err := engine.Open(ctx, engine.Paths(opts.rules...), append(clock, engine.WithStrict(opts.strict))...)
	if err != nil {
		if list, ok := err.(rules.ErrorList); ok {
			for _, p := range list {
				fmt.Fprintln(e.stderr, p.Format())
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("the rules have %s; run leadq check", plural(len(list.Errors()), "error"))}
		}
		return err
	}
	var mapping *backtest.Mapping
	if len(opts.maps) > 0 {
		if mapping, err = buildMapping(opts.maps, nil, ""); err != nil {
			return err
		}
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	defer out.Flush()
	failed, scored := 0, 0
	var unread []string // where a stream stopped: its later leads were not read
	var buf []byte
	for _, name := range opts.inputs {
		f, err := openInput(e.stdin, name)
		if err != nil {
			return err
		}
		seq := jsonscan.NewReader(f)
		for n := 1; ; n++ {
			data, pos, err := seq.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var long *jsonscan.LongLineError
			if errors.As(err, &long) { // one line passed over; the next are read
				failed++
				fmt.Fprintf(e.stderr, "%s:%v\n", displayName(name), err)
				continue
			}
			var syntax *jsonscan.SyntaxError
			if errors.As(err, &syntax) {
				failed++
				fmt.Fprintf(e.stderr, "%s:%v\n", displayName(name), err)
				unread = append(unread, fmt.Sprintf("%s:%v", displayName(name), syntax.Pos))
				break
			}
			if err != nil { // the input could not be read: no lead of it was
				f.Close()
				return err
			}
			if mapping != nil {
				data = mapRequest(mapping, data)
			}
			d, err := scoreJSON(ctx, eng, opts.ruleset, data)
			if err != nil {
				if errors.Is(err, engine.ErrUnknownRuleset) || errors.Is(err, engine.ErrNoDefault) {
					f.Close()
					return err // no lead can be scored
				}
				failed++
				fmt.Fprintf(e.stderr, "%s:%v: %v\n", displayName(name), pos, err)
				continue
			}
			scored++
			if opts.format == "json" {
				buf = append(d.AppendJSON(buf[:0]), '\n')
				if _, err := out.Write(buf); err != nil {
					f.Close()
					return err
				}
				continue
			}
			if len(opts.inputs) > 1 || seq.Array() || n > 1 {
				fmt.Fprintf(out, "== %s lead %d (line %d)\n", displayName(name), n, pos.Line)
			} else if scored > 1 {
				fmt.Fprintln(out)
			}
			writeDecisionText(out, d, titlesOf(eng, d.Ruleset.Name))
		}
		f.Close()
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		err := fmt.Errorf("%s could not be scored (%d scored)", plural(failed, "lead"), scored)
		if len(unread) > 0 {
			// The count cannot include the leads the broken value hid.
			err = fmt.Errorf("%w; nothing from %s on was read", err, strings.Join(unread, ", "))
		}
		return &exitError{code: exitFailed, err: err}
	}
	return nil
}

// mapRequest reads a lead through an input map. A lead that is not a JSON
// object is left for the engine to refuse.
func mapRequest(m *backtest.Mapping, data []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if dec.Decode(&doc) != nil || doc == nil {
		return data
	}
	b, err := json.Marshal(m.Request(doc))
	if err != nil {
		return data
	}
	return b
}

// openInput opens a file of leads, or stdin for "-".
func openInput(stdin io.Reader, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(stdin), nil
	}
	return os.Open(name)
}

func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// writeDecisionText explains a decision for a sales rep: the verdict first,
// then why, then what it would take, then what data was missing.
func writeDecisionText(w io.Writer, d engine.Decision, titles fieldTitles) {
	verdict := "NOT QUALIFIED"
	if d.Qualified {
		verdict = "QUALIFIED"
	}
	id := d.LeadID
	if id == "" {
		id = "(no id)"
	}
	fmt.Fprintf(w, "Lead %s: %s, tier %s, score %d\n", id, verdict, d.Tier, d.Score)
	fmt.Fprintf(w, "Ruleset %s %s\n", d.Ruleset.Name, shortVersion(d.Ruleset.Version))
	if len(d.Knockouts) > 0 {
		fmt.Fprintln(w, "\nRejected because:")
		for _, k := range d.Knockouts {
			fmt.Fprintf(w, "  - %s [%s]\n", k.Reason, k.Rule)
		}
	}
	var pos, neg []engine.Hit
	for _, m := range d.Matched {
		if m.Points > 0 {
			pos = append(pos, m)
		} else {
			neg = append(neg, m)
		}
	}
	writeHits(w, "Counted for:", pos)
	writeHits(w, "Counted against:", neg)
	if len(d.Groups) > 0 {
		fmt.Fprintf(w, "\nGroup totals (after caps): %s\n", groupTotals(d.Groups))
	}
	writeWouldQualify(w, d, titles)
	if len(d.MissingFields) > 0 && len(d.Knockouts) == 0 {
		fmt.Fprintf(w, "\nMissing data: %s\n", titles.join(d.MissingFields))
	}
	if len(d.Warnings) > 0 {
		fmt.Fprintln(w, "\nInput warnings:")
		for _, x := range d.Warnings {
			fmt.Fprintf(w, "  - %s: %s\n", x.Field, x.Message)
		}
	}
	if len(d.Errors) > 0 {
		fmt.Fprintln(w, "\nRules that failed to run (did not count):")
		for _, x := range d.Errors {
			fmt.Fprintf(w, "  - %s: %s\n", x.Rule, x.Message)
		}
	}
}

// fieldTitles names fields as a rep reads them: by the label the rule file
// gives (lead.annual_revenue: {type: float, label: Annual revenue}), else by
// name. A nil fieldTitles names every field by its name.
type fieldTitles func(name string) string

// titlesOf reads the labels of the engine's ruleset of that name; nil when
// there is no engine or no such ruleset (a logged decision read without
// --rules).
func titlesOf(eng *engine.Engine, ruleset string) fieldTitles {
	if eng == nil {
		return nil
	}
	rs, err := eng.Ruleset(ruleset)
	if err != nil {
		return nil
	}
	return func(name string) string {
		if f := rs.Field(name); f != nil {
			return f.Title()
		}
		return name
	}
}

// title names one field.
func (t fieldTitles) title(name string) string {
	if t == nil {
		return name
	}
	return t(name)
}

// join names the fields, comma-separated.
func (t fieldTitles) join(names []string) string {
	if t == nil {
		return strings.Join(names, ", ")
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = t(n)
	}
	return strings.Join(out, ", ")
}

// writeWouldQualify says what it would take the lead to qualify, from the
// engine's counterfactual: for a knocked-out lead only that the knockouts
// come first; otherwise the nearest tier that qualifies, a smallest set of
// changes of the lead's data that qualifies it (each with the rules it
// makes true and false), the missed rules to check by hand, and each
// other missed rule with the points it would really add under its group's
// caps.
func writeWouldQualify(w io.Writer, d engine.Decision, titles fieldTitles) {
	cf := d.WouldQualify
	if d.Qualified || cf.IsZero() { // a decision logged before leadq said it has none
		return
	}
	fmt.Fprintln(w, "\nWhat it would take to qualify:")
	if len(cf.Knockouts) > 0 {
		fmt.Fprintf(w, "  Clear %s above first: no score qualifies a lead while a knockout applies.\n", plural(len(cf.Knockouts), "knockout"))
		return
	}
	if cf.Tier != "" {
		fmt.Fprintf(w, "  %d more points would make it tier %s, which qualifies.\n", cf.PointsNeeded, cf.Tier)
	}
	missed := map[string]engine.Miss{}
	for _, m := range d.Missed {
		missed[m.Rule] = m
	}
	matched := map[string]engine.Hit{}
	for _, h := range d.Matched {
		matched[h.Rule] = h
	}
	// describe names a rule as a rep reads it: its description (or
	// condition) when missed, its reason when matched.
	describe := func(rule string) string {
		if m, ok := missed[rule]; ok {
			if m.Description != "" {
				return m.Description + " [" + rule + "]"
			}
			return m.When + " [" + rule + "]"
		}
		if h, ok := matched[rule]; ok && h.Reason != "" {
			return h.Reason + " [" + rule + "]"
		}
		return "[" + rule + "]"
	}
	made := map[string]bool{}
	switch {
	case len(cf.Changes) > 0:
		fmt.Fprintf(w, "  A smallest set of changes that qualifies it (%s):\n", plural(len(cf.Changes), "change"))
		for _, c := range cf.Changes {
			label := c.Label
			if label == "" {
				label = titles.title(c.Field)
			}
			state := "unknown: ask the lead or enrich"
			if !c.Unknown {
				state = "now " + c.From
			}
			if c.Adds == 0 {
				state += "; counts together with a change below"
			}
			fmt.Fprintf(w, "    %+4d  %s: %s (%s)\n", c.Adds, label, c.Text, state)
			for _, r := range c.MakesTrue {
				made[r] = true
				fmt.Fprintf(w, "            makes true: %s\n", describe(r))
			}
			for _, r := range c.MakesFalse {
				fmt.Fprintf(w, "            no longer:  %s\n", describe(r))
			}
		}
	default:
		fmt.Fprintln(w, "  No change of the lead's data that leadq tried would qualify it.")
	}
	if len(cf.Verify) > 0 {
		fmt.Fprintln(w, "  To check by hand (no value leadq can derive from the rules makes them true):")
		for _, r := range cf.Verify {
			made[r] = true
			fmt.Fprintf(w, "    %+4d  %s\n", missed[r].Adds, describe(r))
		}
	}
	header := false
	for _, m := range d.Missed {
		if m.Adds <= 0 || made[m.Rule] {
			continue // a rule that would add nothing is not offered
		}
		if !header {
			fmt.Fprintln(w, "  Other missed rules, with what each would really add on its own:")
			header = true
		}
		s := fmt.Sprintf("    %+4d  %s", m.Adds, describe(m.Rule))
		if m.Adds != m.Points {
			s += fmt.Sprintf(" (%d points, %d under the %s cap)", m.Points, m.Adds, m.Group)
		}
		if len(m.MissingFields) > 0 {
			s += " \u2014 unknown, ask the lead or enrich: " + titles.join(m.MissingFields)
		} else {
			s += " \u2014 known, and not true"
		}
		fmt.Fprintln(w, s)
	}
}

func writeHits(w io.Writer, title string, hits []engine.Hit) {
	if len(hits) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	for _, h := range hits {
		group := ""
		if h.Group != "" {
			group = " (" + h.Group + ")"
		}
		fmt.Fprintf(w, "  %+4d  %s [%s%s]\n", h.Points, h.Reason, h.Rule, group)
	}
}

// groupTotals lists a decision's group totals as text, in its order (by
// name): "engagement 0, fit -5".
func groupTotals(groups engine.Groups) string {
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%s %d", g.Name, g.Total)
	}
	return strings.Join(parts, ", ")
}

// scoreJSON decides a JSON request with the engine's live ruleset of that
// name and the engine's options.
func scoreJSON(ctx context.Context, eng *engine.Engine, ruleset string, data []byte) (engine.Decision, error) {
	rs, err := eng.Ruleset(ruleset)
	if err != nil {
		return engine.Decision{}, err
	}
	return rs.ScoreJSON(ctx, data, eng.Options())
}
