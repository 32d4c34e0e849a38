package watch

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ConfigMapData is the symlink kubelet swaps to update a ConfigMap or
// Secret volume: the files at the top are links into it, so replacing it
// changes every file at once while no event names one of them. An event
// on it is a change to every file that Match accepts.
const ConfigMapData = "..data"

// Config says what a Watcher watches and what it calls.
type Config struct {
	// Dirs are the directories to watch (their files, not below).
	Dirs []string
	// Match reports whether a file (a path under one of Dirs) is one the
	// caller reads; changes to other files are ignored.
	Match func(path string) bool
	// Debounce is how long the files must be left alone before Changed
	// is called: that long without an event, so that an editor's
	// write-rename-chmod costs one call. Then, on Linux, a file whose
	// writer has closed it is whole, and Changed is called; a file still
	// open for writing (or any file, on other systems) must also keep its
	// content (re-read and compared) for that long again, so that a writer
	// that pauses in the middle of a file is not read half-written.
	Debounce time.Duration
	// Changed is called, on the watcher's goroutine, once the files have
	// settled; its errors are the caller's to report.
	Changed func(ctx context.Context)
	// Log receives what goes wrong with watching itself; nil discards.
	Log *slog.Logger
}

// Watcher is one goroutine that calls Config.Changed when the matching
// files in some directories change and then settle. Start starts it;
// Close, or the end of Start's context, stops it.
type Watcher struct {
	cfg    Config
	fsw    *fsnotify.Watcher
	dirs   map[string]bool
	cancel context.CancelFunc
	done   chan struct{}
	seed   maphash.Seed
	// writers is the loop's: which files are being written (Linux).
	writers *writers
}

// Start watches cfg.Dirs and returns once every directory is watched: a
// change made after it returns leads to a call of cfg.Changed.
func Start(ctx context.Context, cfg Config) (*Watcher, error) {
	if len(cfg.Dirs) == 0 {
		return nil, errors.New("watch: no directories given")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	dirs := map[string]bool{}
	for _, dir := range cfg.Dirs {
		dir = filepath.Clean(dir)
		if err := fsw.Add(dir); err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch %s: %w", dir, err)
		}
		dirs[dir] = true
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{cfg: cfg, fsw: fsw, dirs: dirs, cancel: cancel, done: make(chan struct{}), seed: maphash.MakeSeed(),
		writers: newWriters(slices.Sorted(maps.Keys(dirs)))}
	go w.loop(ctx)
	return w, nil
}

// Close stops the watcher and waits for its goroutine to end; a call of
// Changed in progress finishes first.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return nil
}

// snapshot is the content of the changed files: a hash of each, or a
// marker for a file that cannot be read (gone, say).
type snapshot map[string]uint64

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	defer w.fsw.Close()
	defer w.writers.close()
	timer := time.NewTimer(w.cfg.Debounce)
	timer.Stop()
	defer timer.Stop()
	changed := map[string]bool{} // paths with events since the last call
	var settled snapshot         // their content once the events stopped; nil while they come
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if path, ok := w.relevant(ev); ok {
				w.cfg.Log.Debug("watched file changed", "event", ev.String())
				changed[path] = true
				settled = nil
				timer.Reset(w.cfg.Debounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.cfg.Log.Warn("watching files", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: every file may have changed.
				for dir := range w.dirs {
					changed[filepath.Join(dir, ConfigMapData)] = true
				}
				settled = nil
				timer.Reset(w.cfg.Debounce)
			}
		case <-timer.C:
			if w.writers.closed(changed) {
				// Every changed file's writer has closed it: it is
				// whole, and it has been left alone for a window.
				clear(changed)
				settled = nil
				w.cfg.Changed(ctx)
				continue
			}
			now := w.read(changed)
			if settled == nil || !equal(now, settled) {
				// Quiet for a while, but not yet seen unchanged across a
				// whole window: look again after one.
				settled = now
				timer.Reset(w.cfg.Debounce)
				continue
			}
			clear(changed)
			settled = nil
			w.writers.settled()
			w.cfg.Changed(ctx)
		}
	}
}

// relevant reports whether an event may change a file the caller reads: a
// write, creation, removal or rename of a file Match accepts, or of the
// ConfigMap ..data link. Permission changes alone are ignored.
func (w *Watcher) relevant(ev fsnotify.Event) (string, bool) {
	if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename) {
		return "", false
	}
	path := filepath.Clean(ev.Name)
	if w.dirs[path] && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		w.cfg.Log.Warn("a watched directory was removed or renamed; its changes are no longer seen until restart", "dir", path)
		return "", false
	}
	if !w.dirs[filepath.Dir(path)] {
		return "", false
	}
	return path, filepath.Base(path) == ConfigMapData || w.cfg.Match(path)
}

// read hashes the content of the changed files; a ..data link stands for
// every file of its directory that Match accepts.
func (w *Watcher) read(changed map[string]bool) snapshot {
	s := snapshot{}
	add := func(path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			s[path] = 0 // cannot be read: gone, or replaced under our feet
			return
		}
		s[path] = maphash.Bytes(w.seed, data) | 1
	}
	for path := range changed {
		if filepath.Base(path) != ConfigMapData {
			add(path)
			continue
		}
		dir := filepath.Dir(path)
		entries, _ := os.ReadDir(dir)
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if p := filepath.Join(dir, e.Name()); w.cfg.Match(p) {
				names = append(names, p)
			}
		}
		s[path] = maphash.String(w.seed, fmt.Sprint(slices.Sorted(slices.Values(names)))) | 1
		for _, p := range names {
			add(p)
		}
	}
	return s
}

func equal(a, b snapshot) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
