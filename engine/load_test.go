package engine

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/compiler"
)

// A reload compiles again only the rulesets whose files changed, appeared
// or went: the others are the very rulesets of the load before. Every load
// gives what the compiler's full load gives, errors included.
func TestPathsCompilesOnlyWhatChanged(t *testing.T) {
	ctx := context.Background()
	dir := manyRulesets(t, 3)
	load := Paths(dir)
	check := func(step string) map[string]*rules.Ruleset {
		t.Helper()
		got, err := load(ctx)
		want, wantErr := rules.LoadPaths(dir)
		if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
			t.Fatalf("%s: load error %v; the full load says %v", step, err, wantErr)
		}
		byName := map[string]*rules.Ruleset{}
		for _, rs := range got {
			byName[rs.Name] = rs
		}
		if err == nil {
			if len(got) != len(want) {
				t.Fatalf("%s: %d rulesets; the full load gives %d", step, len(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name || got[i].Version != want[i].Version {
					t.Errorf("%s: ruleset %d is %s %s; the full load gives %s %s", step, i, got[i].Name, got[i].Version, want[i].Name, want[i].Version)
				}
			}
		}
		return byName
	}
	same := func(step string, before, after map[string]*rules.Ruleset, changed ...string) {
		t.Helper()
		for name, rs := range after {
			isChanged := strings.Contains(strings.Join(changed, " "), name)
			if old, ok := before[name]; ok && (old == rs) == isChanged {
				t.Errorf("%s: ruleset %s compiled again: %v; want %v", step, name, old != rs, isChanged)
			}
		}
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) string {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}

	first := check("first load")
	again := check("nothing changed")
	same("nothing changed", first, again)

	src := read("b2b-0002.yaml")
	write("b2b-0002.yaml", strings.Replace(src, "points: 20\n", "points: 21\n", 1))
	edited := check("one file edited")
	same("one file edited", again, edited, "b2b-0002")

	write("b2b-0002.yaml", strings.Replace(src, "points: 20\n", "points: [21\n", 1))
	check("a broken file") // the full load's errors

	write("b2b-0002.yaml", src)
	fixed := check("fixed")
	same("fixed", edited, fixed, "b2b-0002")

	// A lists file moved to another ruleset: the load fails, as the full
	// load says; moved back, nothing changed since the last good load.
	lists := read("b2b-0003.lists.yaml")
	write("b2b-0003.lists.yaml", strings.Replace(lists, "\nruleset: b2b-0003\n", "\nruleset: 'b2b-0004' # moved\n", 1))
	check("a file moved to another ruleset")
	write("b2b-0003.lists.yaml", lists)
	back := check("moved back")
	same("moved back", fixed, back)

	// A new ruleset, and one whose files are gone.
	write("b2b-0009.yaml", strings.Replace(read("b2b-0001.yaml"), "\nruleset: b2b-0001\n", "\nruleset: b2b-0009\n", 1))
	write("b2b-0009.lists.yaml", strings.Replace(read("b2b-0001.lists.yaml"), "\nruleset: b2b-0001\n", "\nruleset: b2b-0009\n", 1))
	for _, f := range []string{"b2b-0001.yaml", "b2b-0001.lists.yaml"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	last := check("one ruleset added, one removed")
	same("one ruleset added, one removed", back, last, "b2b-0009")
	if _, ok := last["b2b-0001"]; ok {
		t.Error("b2b-0001's files are gone, and it is still loaded")
	}
}

func TestRulesetOf(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"ruleset: b2b\n", "b2b"},
		{"# yaml-language-server: x\nruleset: b2b # a comment\nfields: {}\n", "b2b"},
		{"ruleset: 'b2b'\n", "b2b"},
		{`ruleset: "b2b"`, "b2b"},
		{"fields:\n  ruleset: x\n", ""},
		{"", ""},
	} {
		if got := rulesetOf([]byte(tc.src)); got != tc.want {
			t.Errorf("rulesetOf(%q) = %q; want %q", tc.src, got, tc.want)
		}
	}
}

// A load reads only the files whose stamps changed, and trusts a stamp
// only once it is older than racyWindow: a file changed twice within one
// tick of the file system's clock, with the same size, is read again.
func TestLoadReadsOnlyChangedStamps(t *testing.T) {
	dir := manyRulesets(t, 3)
	start := time.Now()
	old := stamp{size: 1, mtime: start.Add(-time.Hour).UnixNano(), ctime: start.Add(-time.Hour).UnixNano()}
	stamps := map[string]stamp{}
	names, err := listPaths([]string{dir})()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		stamps[name] = old
	}
	var reads []string
	l := newIncremental(listPaths([]string{dir}), func(name string, buf []byte) ([]byte, error) {
		reads = append(reads, filepath.Base(name))
		return readFile(name, buf)
	}, func(name string) (stamp, error) { return stamps[name], nil })
	load := func(step string, want ...string) {
		t.Helper()
		reads = nil
		if _, err := l.load(func(c compiler.Compiler) ([]*rules.Ruleset, error) { return c.LoadPaths(dir) }); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if step != "first load" && !slices.Equal(reads, want) {
			t.Errorf("%s: read %q; want %q", step, reads, want)
		}
	}
	load("first load")
	load("nothing changed")
	edited := filepath.Join(dir, "b2b-0002.yaml")
	src, err := os.ReadFile(edited)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edited, bytes.Replace(src, []byte("points: 20\n"), []byte("points: 21\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	now := stamp{size: 2, mtime: time.Now().UnixNano(), ctime: time.Now().UnixNano()}
	stamps[edited] = now
	// Read to hash it, then its ruleset's files to parse them.
	load("one file edited", "b2b-0002.yaml", "b2b-0002.lists.yaml", "b2b-0002.yaml")
	// Changed again within the same tick: the stamp is the same, but it was
	// too recent to be trusted.
	if err := os.WriteFile(edited, bytes.Replace(src, []byte("points: 20\n"), []byte("points: 22\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	load("edited again, same stamp", "b2b-0002.yaml", "b2b-0002.lists.yaml", "b2b-0002.yaml")
	full, err := rules.LoadPaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.rulesets["b2b-0002"]; got == nil || got.Version != full[1].Version {
		t.Errorf("after a second edit with the same stamp the ruleset is not the one on disk")
	}
	stamps[edited] = old
	load("stamp old at last", "b2b-0002.yaml") // read once more, then trusted
	load("trusted", []string(nil)...)
}

// On the file system: an edit that keeps the file's size and sets its
// write time back (rsync -t, tar) is still seen.
func TestLoadSeesEditWithTimeSetBack(t *testing.T) {
	ctx := context.Background()
	dir := manyRulesets(t, 2)
	path := filepath.Join(dir, "b2b-0001.yaml")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	back := info.ModTime().Add(-time.Hour)
	if err := os.Chtimes(path, back, back); err != nil {
		t.Fatal(err)
	}
	load := Paths(dir)
	first, err := load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(src, []byte("points: 20\n"), []byte("points: 21\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, back, back); err != nil {
		t.Fatal(err)
	}
	next, err := load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Name != "b2b-0001" || next[0].Version == first[0].Version {
		t.Errorf("an edit of the same size with its write time set back was not seen (version %s before and after)", first[0].Version)
	}
}
