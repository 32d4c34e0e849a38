package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadq/leadq/rules"
)

// reloadTimeout bounds every wait for a reload; it is a failure deadline,
// not a way to synchronise: the tests wait on the OnReload hook.
const reloadTimeout = 20 * time.Second

// reloaded is one call of the OnReload hook.
type reloaded struct {
	version string
	err     error
}

// watchedEngine opens an engine on paths, watching them, and returns the
// channel its OnReload hook feeds. The first load must succeed.
func watchedEngine(t *testing.T, paths ...string) (*Engine, *Watcher, chan reloaded) {
	t.Helper()
	ch := make(chan reloaded, 64)
	eng, err := Open(context.Background(), Paths(paths...), WithOnReload(func(v string, err error) {
		ch <- reloaded{v, err}
	}))
	if err != nil {
		t.Fatalf("Open(%v): %v", paths, err)
	}
	<-ch // the first load
	w, err := eng.Watch(context.Background(), paths...)
	if err != nil {
		t.Fatalf("Watch(%v): %v", paths, err)
	}
	t.Cleanup(func() { w.Close() })
	return eng, w, ch
}

// waitReload receives reloads until ok accepts one, and fails the test if
// none does before reloadTimeout. Several reloads may come for one change
// (a slow writer can outlast the debounce); the ones in between must still
// serve one of the versions written, which ok checks.
func waitReload(t *testing.T, ch chan reloaded, what string, ok func(reloaded) bool) reloaded {
	t.Helper()
	deadline := time.After(reloadTimeout)
	for {
		select {
		case r := <-ch:
			if ok(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no reload with %s within %v", what, reloadTimeout)
		}
	}
}

// description is the description of the live ruleset "watched": each
// version of the test rules says which it is there.
func description(t *testing.T, eng *Engine) string {
	t.Helper()
	rs, err := eng.Ruleset("watched")
	if err != nil {
		t.Fatalf("Ruleset(watched): %v", err)
	}
	return rs.Description
}

// rulesFile is a one-file ruleset whose description is desc.
func rulesFile(desc string) string {
	return fmt.Sprintf(`ruleset: watched
description: %s
fields:
  lead.employees: int
score:
  - id: big
    group: size
    when: lead.employees >= 100
    points: 10
tiers:
  - {name: A, min: 10}
  - {name: D}
`, desc)
}

// brokenFile fails to compile: a misspelt field at line 7, column 11.
const brokenFile = `ruleset: watched
description: broken
fields:
  lead.employees: int
score:
  - id: big
    when: lead.employes >= 100
    points: 10
tiers:
  - {name: D}
`

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWatchRenameSave reproduces how editors save: vim's default writes a
// backup by renaming the file away and writes a new one; many others
// (VS Code, JetBrains with "safe write", sed -i) write a temporary file and
// rename it over the old one. Both must reload; a broken save must keep the
// last good ruleset and report where the error is.
func TestWatchRenameSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watched.yaml")
	writeFile(t, path, rulesFile("v1"))
	eng, _, ch := watchedEngine(t, dir)
	if got := description(t, eng); got != "v1" {
		t.Fatalf("description = %q; want v1", got)
	}
	isGood := func(desc string) func(reloaded) bool {
		return func(r reloaded) bool { return r.err == nil && description(t, eng) == desc }
	}

	// Safe write: a temporary file renamed over the rule file.
	tmp := filepath.Join(dir, ".watched.yaml.tmp-4242")
	writeFile(t, tmp, rulesFile("v2"))
	must(t, os.Rename(tmp, path))
	waitReload(t, ch, "v2 after a rename over the file", isGood("v2"))

	// vim: rename to a backup, write a new file, remove the backup.
	must(t, os.Rename(path, path+"~"))
	writeFile(t, path, rulesFile("v3"))
	must(t, os.Remove(path+"~"))
	waitReload(t, ch, "v3 after a backup-rename save", isGood("v3"))

	// A broken save: the last good version stays live, the error is kept.
	writeFile(t, tmp, brokenFile)
	must(t, os.Rename(tmp, path))
	r := waitReload(t, ch, "an error after a broken save", func(r reloaded) bool { return r.err != nil })
	if got := description(t, eng); got != "v3" {
		t.Errorf("description after a broken save = %q; want v3 (the last good)", got)
	}
	var list rules.ErrorList
	if !errors.As(r.err, &list) || len(list) == 0 {
		t.Fatalf("reload error = %v; want a rules.ErrorList", r.err)
	}
	if got, want := list[0].Pos, (rules.Pos{File: path, Line: 7, Col: 11}); got != want {
		t.Errorf("error position = %v; want %v (%v)", got, want, list[0])
	}
	if st := eng.Status(); !st.Ready || st.LastError == nil {
		t.Errorf("Status() = ready %v, last error %v; want ready with the error kept", st.Ready, st.LastError)
	}

	// Fixing it makes the fix live and clears the error.
	writeFile(t, tmp, rulesFile("v4"))
	must(t, os.Rename(tmp, path))
	waitReload(t, ch, "v4 after the fix", isGood("v4"))
	if st := eng.Status(); st.LastError != nil {
		t.Errorf("Status().LastError = %v after a good reload; want nil", st.LastError)
	}
}

// TestWatchFile watches a single rule file given by path: a rename over it
// reloads, and the directory's other YAML files are not rule sources.
func TestWatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watched.yaml")
	writeFile(t, path, rulesFile("v1"))
	eng, _, ch := watchedEngine(t, path)
	// Not a source: a broken file beside it must not fail the reload.
	writeFile(t, filepath.Join(dir, "other.yaml"), brokenFile)
	tmp := filepath.Join(dir, "watched.yaml.new")
	writeFile(t, tmp, rulesFile("v2"))
	must(t, os.Rename(tmp, path))
	r := waitReload(t, ch, "v2", func(r reloaded) bool { return r.err != nil || description(t, eng) == "v2" })
	if r.err != nil {
		t.Fatalf("reload error = %v; want the file alone to be loaded", r.err)
	}
}

// kubelet reproduces the file operations of Kubernetes' AtomicWriter
// (pkg/volume/util/atomic_writer.go), which updates ConfigMap and Secret
// volumes: the payload goes into a new timestamped directory, a ..data_tmp
// symlink to it is renamed over ..data, the user-visible files at the top
// are symlinks through ..data, and the old directory is removed last.
type kubelet struct {
	t     *testing.T
	dir   string
	n     int
	files map[string]bool // user-visible names
}

func (k *kubelet) write(payload map[string]string) {
	t := k.t
	t.Helper()
	k.n++
	ts := fmt.Sprintf("..2026_11_23_10_%02d_00.%09d", k.n, 100000000+k.n)
	must(t, os.Mkdir(filepath.Join(k.dir, ts), 0o755))
	for name, content := range payload {
		writeFile(t, filepath.Join(k.dir, ts, name), content)
	}
	old, err := os.Readlink(filepath.Join(k.dir, "..data"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	must(t, os.Symlink(ts, filepath.Join(k.dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(k.dir, "..data_tmp"), filepath.Join(k.dir, "..data")))
	for name := range payload {
		if !k.files[name] {
			must(t, os.Symlink(filepath.Join("..data", name), filepath.Join(k.dir, name)))
			k.files[name] = true
		}
	}
	for name := range k.files {
		if _, ok := payload[name]; !ok {
			must(t, os.Remove(filepath.Join(k.dir, name)))
			delete(k.files, name)
		}
	}
	if old != "" {
		must(t, os.RemoveAll(filepath.Join(k.dir, old)))
	}
}

// TestWatchConfigMap updates a ConfigMap volume the way kubelet does. No
// event names a rule file (the links at the top do not change), yet every
// update must reload, a two-file ruleset as one unit.
func TestWatchConfigMap(t *testing.T) {
	dir := t.TempDir()
	k := &kubelet{t: t, dir: dir, files: map[string]bool{}}
	lists := func(max int) string {
		return fmt.Sprintf("ruleset: watched\ngroups:\n  size: {max: %d}\n", max)
	}
	k.write(map[string]string{"watched.yaml": rulesFile("v1")})
	eng, _, ch := watchedEngine(t, dir)
	if got := description(t, eng); got != "v1" {
		t.Fatalf("description = %q; want v1", got)
	}

	// A second file joins the ruleset: both arrive in one swap.
	k.write(map[string]string{"watched.yaml": rulesFile("v2"), "watched.groups.yaml": lists(5)})
	waitReload(t, ch, "v2 after a ConfigMap update", func(r reloaded) bool {
		return r.err == nil && description(t, eng) == "v2"
	})
	rs, _ := eng.Ruleset("watched")
	if len(rs.Files) != 2 {
		t.Errorf("ruleset files = %v; want the two files of the ConfigMap", rs.Files)
	}
	d, err := eng.Score(context.Background(), "", Input{Lead: map[string]any{"employees": 500}})
	if err != nil || d.Score != 5 {
		t.Errorf("Score = %d, %v; want 5 (10 points capped by the second file)", d.Score, err)
	}

	// A broken update keeps v2 live.
	k.write(map[string]string{"watched.yaml": brokenFile, "watched.groups.yaml": lists(5)})
	waitReload(t, ch, "an error after a broken ConfigMap", func(r reloaded) bool { return r.err != nil })
	if got := description(t, eng); got != "v2" {
		t.Errorf("description after a broken update = %q; want v2", got)
	}

	// The fix, which also drops the second file.
	k.write(map[string]string{"watched.yaml": rulesFile("v3")})
	waitReload(t, ch, "v3 after the fix", func(r reloaded) bool {
		return r.err == nil && description(t, eng) == "v3"
	})
	if rs, _ := eng.Ruleset("watched"); len(rs.Files) != 1 {
		t.Errorf("ruleset files = %v; want one file after the ConfigMap dropped one", rs.Files)
	}
	entries, err := os.ReadDir(dir)
	must(t, err)
	if len(entries) != 3 { // watched.yaml, ..data and one timestamped directory
		t.Errorf("ConfigMap volume holds %d entries; want 3 (the test's kubelet leaked)", len(entries))
	}
}

// A writer that pauses longer than the debounce half-way through a rule
// file (half the file, 300 ms, the rest) never has its half loaded, even
// a half that compiles: the only reload is of the whole file (issue 17).
func TestWatchSlowWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "watched.yaml")
	writeFile(t, path, rulesFile("v1"))
	eng, _, ch := watchedEngine(t, dir)
	whole := rulesFile("v2") + "\nknockouts:\n  - id: tiny\n    when: lead.employees < 2\n    reason: too small\n"
	half := whole[:strings.Index(whole, "\nknockouts:")+1] // compiles: the ruleset without its knockout
	if _, err := rules.Compile(parseOrFail(t, half)); err != nil {
		t.Fatalf("the half written first must compile, to be tempting: %v", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	defer f.Close()
	for _, part := range []string{half, whole[len(half):]} {
		if _, err := f.WriteString(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	r := waitReload(t, ch, "a reload", func(reloaded) bool { return true })
	if r.err != nil {
		t.Fatalf("the reload failed: %v", r.err)
	}
	rs, err := eng.Ruleset("watched")
	must(t, err)
	if rs.Description != "v2" || len(rs.Knockouts) != 1 {
		t.Fatalf("the reload after a slow write loaded %q with %d knockouts; want the whole file (v2, 1 knockout)", rs.Description, len(rs.Knockouts))
	}
	select {
	case r := <-ch:
		t.Errorf("a second reload (err %v) for one write", r.err)
	case <-time.After(time.Second):
	}
}

func parseOrFail(t *testing.T, src string) *rules.File {
	t.Helper()
	f, err := rules.Parse("half.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A ruleset whose files are deleted is a failed reload (ErrRemoved) that
// keeps it serving, unless WithAllowRemove says removing is meant (issue
// 17: deleting b2b-saas's files turned its traffic into 404s with the
// reload reported a success).
func TestReloadRefusesToRemoveRulesets(t *testing.T) {
	for _, allow := range []bool{false, true} {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "watched.yaml"), rulesFile("v1"))
		writeFile(t, filepath.Join(dir, "other.yaml"), strings.Replace(rulesFile("other"), "ruleset: watched", "ruleset: other", 1))
		eng, err := Open(context.Background(), Paths(dir), WithAllowRemove(allow))
		must(t, err)
		must(t, os.Remove(filepath.Join(dir, "other.yaml")))
		err = eng.Reload(context.Background())
		_, lookup := eng.Ruleset("other")
		st := eng.Status()
		if allow {
			if err != nil || !errors.Is(lookup, ErrUnknownRuleset) || len(st.Rulesets) != 1 {
				t.Errorf("allowed: Reload = %v, Ruleset(other) = %v, %d rulesets live; want nil, ErrUnknownRuleset, 1", err, lookup, len(st.Rulesets))
			}
			continue
		}
		if !errors.Is(err, ErrRemoved) || !strings.Contains(err.Error(), "other") {
			t.Errorf("Reload after deleting other.yaml = %v; want ErrRemoved naming other", err)
		}
		if lookup != nil || len(st.Rulesets) != 2 || !errors.Is(st.LastError, ErrRemoved) || st.Failures != 1 {
			t.Errorf("after the refused removal: Ruleset(other) = %v, %d rulesets live, last error %v, %d failures; want it live, 2, ErrRemoved, 1",
				lookup, len(st.Rulesets), st.LastError, st.Failures)
		}
	}
}
