package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadq/leadq/rules"
)

// FuzzParse checks that no input crashes Parse or Compile and that every
// reported position lies inside the input.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../examples/rulesets/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("ruleset: x\nscore:\n  - {id: a, when: \"lead.x ?? (\", points: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := rules.Parse("f.yaml", data)
		lines := strings.Count(string(data), "\n") + 1
		check := func(err error) {
			list, ok := err.(rules.ErrorList)
			if err != nil && !ok {
				t.Fatalf("error is %T, not an ErrorList: %v", err, err)
			}
			for _, e := range list {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 0 || e.Pos.Line > lines || e.Pos.Col < 0 {
					t.Fatalf("error outside the input (%d lines): %s", lines, e.Error())
				}
			}
		}
		check(err)
		if file.Ruleset.Value == "" {
			return
		}
		_, err = rules.Compile(file)
		check(err)
	})
}
