package rulefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// IsRuleFile reports whether a directory entry name is a rule file Load reads.
func IsRuleFile(name string) bool {
	ext := filepath.Ext(name)
	return !strings.HasPrefix(name, ".") && (ext == ".yaml" || ext == ".yml")
}

// ParsePaths reads and parses the given files and the rule files at the top
// of the given directories, returning every file and every problem.
func ParsePaths(paths ...string) ([]*File, ErrorList) {
	var files []*File
	var errs ErrorList
	parse := func(name string) {
		src, err := ReadFile(name, nil)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: name}, Code: "yaml-syntax", Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			return
		}
		f, err := Parse(name, src)
		if err != nil {
			errs = append(errs, err.(ErrorList)...)
		}
		files = append(files, f)
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: p}, Code: "yaml-syntax", Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			continue
		}
		if !info.IsDir() {
			parse(p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			errs = append(errs, &Error{Pos: Pos{File: p}, Code: "yaml-syntax", Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))})
			continue
		}
		n := 0
		for _, e := range entries {
			if IsRuleFile(e.Name()) {
				parse(filepath.Join(p, e.Name()))
				n++
			}
		}
		if n == 0 {
			errs = append(errs, &Error{Pos: Pos{File: p}, Code: "missing-key", Msg: "no rule files (*.yaml, *.yml) in this directory"})
		}
	}
	return files, errs
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if ok := errors.As(err, &pe); ok {
		return pe.Err
	}
	return err
}
