package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { subcommands = append(subcommands, newDeriveCmd) }

type deriveOptions struct {
	data       string
	best       string
	outcome    string
	negative   []string
	dataOpts   dataOptions
	opts       derive.Options
	holdoutPct float64
	tiers      string
	now        string
	output     string
	holdoutOut string
	mapOut     string
	report     string
	command    string
}

func newDeriveCmd(e *env) *cobra.Command {
	var o deriveOptions
	cmd := &cobra.Command{
		Use:   "derive --data FILE --best EXPR|top:N:COLUMN",
		Short: "Propose a ruleset, with evidence, from your best customers",
		Long: `derive compares the best rows of a CSV or JSONL file with all of them, column by column
(values with counts and lift, numbers in quantile bands), and proposes a complete rule file:
fields with inferred types, lists, score rules with points scaled by their evidence, knockouts
for common values the best never have, tiers cut from the score distribution, and tests. Each
rule's comment states its evidence. The file passes leadq check.

--best names the best rows: an expression over the columns ('Converted == "1"', columns with
spaces as $env["Lead Source"] or snake_case, lead_source), top:N:COLUMN or top:P%:COLUMN (the
rows with the highest values, ranked over all rows before the split); or give --outcome
COLUMN=VALUE. Leave out columns that are filled in after the outcome with --exclude.

--holdout 30 keeps 30% of the rows (stratified, seeded by --seed) out of the analysis and
writes them, with a leadq_best column, to --holdout-out; backtest the proposal on them with
the mapping --map-out writes:

  leadq derive --data leads.csv --best 'Converted == "1"' --exclude Tags --missing Select \
      --holdout 30 --holdout-out holdout.csv --map-out map.yaml -o derived.yaml
  leadq backtest --rules derived.yaml --data holdout.csv --map map.yaml`,
		Args: rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.data == "" {
				return &usageError{errors.New("--data is required")}
			}
			if (o.best == "") == (o.outcome == "") {
				return &usageError{errors.New("give one of --best (EXPR, top:N:COLUMN or top:P%:COLUMN) and --outcome COLUMN=VALUE")}
			}
			o.command = commandLine(cmd)
			return runDerive(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "rows to derive from: a CSV or JSONL file, - for stdin")
	f.StringVar(&o.best, "best", "", `the best rows: an expression like 'Converted == "1"', or top:N:COLUMN, or top:P%:COLUMN`)
	f.StringVar(&o.outcome, "outcome", "", "the best rows are those whose outcome is positive: COLUMN or COLUMN=VALUE[|VALUE]")
	f.StringSliceVar(&o.negative, "negative", nil, "with --outcome: the values that count as not best; rows with other values are left out")
	f.StringSliceVar(&o.opts.Exclude, "exclude", nil, "columns to leave out, such as ones filled in after the outcome (names or globs like 'Asymmetrique*')")
	f.StringSliceVar(&o.opts.Include, "include", nil, "only these columns (names or globs)")
	f.StringSliceVar(&o.opts.Missing, "missing", nil, `values that mean "no data" besides the empty value, like Select`)
	f.StringVar(&o.opts.Namespace, "namespace", "lead", "where the fields go: lead or account")
	f.StringVar(&o.opts.Name, "name", "", "ruleset name (default: from the data file's name)")
	f.StringVar(&o.opts.Noun, "noun", "", "what a row is, for the comments (default leads, or accounts with --namespace account)")
	f.Float64Var(&o.holdoutPct, "holdout", 0, "percentage of rows held out of the analysis, e.g. 30")
	f.Uint64Var(&o.opts.Seed, "seed", 1, "seed of the holdout split")
	f.StringVar(&o.holdoutOut, "holdout-out", "", "write the held-out rows here (with a leadq_best column), to backtest on")
	f.StringVar(&o.mapOut, "map-out", "", "write a mapping file for leadq backtest --map here")
	f.IntVar(&o.opts.Bands, "bands", 5, "quantile bands per numeric column")
	f.IntVar(&o.opts.MinSupport, "min-support", 0, "rows a value needs for a rule (default max(10, 0.5% of the training rows))")
	f.Float64Var(&o.opts.MinZ, "min-z", 1.96, "standard deviations a value's rate must lie from the base rate")
	f.Float64Var(&o.opts.PDO, "pdo", 20, "points that double the odds of being best")
	f.IntVar(&o.opts.MaxPoints, "max-points", 50, "most points one rule may give or take")
	f.IntVar(&o.opts.MinPoints, "min-points", 10, "fewest points worth a rule")
	f.StringVar(&o.tiers, "tiers", "20,30,30", "percentages of the training rows in each tier from the top; the rest go to the last tier")
	f.StringVar(&o.now, "now", "", "the date days_since is counted to (default: today)")
	f.StringVarP(&o.output, "output", "o", "", "write the rule file here instead of stdout")
	f.StringVar(&o.report, "report", "", "write the evidence for every column here (JSON when the name ends in .json)")
	o.dataOpts.addFlags(cmd)
	return cmd
}

// commandLine rebuilds the command as typed, for the proposal's header.
func commandLine(cmd *cobra.Command) string {
	parts := []string{"leadq", cmd.Name()}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		vals := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			vals = sv.GetSlice()
			if f.Value.Type() == "stringSlice" {
				vals = []string{strings.Join(vals, ",")}
			}
		}
		for _, v := range vals {
			parts = append(parts, "--"+f.Name, shellQuote(v))
		}
	})
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:,=%+@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func runDerive(ctx context.Context, e *env, o deriveOptions) error {
	opts := o.opts
	opts.Data = displayName(o.data)
	opts.Command = o.command
	opts.Holdout = o.holdoutPct / 100
	opts.Files = derive.Files{Rules: o.output, Holdout: o.holdoutOut, Mapping: o.mapOut}
	if opts.Name == "" {
		opts.Name = rulesetName(o.data)
	}
	if o.now != "" {
		now, err := rulefile.ParseDate(o.now)
		if err != nil {
			return &usageError{fmt.Errorf("--now: %w", err)}
		}
		opts.Now = now
	}
	for _, s := range strings.Split(o.tiers, ",") {
		p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return &usageError{fmt.Errorf("--tiers %q: give percentages like 20,30,30", o.tiers)}
		}
		opts.TierShares = append(opts.TierShares, p/100)
	}
	if o.best != "" {
		b, err := derive.ParseBest(o.best)
		if err != nil {
			return &usageError{fmt.Errorf("--best %w", err)}
		}
		opts.Best = b
	} else {
		out, err := backtest.ParseOutcome(o.outcome)
		if err != nil {
			return &usageError{fmt.Errorf("--outcome %w", err)}
		}
		out.Negative = o.negative
		opts.Best = derive.Best{Outcome: &out}
	}
	if opts.Holdout > 0 && o.holdoutOut == "" {
		fmt.Fprintln(e.stderr, "warning: --holdout without --holdout-out: the held-out rows are left out but not written anywhere")
	}

	in, _, closeData, err := openData(e, o.data)
	if err != nil {
		return err
	}
	defer closeData()
	src, err := openSource(in, o.data, o.dataOpts)
	if err != nil {
		return err
	}
	for _, spec := range o.dataOpts.joinAggs {
		if a, err := backtest.ParseAgg(spec); err == nil {
			opts.Summaries = append(opts.Summaries, a.Name)
		}
	}
	res, err := derive.Derive(ctx, src, opts)
	var be *derive.BestError
	if errors.As(err, &be) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	for _, ex := range res.MalformedExamples {
		fmt.Fprintf(e.stderr, "skipped malformed row: %s\n", ex)
	}
	if res.ExprErrors > 0 {
		fmt.Fprintf(e.stderr, "warning: --best failed on %s rows; they count as not best\n", backtest.Count(int64(res.ExprErrors)))
	}

	if o.output == "" {
		if _, err := e.stdout.Write(res.YAML); err != nil {
			return err
		}
	} else if err := os.WriteFile(o.output, res.YAML, 0o644); err != nil {
		return err
	}
	if o.holdoutOut != "" {
		var buf bytes.Buffer
		jsonl := strings.HasSuffix(strings.ToLower(o.holdoutOut), ".jsonl") || strings.HasSuffix(strings.ToLower(o.holdoutOut), ".ndjson")
		delim, err := parseDelimiter(o.dataOpts.delimiter)
		if err != nil {
			return err
		}
		if delim == 0 {
			delim = sniffedDelimiter(src)
		}
		if err := res.WriteHoldout(&buf, jsonl, delim); err != nil {
			return err
		}
		if err := os.WriteFile(o.holdoutOut, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if o.mapOut != "" {
		if err := os.WriteFile(o.mapOut, res.MappingYAML(), 0o644); err != nil {
			return err
		}
	}
	if o.report != "" {
		var buf bytes.Buffer
		if strings.HasSuffix(strings.ToLower(o.report), ".json") {
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			err = enc.Encode(res.Attributes)
		} else {
			err = res.WriteReport(&buf)
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.report, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	writeDeriveSummary(e, res, o)
	return nil
}

func writeDeriveSummary(e *env, res *derive.Result, o deriveOptions) {
	nrules, nko := len(res.Ruleset.Rules), len(res.Ruleset.Knockouts)
	fmt.Fprintf(e.stderr, "derived %s and %s from %s (%s best)",
		plural(nrules, "score rule"), plural(nko, "knockout"), plural(res.TrainRows, "training row"), backtest.Count(int64(res.TrainBest)))
	if r := res.Train; r != nil && len(r.Tiers) > 0 {
		fmt.Fprintf(e.stderr, "; on them AUC %s, tier %s %s best (lift %s)", backtest.AUCText(r.AUC), r.Tiers[0].Name, backtest.Pct(r.Tiers[0].Rate), backtest.Lift(r.Tiers[0].Lift))
	}
	fmt.Fprintln(e.stderr)
	if o.holdoutOut != "" {
		fmt.Fprintf(e.stderr, "held out %s rows (%s best) in %s\n", backtest.Count(int64(res.HoldoutRows)), backtest.Count(int64(res.HoldoutBest)), o.holdoutOut)
	}
}

// rulesetName makes a kebab-case ruleset name from a data file's name.
func rulesetName(data string) string {
	base := strings.TrimSuffix(filepath.Base(data), filepath.Ext(data))
	k := strings.ReplaceAll(strings.TrimPrefix(backtest.Normalise(base), "_"), "_", "-")
	if k == "" || data == "-" {
		return "derived"
	}
	return k + "-derived"
}

// sniffedDelimiter is the delimiter the data was read with, so that the
// held-out rows are written the same way.
func sniffedDelimiter(src backtest.Source) rune {
	if d, ok := src.(interface{ Delimiter() rune }); ok && d.Delimiter() != 0 {
		return d.Delimiter()
	}
	return ','
}
