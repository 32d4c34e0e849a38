package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadq/leadq/backtest"
	"github.com/leadq/leadq/derive"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type backtestOptions struct {
	rules      []string
	ruleset    string
	data       string
	outcome    string
	negative   []string
	maps       []string
	missing    []string
	missingSet bool
	id         string
	dataOpts   dataOptions
	format     string
	output     string
	now        string
	strict     bool
	workers    int
	progress   string
	evidence   bool
}

// dataOptions are the flags backtest and derive share for reading history.
type dataOptions struct {
	delimiter   string
	inputFormat string
	join        string
	joinOn      string
	joinWhere   string
	joinAggs    []string
}

func (o *dataOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.delimiter, "delimiter", "", `CSV delimiter (default: sniffed from the header among , ; tab |); "tab" for a tab`)
	f.StringVar(&o.inputFormat, "input-format", "auto", "data format: auto (from the name or first bytes), csv, jsonl or parquet")
	f.StringVar(&o.join, "join", "", "a second table (CSV or JSONL) whose columns are added to each row by key")
	f.StringVar(&o.joinOn, "join-on", "", "key column for --join: COLUMN, or COLUMN=COLUMN_IN_THE_JOINED_TABLE")
	f.StringVar(&o.joinWhere, "join-where", "", `only joined rows matching this expression, like 'deal_stage == "Won"'`)
	f.StringArrayVar(&o.joinAggs, "join-agg", nil, "summarise joined rows per key: NAME=FUNC(COLUMN), FUNC count, sum, mean, min or max (repeatable); without it --join is a one-row-per-key lookup")
}

func newBacktestCmd(e *env) *cobra.Command {
	var opts backtestOptions
	cmd := &cobra.Command{
		Use:   "backtest --rules PATH --data FILE --outcome COLUMN[=VALUE]",
		Short: "Score history with known outcomes and report how well the rules pick converters",
		Long: `backtest scores every row of a CSV (any delimiter, with a header row) or JSONL file against a
ruleset and compares the decisions with what happened: leads and conversion rate per tier, lift
over the base rate, precision/recall/F1 of the qualified verdict, ROC AUC of the score, score
deciles, score rules ranked by how well they separate outcomes, and the leads each knockout
rejected with their conversion rate. Memory stays flat however many rows there are.

Columns feed the fields whose key matches their normalised name ("Total Time Spent" feeds
lead.total_time_spent); --map names others, as FIELD=COLUMN or in a mapping file:

  id: Prospect ID
  outcome: Converted=1
  missing: ["", Select]        # values that mean "no data"
  fields:
    lead.employees: Employees

--outcome COLUMN counts yes/true/1/won as converted and no/false/0/lost as not;
COLUMN=VALUE[|VALUE] names the converted values, and --negative the only values that count as
not converted (other rows are skipped, like open deals).`,
		Example: `  leadq backtest --rules rules/ --data leads.csv --outcome Converted=1 --missing Select
  leadq backtest --rules b2b.yaml --data history.jsonl --outcome won --format html -o report.html
  leadq backtest --rules accounts.yaml --data sales_pipeline.csv --outcome deal_stage=Won --negative Lost \
      --join accounts.csv --join-on account`,
		Args: rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.rules) == 0 || opts.data == "" {
				return &usageError{errors.New("--rules and --data are required")}
			}
			opts.missingSet = cmd.Flags().Changed("missing")
			if !cmd.Flags().Changed("format") && opts.output != "" {
				switch strings.ToLower(filepath.Ext(opts.output)) {
				case ".html", ".htm":
					opts.format = "html"
				case ".json":
					opts.format = "json"
				}
			}
			if err := checkFormat(opts.format, "text", "json", "html"); err != nil {
				return err
			}
			if opts.progress != "auto" && opts.progress != "always" && opts.progress != "never" {
				return &usageError{fmt.Errorf("unknown --progress %q (use auto, always or never)", opts.progress)}
			}
			return runBacktest(cmd.Context(), e, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.rules, "rules", nil, "rule files or directories")
	f.StringVar(&opts.ruleset, "ruleset", "", "ruleset name (needed when several are loaded)")
	f.StringVar(&opts.data, "data", "", "history to score: a CSV or JSONL file, - for stdin")
	f.StringVar(&opts.outcome, "outcome", "", "outcome column: COLUMN or COLUMN=VALUE[|VALUE] (overrides the mapping file's)")
	f.StringSliceVar(&opts.negative, "negative", nil, "outcome values that mean not converted; rows with other values are skipped")
	f.StringArrayVar(&opts.maps, "map", nil, "a mapping file, or FIELD=COLUMN like lead.employees=Employees (repeatable)")
	f.StringSliceVar(&opts.missing, "missing", nil, `values that mean "no data" besides the empty value, like Select (comma-separated)`)
	f.StringVar(&opts.id, "id", "", "column holding the lead id")
	opts.dataOpts.addFlags(cmd)
	f.StringVar(&opts.format, "format", "text", "report format: text, json or html (default from the -o extension)")
	f.StringVarP(&opts.output, "output", "o", "", "write the report to this file instead of stdout")
	f.StringVar(&opts.now, "now", "", "evaluate as of this date (2026-11-01), for days_since & co (default: today)")
	f.BoolVar(&opts.strict, "strict", false, "refuse rows with wrong-typed values instead of treating them as missing")
	f.IntVar(&opts.workers, "workers", 0, "scoring goroutines (default: one per CPU)")
	f.BoolVar(&opts.evidence, "evidence", false, "after the report, put each derived rule's evidence comment next to its firing in this data, and mark the stale ones")
	f.StringVar(&opts.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

func runBacktest(ctx context.Context, e *env, opts backtestOptions) error {
	rs, err := loadOneRuleset(e, opts.rules, opts.ruleset)
	if err != nil {
		return err
	}
	m, err := buildMapping(opts.maps, opts.missing, opts.id)
	if err != nil {
		return err
	}
	spec := m.Outcome
	if opts.outcome != "" {
		spec = opts.outcome
	}
	if spec == "" {
		return &usageError{errors.New("--outcome is required (COLUMN or COLUMN=VALUE, like Converted=1), or outcome: in the mapping file")}
	}
	outcome, err := backtest.ParseOutcome(spec)
	if err != nil {
		return &usageError{fmt.Errorf("--outcome %w", err)}
	}
	outcome.Negative = m.Negative
	if len(opts.negative) > 0 {
		outcome.Negative = opts.negative
	}
	var now time.Time
	if opts.now != "" {
		if now, err = rulefile.ParseDate(opts.now); err != nil {
			return &usageError{fmt.Errorf("--now: %w", err)}
		}
	}

	in, size, closeData, err := openData(e, opts.data)
	if err != nil {
		return err
	}
	defer closeData()
	var bar *progressbar.ProgressBar
	if showProgress(e.stderr, opts.progress) {
		bar = newProgressBar(e.stderr, size, "backtest")
		in = io.TeeReader(in, bar)
	}
	src, err := openSource(in, opts.data, opts.dataOpts)
	if err != nil {
		return err
	}
	cols, complete := src.Columns()
	b, err := backtest.NewBinder(rs, cols, complete, m)
	if err != nil {
		return printRuleErrors(e, err)
	}
	run := backtest.Options{Binder: b, Outcome: outcome, Now: now, Strict: opts.strict, Workers: opts.workers, Data: displayName(opts.data)}
	if bar != nil {
		run.OnProgress = func(rows int64) { bar.Describe(fmt.Sprintf("backtest: %s rows", backtest.Count(rows))) }
	}
	report, err := backtest.Run(ctx, rs, src, run)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	for _, f := range b.Unbound() {
		fmt.Fprintf(e.stderr, "warning: no column feeds %s; rules reading it never fire (map one with --map %s=COLUMN)\n", f, f)
	}

	var buf bytes.Buffer
	switch opts.format {
	case "json":
		err = backtest.WriteJSON(&buf, report)
	case "html":
		err = backtest.WriteHTML(&buf, report)
	default:
		err = backtest.WriteText(&buf, report)
		if err == nil && opts.evidence {
			err = writeEvidence(&buf, rs, report)
		}
	}
	if err != nil {
		return err
	}
	if opts.output == "" {
		_, err = e.stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(opts.output, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s: %s\n", opts.output, backtestSummary(report))
	return nil
}

// backtestSummary is the one line worth seeing when the report goes to a file.
func backtestSummary(r *backtest.Report) string {
	s := fmt.Sprintf("%s leads, base rate %s, AUC %s", backtest.Count(r.Rows.Scored), backtest.Pct(r.BaseRate), backtest.AUCText(r.AUC))
	if len(r.Tiers) > 0 {
		t := r.Tiers[0]
		s += fmt.Sprintf("; tier %s: %s leads convert %s (lift %s)", t.Name, backtest.Count(t.Leads), backtest.Pct(t.Rate), backtest.Lift(t.Lift))
	}
	return s
}

// loadOneRuleset loads rule files and picks the ruleset to use, printing
// rule errors as `leadq check` does.
func loadOneRuleset(e *env, paths []string, name string) (*rules.Ruleset, error) {
	rss, err := rules.LoadPaths(paths...)
	if err != nil {
		return nil, printRuleErrors(e, err)
	}
	if name == "" {
		if len(rss) == 1 {
			return rss[0], nil
		}
		var names []string
		for _, rs := range rss {
			names = append(names, rs.Name)
		}
		return nil, &usageError{fmt.Errorf("several rulesets are loaded (%s); name one with --ruleset", strings.Join(names, ", "))}
	}
	for _, rs := range rss {
		if rs.Name == name {
			return rs, nil
		}
	}
	return nil, &usageError{fmt.Errorf("no ruleset %q in %s", name, strings.Join(paths, ", "))}
}

func printRuleErrors(e *env, err error) error {
	var list rules.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	for _, p := range list {
		fmt.Fprintln(e.stderr, p.Format())
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s; fix them first", plural(len(list.Errors()), "error"))}
}

// buildMapping merges mapping files and FIELD=COLUMN pairs, in the order
// given; later ones win for the same field.
func buildMapping(specs, missing []string, id string) (*backtest.Mapping, error) {
	m := &backtest.Mapping{Fields: map[string]string{}, Pos: map[string]rules.Pos{}}
	for _, s := range specs {
		if field, col, err := backtest.ParseMapFlag(s); err == nil {
			m.Fields[field] = col
			delete(m.Pos, field)
			continue
		} else if _, statErr := os.Stat(s); statErr != nil && strings.Contains(s, "=") {
			return nil, &usageError{err}
		}
		src, err := rulefile.ReadFile(s, nil)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--map %s: %w (give a mapping file or FIELD=COLUMN)", s, unwrapPathErr(err))}
		}
		fm, err := backtest.ParseMapping(s, src)
		if err != nil {
			return nil, err
		}
		for k, v := range fm.Fields {
			m.Fields[k] = v
			m.Pos[k] = fm.Pos[k]
		}
		if fm.Missing != nil {
			m.Missing = fm.Missing
		}
		if fm.ID != "" {
			m.ID = fm.ID
		}
		if fm.Outcome != "" {
			m.Outcome = fm.Outcome
		}
		if fm.Negative != nil {
			m.Negative = fm.Negative
		}
	}
	if len(missing) > 0 {
		if m.Missing == nil {
			m.Missing = []string{""}
		}
		m.Missing = append(m.Missing, missing...)
	}
	if id != "" {
		m.ID = id
	}
	return m, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openData opens a data file (- for stdin) and returns its size when known.
func openData(e *env, name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return e.stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("--data: %w", err)
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// openSource reads the header of a data file and wraps it in the --join.
func openSource(in io.Reader, name string, o dataOptions) (backtest.Source, error) {
	format, err := backtest.ParseFormat(o.inputFormat)
	if err != nil {
		return nil, &usageError{err}
	}
	delim, err := parseDelimiter(o.delimiter)
	if err != nil {
		return nil, err
	}
	rd, err := backtest.NewReader(in, backtest.ReaderOptions{Name: name, Format: format, Delimiter: delim})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", displayName(name), err)
	}
	if o.join == "" {
		if o.joinOn != "" || o.joinWhere != "" || len(o.joinAggs) > 0 {
			return nil, &usageError{errors.New("--join-on, --join-where and --join-agg need --join FILE")}
		}
		return rd, nil
	}
	if o.joinOn == "" {
		return nil, &usageError{errors.New("--join needs --join-on KEY (or KEY=KEY_IN_THE_JOINED_TABLE)")}
	}
	on, onRight, _ := strings.Cut(o.joinOn, "=")
	spec := &backtest.JoinSpec{On: on, OnRight: onRight, Name: o.join}
	for _, s := range o.joinAggs {
		a, err := backtest.ParseAgg(s)
		if err != nil {
			return nil, &usageError{fmt.Errorf("--join-agg %w", err)}
		}
		spec.Aggs = append(spec.Aggs, a)
	}
	jf, err := os.Open(o.join)
	if err != nil {
		return nil, fmt.Errorf("--join: %w", err)
	}
	defer jf.Close()
	right, err := backtest.NewReader(jf, backtest.ReaderOptions{Name: o.join, Format: backtest.FormatAuto})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.join, err)
	}
	if o.joinWhere != "" {
		cols, complete := right.Columns()
		if spec.Where, err = backtest.CompileRowExpr(o.joinWhere, cols, complete); err != nil {
			return nil, &usageError{fmt.Errorf("--join-where: %w", err)}
		}
	}
	if err := spec.Load(right); err != nil {
		return nil, err
	}
	return spec.Wrap(rd)
}

func parseDelimiter(s string) (rune, error) {
	switch s {
	case "":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	}
	r := []rune(s)
	if len(r) != 1 || r[0] == '"' || r[0] == '\n' || r[0] == '\r' {
		return 0, &usageError{fmt.Errorf("--delimiter %q: give one character, like ; or tab", s)}
	}
	return r[0], nil
}

// showProgress: a bar only on a terminal unless asked for, so that logs and
// pipes stay clean.
func showProgress(stderr io.Writer, mode string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgressBar(w io.Writer, size int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
	)
}

// writeEvidence reads the evidence comments leadq derive wrote above the
// rules and prints them next to what this backtest measured.
func writeEvidence(w io.Writer, rs *rules.Ruleset, report *backtest.Report) error {
	claims := map[string]derive.Claim{}
	for _, f := range rs.Files {
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for id, c := range derive.Claims(src) {
			claims[id] = c
		}
	}
	fmt.Fprintf(w, "\nEvidence: each rule's comment (training rows) next to this data\n")
	if len(claims) == 0 {
		_, err := fmt.Fprintln(w, "  no rule carries an evidence comment from leadq derive")
		return err
	}
	return derive.WriteEvidence(w, derive.CompareEvidence(claims, report))
}
