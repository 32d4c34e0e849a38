package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/leadq/leadq/internal/watch"
	"github.com/leadq/leadq/rules/rulefile"
)

// watchDebounce is how long the rule files must be left alone before a
// reload, so that an editor's write-rename-chmod or a kubelet update of
// several files costs one reload; a file still open for writing waits
// that long again with the same content (internal/watch), so that a file
// written in pieces is not read half-written.
const watchDebounce = 200 * time.Millisecond

// Watcher reloads an engine when its rule files change. It is one goroutine,
// started by Watch and stopped by Close or by the end of Watch's context.
type Watcher struct {
	w *watch.Watcher
}

// dirFilter says which names in a watched directory are rule sources: every
// rule file (the directory was given) or only the named files.
type dirFilter struct {
	all   bool
	files map[string]bool
}

// Watch reloads e (with Reload, as every other trigger does) once a rule
// source under paths, the files and directories given to Paths, has
// changed and been left alone for about 200 ms, and its writer has closed
// it (on Linux; a file still open, or any file elsewhere, must also stay
// the same for another 200 ms, re-read and compared: internal/watch). It
// watches directories, not files, so that editors that save by writing a
// new file and renaming it over the old one are seen, and it treats
// kubelet's swap of the ..data symlink as a change to every file, so
// ConfigMap volumes work. Watch returns once every directory is watched:
// a change made after it returns triggers a reload.
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
	names := slices.Sorted(maps.Keys(dirs))
	w, err := watch.Start(ctx, watch.Config{
		Dirs: names,
		Match: func(path string) bool {
			f := dirs[filepath.Dir(path)]
			name := filepath.Base(path)
			return (f.all && rulefile.IsRuleFile(name)) || f.files[name]
		},
		Debounce: watchDebounce,
		// The error is logged, kept in Status and passed to the OnReload
		// callbacks by Reload itself.
		Changed: func(ctx context.Context) { _ = e.Reload(ctx) },
		Log:     e.log,
	})
	if err != nil {
		return nil, err
	}
	e.log.Info("watching rule files", "dirs", names)
	return &Watcher{w: w}, nil
}

// Close stops the watcher and waits for its goroutine to end. A reload in
// progress finishes first.
func (w *Watcher) Close() error { return w.w.Close() }
