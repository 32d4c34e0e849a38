package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/leadq/leadq/rules"
	"github.com/spf13/cobra"
)

type checkOptions struct {
	paths         []string
	format        string
	failOnWarning bool
}

func newCheckCmd(e *env) *cobra.Command {
	var opts checkOptions
	cmd := &cobra.Command{
		Use:   "check [PATH...]",
		Short: "Validate rule files and report errors and lint warnings with file:line:col",
		Long: `check parses and compiles rule files (files, or the *.yaml/*.yml files of directories)
and prints every error and warning, each with its position and a stable code.
Exit status: 0 ok, 1 errors, 2 usage, 3 warnings with --fail-on-warning.`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			if err := checkFormat(opts.format, "text", "json"); err != nil {
				return err
			}
			return runCheck(e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&opts.failOnWarning, "fail-on-warning", false, "exit 3 when there are warnings")
	return cmd
}

func runCheck(e *env, opts checkOptions) error {
	rulesets, problems := rules.Check(opts.paths...)
	nerr, nwarn := len(problems.Errors()), len(problems.Warnings())
	if opts.format == "json" {
		writeCheckJSON(e.stdout, rulesets, problems, nerr)
	} else {
		writeCheckText(e.stdout, rulesets, problems, nerr, nwarn)
	}
	switch {
	case nerr > 0:
		return &exitError{code: exitFailed}
	case nwarn > 0 && opts.failOnWarning:
		return &exitError{code: exitWarnings}
	}
	return nil
}

func writeCheckText(w io.Writer, rulesets []*rules.Ruleset, problems rules.ErrorList, nerr, nwarn int) {
	for _, p := range problems {
		fmt.Fprintln(w, p.Format())
	}
	if nerr > 0 {
		fmt.Fprintf(w, "%s, %s\n", plural(nerr, "error"), plural(nwarn, "warning"))
		return
	}
	for _, rs := range rulesets {
		fmt.Fprintf(w, "ok: ruleset %s (%s, %s, %s) %s\n", rs.Name,
			plural(len(rs.Files), "file"), plural(len(rs.Knockouts), "knockout"), plural(len(rs.Rules), "score rule"), shortVersion(rs.Version))
	}
	if nwarn > 0 {
		fmt.Fprintln(w, plural(nwarn, "warning"))
	}
}

func writeCheckJSON(w io.Writer, rulesets []*rules.Ruleset, problems rules.ErrorList, nerr int) {
	type rulesetJSON struct {
		Name      string   `json:"name"`
		Version   string   `json:"version"`
		Files     []string `json:"files"`
		Knockouts int      `json:"knockouts"`
		Rules     int      `json:"rules"`
	}
	out := struct {
		OK       bool            `json:"ok"`
		Rulesets []rulesetJSON   `json:"rulesets"`
		Problems rules.ErrorList `json:"problems"`
	}{OK: nerr == 0, Rulesets: []rulesetJSON{}, Problems: problems}
	if out.Problems == nil {
		out.Problems = rules.ErrorList{}
	}
	if nerr == 0 {
		for _, rs := range rulesets {
			out.Rulesets = append(out.Rulesets, rulesetJSON{rs.Name, rs.Version, rs.Files, len(rs.Knockouts), len(rs.Rules)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shortVersion abbreviates a sha256: version for people; JSON keeps it whole.
func shortVersion(v string) string {
	if len(v) > len("sha256:")+12 {
		return v[:len("sha256:")+12]
	}
	return v
}
