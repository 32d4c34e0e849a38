package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/leadq/leadq/rules/rulefile"
)

// watchDebounce is how long the watcher waits after the last change before
// it reloads, so that an editor's write-rename-chmod or a kubelet update of
// several files costs one reload.
const watchDebounce = 200 * time.Millisecond

// configMapData is the symlink kubelet swaps to update a ConfigMap or Secret
// volume: the files at the top are links into it, so replacing it changes
// every file at once while no event names a rule file.
const configMapData = "..data"

// Watcher reloads an engine when its rule files change. It is one goroutine,
// started by Watch and stopped by Close or by the end of Watch's context.
type Watcher struct {
	fsw    *fsnotify.Watcher
	eng    *Engine
	dirs   map[string]dirFilter // watched directory -> what in it matters
	cancel context.CancelFunc
	done   chan struct{}
}

// dirFilter says which names in a watched directory are rule sources: every
// rule file (the directory was given) or only the named files.
type dirFilter struct {
	all   bool
	files map[string]bool
}

// Watch reloads e (with Reload, as every other trigger does) about 200 ms
// after the last change to a rule source under paths, the files and
// directories given to Paths. It watches directories, not files, so that
// editors that save by writing a new file and renaming it over the old one
// are seen, and it treats kubelet's swap of the ..data symlink as a change
// to every file, so ConfigMap volumes work. Watch returns once every
// directory is watched: a change made after it returns triggers a reload.
// A failed reload keeps the last good rulesets live; it is reported through
// the logger, Status and WithOnReload, and the watcher carries on.
func (e *Engine) Watch(ctx context.Context, paths ...string) (*Watcher, error) {
	if len(paths) == 0 {
		return nil, errors.New("watch: no paths given")
	}
	dirs := map[string]dirFilter{}
	for _, p := range paths {
		p = filepath.Clean(p)
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("watch %s: %w", p, err)
		}
		dir, name := p, ""
		if !info.IsDir() {
			dir, name = filepath.Dir(p), filepath.Base(p)
		}
		f := dirs[dir]
		if name == "" {
			f.all = true
		} else {
			if f.files == nil {
				f.files = map[string]bool{}
			}
			f.files[name] = true
		}
		dirs[dir] = f
	}
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	names := make([]string, 0, len(dirs))
	for dir := range dirs {
		names = append(names, dir)
	}
	sort.Strings(names)
	for _, dir := range names {
		if err := fsw.Add(dir); err != nil {
			fsw.Close()
			return nil, fmt.Errorf("watch %s: %w", dir, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{fsw: fsw, eng: e, dirs: dirs, cancel: cancel, done: make(chan struct{})}
	go w.loop(ctx)
	e.log.Info("watching rule files", "dirs", names)
	return w, nil
}

// Close stops the watcher and waits for its goroutine to end. A reload in
// progress finishes first.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return nil
}

func (w *Watcher) loop(ctx context.Context) {
	defer close(w.done)
	defer w.fsw.Close()
	timer := time.NewTimer(watchDebounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			if w.relevant(ev) {
				w.eng.log.Debug("rule source changed", "event", ev.String())
				timer.Reset(watchDebounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.eng.log.Warn("watching rule files", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost; reloading is always safe.
				timer.Reset(watchDebounce)
			}
		case <-timer.C:
			// The error is logged, kept in Status and passed to
			// the OnReload callbacks by Reload itself.
			_ = w.eng.Reload(ctx)
		}
	}
}

// relevant reports whether an event may change the rules: a write, creation,
// removal or rename of a rule source, or of the ConfigMap ..data link.
// Permission changes alone are ignored.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename) {
		return false
	}
	if _, ok := w.dirs[ev.Name]; ok && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		w.eng.log.Warn("a watched rule directory was removed or renamed; its changes are no longer seen until restart", "dir", ev.Name)
		return false
	}
	f, ok := w.dirs[filepath.Dir(ev.Name)]
	if !ok {
		return false
	}
	name := filepath.Base(ev.Name)
	switch {
	case name == configMapData:
		return true
	case f.all && rulefile.IsRuleFile(name):
		return true
	}
	return f.files[name]
}
