package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type testOptions struct {
	paths     []string
	format    string
	ruleset   string
	run       string
	now       string
	strict    bool
	failUnder float64
}

func newTestCmd(e *env) *cobra.Command {
	var opts testOptions
	cmd := &cobra.Command{
		Use:   "test [DIR|FILE...]",
		Short: "Run the rulesets' own tests: cases and coverage",
		Long: `test runs the tests: cases of rule files (files, or the *.yaml/*.yml files of directories;
default the current directory). Each case scores its lead and account and compares the
decision with its expect: block. One line per case; a failing case shows what differed and
the decision's matched and missed rules. A coverage summary lists the rules no case fires.

Cases without now: are evaluated as of ` + engine.DefaultTestNow().Format("2006-01-02") + ` (or --now), so they give the same
result every day. Exit status: 0 all passed, 1 a case failed, the rules do not compile or
coverage is under --fail-under, 2 usage.`,
		Args: rangeArgs(0, 1<<20),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			if len(opts.paths) == 0 {
				opts.paths = []string{"."}
			}
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			if opts.failUnder < 0 || opts.failUnder > 100 {
				return &usageError{fmt.Errorf("--fail-under %v: give a percentage from 0 to 100", opts.failUnder)}
			}
			return runTest(e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&opts.ruleset, "ruleset", "", "run only this ruleset's tests")
	cmd.Flags().StringVar(&opts.run, "run", "", "run only the cases whose name matches this regular expression")
	cmd.Flags().StringVar(&opts.now, "now", "", "the date of cases without now: (default "+engine.DefaultTestNow().Format("2006-01-02")+")")
	cmd.Flags().BoolVar(&opts.strict, "strict", false, "refuse test leads with wrong-typed fields instead of warning")
	cmd.Flags().Float64Var(&opts.failUnder, "fail-under", 0, "exit 1 when a ruleset's rule coverage is under this percentage")
	return cmd
}

func runTest(e *env, opts testOptions) error {
	topts := engine.TestOptions{Strict: opts.strict}
	if opts.now != "" {
		now, err := rulefile.ParseDate(opts.now)
		if err != nil {
			return &usageError{fmt.Errorf("--now: %w", err)}
		}
		topts.Now = now
	}
	if opts.run != "" {
		re, err := regexp.Compile(opts.run)
		if err != nil {
			return &usageError{fmt.Errorf("--run: %w", err)}
		}
		topts.Filter = re.MatchString
	}
	rulesets, err := rules.LoadPaths(opts.paths...)
	if err != nil {
		if list, ok := err.(rules.ErrorList); ok {
			for _, p := range list {
				fmt.Fprintln(e.stderr, p.Format())
			}
			return &exitError{code: exitFailed, err: fmt.Errorf("the rules have %s; run leadq check", plural(len(list.Errors()), "error"))}
		}
		return err
	}
	var reports []engine.TestReport
	for _, rs := range rulesets {
		if opts.ruleset != "" && rs.Name != opts.ruleset {
			continue
		}
		reports = append(reports, engine.RunTests(rs, topts))
	}
	if len(reports) == 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("no ruleset named %q in %s", opts.ruleset, strings.Join(opts.paths, ", "))}
	}
	failed, under := 0, []string{}
	for _, r := range reports {
		failed += r.Failed()
		if opts.failUnder > 0 && r.Coverage.Percent < opts.failUnder {
			under = append(under, fmt.Sprintf("%s %.1f%%", r.Ruleset, r.Coverage.Percent))
		}
	}
	if opts.format == "json" {
		writeTestJSON(e.stdout, reports, failed, opts.failUnder)
	} else {
		writeTestText(e.stdout, reports, opts.failUnder)
	}
	switch {
	case failed > 0:
		return &exitError{code: exitFailed}
	case len(under) > 0:
		return &exitError{code: exitFailed, err: fmt.Errorf("rule coverage under --fail-under %g%%: %s", opts.failUnder, strings.Join(under, ", "))}
	}
	return nil
}

// writeTestText prints one line per case, like promtool test rules, the
// details of each failure under it, and each ruleset's coverage.
func writeTestText(w io.Writer, reports []engine.TestReport, failUnder float64) {
	passed, failed := 0, 0
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "ruleset %s %s: %s\n", r.Ruleset, shortVersion(r.Version), plural(len(r.Cases), "case"))
		for _, c := range r.Cases {
			status := "PASS"
			if !c.Passed {
				status = "FAIL"
			}
			fmt.Fprintf(w, "  %s  %s  (%s)\n", status, c.Name, posLine(c.Pos))
			if c.Passed {
				passed++
				continue
			}
			failed++
			for _, f := range c.Failures {
				fmt.Fprintf(w, "          %s\n", f.Message)
			}
			if c.Decision != nil {
				writeCaseDecision(w, c)
			}
		}
		if len(r.Cases) == 0 {
			fmt.Fprintln(w, "  no test cases: add a tests: section to its rule files (see rules/FORMAT.md)")
		}
		writeCoverage(w, r.Coverage, failUnder, len(r.Cases) > 0)
	}
	fmt.Fprintf(w, "\n%d passed, %d failed\n", passed, failed)
}

// writeCaseDecision shows the whole decision under a failed case, so that
// the author sees why without running leadq score.
func writeCaseDecision(w io.Writer, c engine.CaseResult) {
	d := c.Decision
	verdict := "not qualified"
	if d.Qualified {
		verdict = "qualified"
	}
	fmt.Fprintf(w, "          got: tier %s, score %d, %s (as of %s)\n", d.Tier, d.Score, verdict, c.Now.Format("2006-01-02"))
	if len(d.Groups) > 0 {
		fmt.Fprintf(w, "          groups: %s\n", groupTotals(d.Groups))
	}
	hits := func(title string, hs []engine.Hit, points bool) {
		var parts []string
		for _, h := range hs {
			if points {
				parts = append(parts, fmt.Sprintf("%s %+d", h.Rule, h.Points))
			} else {
				parts = append(parts, h.Rule)
			}
		}
		writeWrapped(w, "          "+title+": ", parts)
	}
	hits("knockouts", d.Knockouts, false)
	hits("matched", d.Matched, true)
	var missed []string
	for _, m := range d.Missed {
		s := fmt.Sprintf("%s %+d", m.Rule, m.Points)
		if len(m.MissingFields) > 0 {
			s += " (no " + strings.Join(m.MissingFields, ", ") + ")"
		}
		missed = append(missed, s)
	}
	writeWrapped(w, "          missed: ", missed)
	if len(d.Warnings) > 0 {
		for _, x := range d.Warnings {
			fmt.Fprintf(w, "          input warning: %s: %s\n", x.Field, x.Message)
		}
	}
}

// writeWrapped prints items after prefix, comma-separated, wrapped at about
// 100 columns with continuation lines indented under the first item.
func writeWrapped(w io.Writer, prefix string, items []string) {
	if len(items) == 0 {
		return
	}
	const width = 100
	line := prefix
	indent := strings.Repeat(" ", len(prefix))
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		if line != prefix && line != indent && len(line)+1+len(it) > width {
			fmt.Fprintln(w, line)
			line = indent
		}
		if line != prefix && line != indent {
			line += " "
		}
		line += it
	}
	fmt.Fprintln(w, line)
}

func writeCoverage(w io.Writer, c engine.Coverage, failUnder float64, details bool) {
	note := ""
	if failUnder > 0 && c.Percent < failUnder {
		note = fmt.Sprintf(", under --fail-under %g%%", failUnder)
	}
	fmt.Fprintf(w, "  coverage: %d of %s fired by some case (%.1f%%%s)\n", c.Fired, plural(c.Total, "rule"), c.Percent, note)
	if !details {
		return
	}
	writeRuleList(w, "never fired:", c.Untested())
	writeRuleList(w, "fired in every case (no case shows the lead without it):", c.AlwaysFired())
}

func writeRuleList(w io.Writer, title string, list []engine.RuleCoverage) {
	if len(list) == 0 {
		return
	}
	width := 0
	for _, r := range list {
		width = max(width, len(r.Rule))
	}
	fmt.Fprintln(w, "    "+title)
	for _, r := range list {
		fmt.Fprintf(w, "      %-8s  %-*s  %s\n", ruleKind(r.Knockout), width, r.Rule, posLine(r.Pos))
	}
}

func ruleKind(knockout bool) string {
	if knockout {
		return "knockout"
	}
	return "score"
}

// posLine prints file:line, which editors and terminals make clickable.
func posLine(p rules.Pos) string {
	return rules.Pos{File: p.File, Line: p.Line}.String()
}

func writeTestJSON(w io.Writer, reports []engine.TestReport, failed int, failUnder float64) {
	passed := 0
	for _, r := range reports {
		passed += len(r.Cases) - r.Failed()
	}
	type caseJSON struct {
		Name     string           `json:"name"`
		File     string           `json:"file"`
		Line     int              `json:"line"`
		Now      string           `json:"now"`
		Passed   bool             `json:"passed"`
		Failures []engine.Failure `json:"failures"`
		Decision *engine.Decision `json:"decision,omitempty"`
		Error    string           `json:"error,omitempty"`
	}
	type ruleJSON struct {
		Rule     string `json:"rule"`
		Kind     string `json:"kind"`
		File     string `json:"file"`
		Line     int    `json:"line"`
		Fired    int    `json:"fired"`
		NotFired int    `json:"not_fired"`
	}
	type coverageJSON struct {
		Fired   int        `json:"fired"`
		Total   int        `json:"total"`
		Percent float64    `json:"percent"`
		Rules   []ruleJSON `json:"rules"`
	}
	type rulesetJSON struct {
		Name     string       `json:"name"`
		Version  string       `json:"version"`
		Files    []string     `json:"files"`
		Passed   int          `json:"passed"`
		Failed   int          `json:"failed"`
		Cases    []caseJSON   `json:"cases"`
		Coverage coverageJSON `json:"coverage"`
	}
	out := struct {
		OK        bool          `json:"ok"`
		Passed    int           `json:"passed"`
		Failed    int           `json:"failed"`
		FailUnder float64       `json:"fail_under,omitempty"`
		Rulesets  []rulesetJSON `json:"rulesets"`
	}{OK: failed == 0, Passed: passed, Failed: failed, FailUnder: failUnder, Rulesets: []rulesetJSON{}}
	for _, r := range reports {
		rj := rulesetJSON{Name: r.Ruleset, Version: r.Version, Files: r.Files, Failed: r.Failed(), Cases: []caseJSON{}}
		rj.Passed = len(r.Cases) - rj.Failed
		if failUnder > 0 && r.Coverage.Percent < failUnder {
			out.OK = false
		}
		for _, c := range r.Cases {
			cj := caseJSON{Name: c.Name, File: c.Pos.File, Line: c.Pos.Line, Now: c.Now.Format(time.RFC3339),
				Passed: c.Passed, Failures: c.Failures, Error: c.Err}
			if !c.Passed {
				cj.Decision = c.Decision // the whole decision only where it explains a failure
			}
			rj.Cases = append(rj.Cases, cj)
		}
		rj.Coverage = coverageJSON{Fired: r.Coverage.Fired, Total: r.Coverage.Total, Percent: r.Coverage.Percent, Rules: []ruleJSON{}}
		for _, rc := range r.Coverage.Rules {
			rj.Coverage.Rules = append(rj.Coverage.Rules, ruleJSON{rc.Rule, ruleKind(rc.Knockout), rc.Pos.File, rc.Pos.Line, rc.Fired, rc.NotFired})
		}
		out.Rulesets = append(out.Rulesets, rj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
