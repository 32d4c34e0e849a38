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
	"path/filepath"
	"strings"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type deriveOptions struct {
	data       string
	best       string
	outcome    string
	negative   []string
	dataOpts   dataOptions
	opts       derive.Options
	holdoutPct float64
	minBin     float64
	minValue   float64
	units      []string
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
		Long: `derive builds a scorecard from history, as credit-risk teams do, and writes it as a readable
rule file. It reads the data twice (CSV, JSON Lines or Parquet; stdin is kept in a temporary
file): first to count each column's values, then to put every row into bins. Numbers become
ranges whose conversion rises or falls steadily where the data allow, rare values are pooled,
and a missing value is a bin of its own that can earn points (lead.x == nil). A ridge logistic
regression fits all bins at once; cross-validation on the training rows chooses its penalty and
the size of the numbers' ranges (cut again inside every fold, so that it sees their overfit);
the coefficients become integer points (--pdo points double the odds), one rule per bin that
earns points, each with its evidence in a comment. Tiers follow --tiers (shares of leads,
target conversion rates, or capacities) and state the conversion cross-validation expects
(expect:, which decisions carry as expected_rate and backtest checks). Columns that look
recorded after contact (call outcomes, a rep's verdict, columns missing on the same rows as
those) are left out unless --keep names them.

--best names the best rows: an expression over the columns ('Converted == "1"', columns with
spaces as $env["Lead Source"] or snake_case, lead_source), top:N:COLUMN or top:P%:COLUMN (the
rows with the highest values, ranked over all rows before the split); or give --outcome
COLUMN=VALUE. Leave out columns that are filled in after the outcome with --exclude. --unit
'Total Time Spent on Website=seconds' declares the field with its unit and says it in the
rules' descriptions ("is 240 to under 400 seconds").

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
	f.StringArrayVar(&o.units, "unit", nil, "what a column's numbers count, COLUMN=UNIT like 'Total Time Spent on Website=seconds' (repeatable): the field declares it and the rules say it")
	f.StringSliceVar(&o.opts.Keep, "keep", nil, "columns to use although they look recorded after contact (names or globs)")
	f.Float64Var(&o.opts.PDO, "pdo", 20, "points that double the odds of being best")
	f.Float64Var(&o.minBin, "min-bin", 0, "the smallest percentage of the training rows a range of numbers may hold (default: chosen by cross-validation from 2.5, 5 and 10)")
	f.Float64Var(&o.minValue, "min-value", 2, "the smallest percentage of the training rows on which a value is a bin of its own (rarer values are pooled)")
	f.IntVar(&o.opts.Folds, "folds", 5, "cross-validation folds that choose the penalty and the tiers' expected rates")
	f.StringVar(&o.tiers, "tiers", "15,25,30", "tiers from the top: percentages of leads (15,25,30; the rest in a last tier), target conversion rates (rate:85,50) or capacities out of a volume of leads (capacity:300,1000/5000)")
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
	tiers, err := derive.ParseTiers(o.tiers)
	if err != nil {
		return &usageError{fmt.Errorf("--tiers %w", err)}
	}
	opts.Tiers = tiers
	opts.MinBin = o.minBin / 100
	opts.MinValue = o.minValue / 100
	for _, spec := range o.units {
		col, unit, ok := strings.Cut(spec, "=")
		col, unit = strings.TrimSpace(col), strings.TrimSpace(unit)
		if !ok || col == "" || unit == "" {
			return &usageError{fmt.Errorf("--unit %q: expected COLUMN=UNIT, like 'Total Time Spent on Website=seconds'", spec)}
		}
		if opts.Units == nil {
			opts.Units = map[string]string{}
		}
		opts.Units[col] = unit
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

	// derive reads the data twice; stdin is kept in a temporary file.
	dataPath := o.data
	if o.data == "-" {
		tmp, err := os.CreateTemp("", "leadq-derive-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, e.stdin)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		dataPath = tmp.Name()
	}
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	var delim rune
	open := func() (backtest.Source, error) {
		in, _, closeData, err := openData(e, dataPath)
		if err != nil {
			return nil, err
		}
		closers = append(closers, closeData)
		src, err := openSource(in, displayName(o.data), o.dataOpts)
		if err == nil && delim == 0 {
			delim = sniffedDelimiter(src)
		}
		return src, err
	}
	for _, spec := range o.dataOpts.joinAggs {
		if a, err := backtest.ParseAgg(spec); err == nil {
			opts.Summaries = append(opts.Summaries, a.Name)
		}
	}
	var holdout *derive.RowWriterTo
	var holdoutBuf *bufio.Writer
	if o.holdoutOut != "" {
		f, err := os.Create(o.holdoutOut)
		if err != nil {
			return err
		}
		defer f.Close()
		holdoutBuf = bufio.NewWriter(f)
		jsonl := strings.HasSuffix(strings.ToLower(o.holdoutOut), ".jsonl") || strings.HasSuffix(strings.ToLower(o.holdoutOut), ".ndjson")
		d, err := parseDelimiter(o.dataOpts.delimiter)
		if err != nil {
			return err
		}
		if d == 0 { // the held-out rows are written as the data was
			if _, err := open(); err != nil {
				return err
			}
			d = delim
		}
		holdout = derive.NewRowWriter(holdoutBuf, jsonl, d)
		opts.HoldOut = holdout
	}
	res, err := derive.Derive(ctx, open, opts)
	var be *derive.BestError
	if errors.As(err, &be) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	if holdout != nil {
		if err := holdout.Flush(); err != nil {
			return err
		}
		if err := holdoutBuf.Flush(); err != nil {
			return err
		}
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
	} else if err := replaceFile(o.output, res.YAML); err != nil {
		return err
	}
	if o.mapOut != "" {
		if err := replaceFile(o.mapOut, res.MappingYAML()); err != nil {
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
	fmt.Fprintf(e.stderr, "derived %s from %s (%s best); cross-validated AUC %.3f",
		plural(len(res.Ruleset.Rules), "score rule"), plural(res.TrainRows, "training row"), backtest.Count(int64(res.TrainBest)), res.CVAUC)
	if len(res.Tiers) > 0 {
		t := res.Tiers[0]
		fmt.Fprintf(e.stderr, ", tier %s expected to convert %s", t.Name, backtest.Pct(t.Expected))
	}
	fmt.Fprintln(e.stderr)
	for _, l := range res.Leaks {
		fmt.Fprintf(e.stderr, "warning: left out: %s\n", l)
	}
	for _, l := range res.Warnings {
		fmt.Fprintf(e.stderr, "warning: %s\n", l)
	}
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
