package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// LoadRulesets compiles the rulesets at spec: a rule file or directory, or a
// git revision and path, REV:PATH (HEAD~1:examples/rulesets,
// main:rules/b2b.yaml), read with git show from the repository of the
// current directory. As with git, PATH is from the top of the repository,
// or from the current directory when it starts with ./ . An existing file
// or directory wins over a revision. On error the ErrorList (or git's
// message) says which file.
func LoadRulesets(ctx context.Context, spec string) ([]*rules.Ruleset, error) {
	if _, err := os.Stat(spec); err == nil {
		return rules.LoadPaths(spec)
	}
	rev, p, ok := strings.Cut(spec, ":")
	if !ok || rev == "" {
		return nil, fmt.Errorf("%s: no such file or directory (for a git revision write REV:PATH, like HEAD~1:%s)", spec, spec)
	}
	kind, err := git(ctx, "cat-file", "-t", spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	var files []*rules.File
	var errs rules.ErrorList
	add := func(name string, src []byte) {
		f, err := rules.Parse(name, src)
		var list rules.ErrorList
		if errors.As(err, &list) {
			errs = append(errs, list...)
		}
		files = append(files, f)
	}
	switch strings.TrimSpace(string(kind)) {
	case "blob":
		src, err := git(ctx, "cat-file", "blob", spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		add(spec, src)
	case "tree":
		list, err := git(ctx, "ls-tree", "-z", spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		for _, entry := range bytes.Split(list, []byte{0}) {
			// <mode> SP <type> SP <object> TAB <name>
			meta, name, ok := strings.Cut(string(entry), "\t")
			fields := strings.Fields(meta)
			if !ok || len(fields) != 3 || fields[1] != "blob" || !rulefile.IsRuleFile(name) {
				continue
			}
			src, err := git(ctx, "cat-file", "blob", fields[2])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", spec+"/"+name, err)
			}
			add(rev+":"+path.Join(p, name), src)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no rule files (*.yaml, *.yml) in this directory", spec)
		}
	default:
		return nil, fmt.Errorf("%s: not a file or directory in git", spec)
	}
	var parsed []*rules.File
	for _, f := range files {
		if f.Ruleset.Value != "" {
			parsed = append(parsed, f)
		}
	}
	rulesets, err := rules.CompileAll(parsed...)
	var list rules.ErrorList
	if errors.As(err, &list) {
		errs = append(errs, list...)
	}
	if len(errs.Errors()) > 0 {
		errs.Sort()
		return rulesets, errs
	}
	return rulesets, nil
}

// git runs git with args in the current directory and returns its output;
// the error carries git's own message.
func git(ctx context.Context, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("git %s: %s", args[0], strings.TrimPrefix(msg, "fatal: "))
	}
	return stdout.Bytes(), nil
}
