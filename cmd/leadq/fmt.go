package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/spf13/cobra"
)

type fmtOptions struct {
	paths []string
	write bool
	diff  bool
	list  bool
}

func newFmtCmd(e *env) *cobra.Command {
	var opts fmtOptions
	cmd := &cobra.Command{
		Use:   "fmt [-w] [-d] [-l] [PATH...]",
		Short: "Format rule files in the canonical layout, keeping comments",
		Long: `fmt rewrites rule files (files, or the *.yaml/*.yml files of directories) in leadq's
canonical layout: sections and rule keys in the documented order, two-space indentation,
one tier per line, blank lines between sections, rules and tests, trailing comments aligned.
Comments are kept; what the rules mean does not change. With no PATH, or -, it formats
stdin to stdout.

By default the formatted files are printed. -w writes them back (only those that change),
-d prints a unified diff instead, -l lists the files whose layout differs (for CI:
test -z "$(leadq fmt -l rules/)").`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			if len(opts.paths) == 0 {
				opts.paths = []string{"-"}
			}
			return runFmt(e, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.write, "write", "w", false, "write the result to the file instead of stdout")
	cmd.Flags().BoolVarP(&opts.diff, "diff", "d", false, "print a diff instead of the formatted file")
	cmd.Flags().BoolVarP(&opts.list, "list", "l", false, "list files whose formatting differs")
	return cmd
}

func runFmt(e *env, opts fmtOptions) error {
	var files []string
	for _, p := range opts.paths {
		if p == "-" {
			if opts.write {
				return &usageError{fmt.Errorf("-w needs files to write, not stdin")}
			}
			files = append(files, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return &exitError{code: exitFailed, err: err}
		}
		for _, de := range entries {
			if !de.IsDir() && rulefile.IsRuleFile(de.Name()) {
				files = append(files, filepath.Join(p, de.Name()))
			}
		}
	}
	failed := 0
	for _, name := range files {
		if err := fmtFile(e, name, opts); err != nil {
			failed++
			if list, ok := err.(rules.ErrorList); ok {
				for _, p := range list {
					fmt.Fprintln(e.stderr, p.Format())
				}
			} else {
				fmt.Fprintln(e.stderr, err)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("%s could not be formatted", plural(failed, "file"))}
	}
	return nil
}

func fmtFile(e *env, name string, opts fmtOptions) error {
	var src []byte
	var err error
	if name == "-" {
		src, err = io.ReadAll(e.stdin)
	} else {
		src, err = rulefile.ReadFile(name, nil)
	}
	if err != nil {
		return err
	}
	display := displayName(name)
	out, err := rules.Format(display, src)
	if err != nil {
		return err
	}
	changed := !bytes.Equal(src, out)
	if opts.list && changed {
		fmt.Fprintln(e.stdout, display)
	}
	if opts.diff && changed {
		fmt.Fprint(e.stdout, unifiedDiff(display+".orig", display, string(src), string(out)))
	}
	if opts.write && changed {
		if err := replaceFile(name, out); err != nil {
			return err
		}
	}
	if !opts.list && !opts.diff && !opts.write {
		_, err = e.stdout.Write(out)
	}
	return err
}

// replaceFile writes data over the file name (or the file a link named
// name points to; or a new file) through a new file renamed over it, with
// its mode: a
// write that fails (a full disk, a quota) leaves the old file whole, where
// writing in place had truncated it to what fitted. The new file is
// hidden (.name.*.tmp), so that a server watching the directory never
// loads it.
func replaceFile(name string, data []byte) (err error) {
	target, perm := name, os.FileMode(0o644) // a new file
	if t, err := filepath.EvalSymlinks(name); err == nil {
		info, err := os.Stat(t)
		if err != nil {
			return err
		}
		target, perm = t, info.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, unwrapPathErr(err))
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

// unifiedDiff returns the differences between a and b as a unified diff
// with three lines of context, or "" when they are equal. Rule files are
// small, so a quadratic longest-common-subsequence is fine.
func unifiedDiff(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	// lcs[i][j] is the length of the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type edit struct {
		op   byte // ' ', '-', '+'
		line string
		i, j int // line numbers in a and b before this edit (0-based)
	}
	var edits []edit
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			edits = append(edits, edit{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			edits = append(edits, edit{'-', x[i], i, j})
			i++
		default:
			edits = append(edits, edit{'+', y[j], i, j})
			j++
		}
	}
	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for k := 0; k < len(edits); {
		if edits[k].op == ' ' {
			k++
			continue
		}
		// A hunk runs from context lines before the first change to context
		// lines after the last change that is within 2*context of the next.
		start := max(k-context, 0)
		end := k
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*context {
				end = min(end+context, len(edits))
				break
			}
			end = run
		}
		var na, nb int
		for _, ed := range edits[start:end] {
			if ed.op != '+' {
				na++
			}
			if ed.op != '-' {
				nb++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(edits[start].i, na), hunkRange(edits[start].j, nb))
		for _, ed := range edits[start:end] {
			out.WriteByte(ed.op)
			out.WriteString(ed.line)
			out.WriteByte('\n')
		}
		k = end
	}
	return out.String()
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func splitLines(s string) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
