package watch

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// timeout bounds every wait; it is a failure deadline, not a way to
// synchronise: the tests wait on Changed.
const timeout = 20 * time.Second

func yaml(path string) bool { return strings.HasSuffix(path, ".yaml") }

// started watches dir with Match yaml and a 200 ms debounce, and returns
// the channel Changed feeds with the content of dir/rules.yaml at the time
// of each call.
func started(t *testing.T, dir string) (*Watcher, chan string) {
	t.Helper()
	return startedWith(t, dir, 200*time.Millisecond)
}

func startedWith(t *testing.T, dir string, debounce time.Duration) (*Watcher, chan string) {
	t.Helper()
	ch := make(chan string, 16)
	w, err := Start(context.Background(), Config{Dirs: []string{dir}, Match: yaml, Debounce: debounce,
		Changed: func(ctx context.Context) {
			data, _ := os.ReadFile(filepath.Join(dir, "rules.yaml"))
			ch <- string(data)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, ch
}

// A writer that pauses longer than the debounce half-way through a file
// (half the file, 300 ms, the rest) gets one call, after the whole file is
// written: the half was quiet for a debounce window but had changed when
// it was re-read.
func TestSlowWriterIsReadWhole(t *testing.T) {
	dir := t.TempDir()
	_, ch := started(t, dir)
	whole := strings.Repeat("- a line of the rule file\n", 200)
	f, err := os.Create(filepath.Join(dir, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, part := range []string{whole[:len(whole)/2], whole[len(whole)/2:]} {
		if _, err := f.WriteString(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	select {
	case got := <-ch:
		if got != whole {
			t.Fatalf("Changed was called with %d of the file's %d bytes written", len(got), len(whole))
		}
	case <-time.After(timeout):
		t.Fatal("Changed was never called")
	}
	select {
	case got := <-ch:
		t.Errorf("Changed was called twice for one write (then with %d bytes)", len(got))
	case <-time.After(time.Second):
	}
}

// On Linux a file written and closed, in place or renamed into place, is
// passed on after one window of quiet: its writer is done with it. (Were
// its content compared across a second window, the call would come after
// two windows; the window is long so that a busy machine's late timers
// leave the two apart.)
func TestClosedFileAfterOneWindow(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux says when a writer closes a file")
	}
	const debounce = 1500 * time.Millisecond
	for _, rename := range []bool{false, true} {
		dir := t.TempDir()
		_, ch := startedWith(t, dir, debounce)
		path := filepath.Join(dir, "rules.yaml")
		whole := strings.Repeat("- a line of the rule file\n", 200)
		if rename {
			if err := os.WriteFile(path+".tmp", []byte(whole), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(path+".tmp", path); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, []byte(whole), 0o644); err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		select {
		case got := <-ch:
			if took := time.Since(written); got != whole || took > debounce*18/10 {
				t.Errorf("renamed %v: Changed with %d of %d bytes after %v; want the whole file after about %v", rename, len(got), len(whole), took, debounce)
			}
		case <-time.After(timeout):
			t.Fatal("Changed was never called")
		}
	}
}

// A writer that pauses longer than the window and then closes the file is
// passed on whole, once it has closed it.
func TestSlowWriterThenClose(t *testing.T) {
	dir := t.TempDir()
	_, ch := started(t, dir)
	whole := strings.Repeat("- a line of the rule file\n", 200)
	f, err := os.Create(filepath.Join(dir, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{whole[:len(whole)/2], whole[len(whole)/2:]} {
		if _, err := f.WriteString(part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ch:
		if got != whole {
			t.Fatalf("Changed was called with %d of the file's %d bytes written", len(got), len(whole))
		}
	case <-time.After(timeout):
		t.Fatal("Changed was never called")
	}
}

// A burst of changes (an editor's write, rename and chmod) is one call.
func TestBurstIsOneCall(t *testing.T) {
	dir := t.TempDir()
	_, ch := started(t, dir)
	tmp := filepath.Join(dir, "rules.yaml.tmp")
	for i := range 3 {
		if err := os.WriteFile(tmp, []byte(strings.Repeat("x", i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "rules.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case got := <-ch:
		if got != "xxx" {
			t.Errorf("Changed saw %q; want the last write", got)
		}
	case <-time.After(timeout):
		t.Fatal("Changed was never called")
	}
	select {
	case <-ch:
		t.Error("Changed was called twice for one burst")
	case <-time.After(time.Second):
	}
}

// Close and the end of the context both stop the goroutine, and Close
// waits for it.
func TestClose(t *testing.T) {
	dir := t.TempDir()
	w, _ := started(t, dir)
	w.Close()
	select {
	case <-w.done:
	default:
		t.Fatal("Close returned before the watcher goroutine ended")
	}

	ctx, cancel := context.WithCancel(context.Background())
	w, err := Start(ctx, Config{Dirs: []string{dir}, Match: yaml, Debounce: time.Millisecond, Changed: func(context.Context) {}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-w.done:
	case <-time.After(timeout):
		t.Fatal("the watcher goroutine did not end with its context")
	}
	w.Close() // after the context ended, Close still returns

	if _, err := Start(context.Background(), Config{Dirs: []string{filepath.Join(dir, "missing")}, Match: yaml}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start(missing dir) error = %v; want os.ErrNotExist", err)
	}
}

// TestRelevant pins which events count, with the engine's filter for rule
// files: every YAML file of /rules, only b2b.yaml of /single.
func TestRelevant(t *testing.T) {
	match := func(path string) bool {
		name := filepath.Base(path)
		switch filepath.Dir(path) {
		case "/rules":
			return !strings.HasPrefix(name, ".") && (filepath.Ext(name) == ".yaml" || filepath.Ext(name) == ".yml")
		case "/single":
			return name == "b2b.yaml"
		}
		return false
	}
	w := &Watcher{cfg: Config{Match: match, Log: discard()}, dirs: map[string]bool{"/rules": true, "/single": true}}
	tests := []struct {
		name string
		ev   fsnotify.Event
		want bool
	}{
		{"write to a rule file", fsnotify.Event{Name: "/rules/b2b.yaml", Op: fsnotify.Write}, true},
		{"yml", fsnotify.Event{Name: "/rules/b2b.yml", Op: fsnotify.Create}, true},
		{"rename over a rule file", fsnotify.Event{Name: "/rules/b2b.yaml", Op: fsnotify.Create}, true},
		{"rule file removed", fsnotify.Event{Name: "/rules/b2b.yaml", Op: fsnotify.Remove}, true},
		{"rule file renamed away", fsnotify.Event{Name: "/rules/b2b.yaml", Op: fsnotify.Rename}, true},
		{"chmod only", fsnotify.Event{Name: "/rules/b2b.yaml", Op: fsnotify.Chmod}, false},
		{"ConfigMap swap", fsnotify.Event{Name: "/rules/..data", Op: fsnotify.Create}, true},
		{"ConfigMap temporary link", fsnotify.Event{Name: "/rules/..data_tmp", Op: fsnotify.Create}, false},
		{"ConfigMap payload directory", fsnotify.Event{Name: "/rules/..2026_11_23_10_00_00.1", Op: fsnotify.Create}, false},
		{"editor swap file", fsnotify.Event{Name: "/rules/.b2b.yaml.swp", Op: fsnotify.Write}, false},
		{"emacs lock", fsnotify.Event{Name: "/rules/.#b2b.yaml", Op: fsnotify.Create}, false},
		{"backup", fsnotify.Event{Name: "/rules/b2b.yaml~", Op: fsnotify.Create}, false},
		{"not YAML", fsnotify.Event{Name: "/rules/README.md", Op: fsnotify.Write}, false},
		{"subdirectory", fsnotify.Event{Name: "/rules/old/b2b.yaml", Op: fsnotify.Write}, false},
		{"the watched file", fsnotify.Event{Name: "/single/b2b.yaml", Op: fsnotify.Create}, true},
		{"a sibling of the watched file", fsnotify.Event{Name: "/single/other.yaml", Op: fsnotify.Write}, false},
		{"ConfigMap swap beside the watched file", fsnotify.Event{Name: "/single/..data", Op: fsnotify.Create}, true},
		{"the watched directory removed", fsnotify.Event{Name: "/rules", Op: fsnotify.Remove}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := w.relevant(tc.ev); got != tc.want {
				t.Errorf("relevant(%v) = %v; want %v", tc.ev, got, tc.want)
			}
		})
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
