package accounts

import (
	"context"
	"path/filepath"
	"time"

	"github.com/leadq/leadq/internal/watch"
)

// watchDebounce is how long the account file must be left alone before a
// reload (internal/watch): an editor's write-rename-chmod, or an export
// that writes the file in pieces, costs one reload. As engine's.
const watchDebounce = 200 * time.Millisecond

// Watcher reloads a Directory when its file changes. It is one goroutine,
// started by Watch and stopped by Close or the end of Watch's context.
type Watcher struct {
	w *watch.Watcher
}

// Watch reloads d (with Reload) once its file has changed, been left
// alone for about 200 ms and been closed by its writer (internal/watch, as
// engine.Watch for rule files: saves by rename and kubelet's ..data swap
// are seen). It returns once the directory is watched. A failed reload
// keeps the last good accounts; the watcher carries on.
func (d *Directory) Watch(ctx context.Context) (*Watcher, error) {
	path := filepath.Clean(d.path)
	w, err := watch.Start(ctx, watch.Config{
		Dirs:     []string{filepath.Dir(path)},
		Match:    func(p string) bool { return p == path },
		Debounce: watchDebounce,
		Changed:  func(ctx context.Context) { _ = d.Reload(ctx) }, // logged, kept in Status, passed to OnReload
		Log:      d.log,
	})
	if err != nil {
		return nil, err
	}
	d.log.Info("watching the account file", "path", d.path)
	return &Watcher{w: w}, nil
}

// Close stops the watcher and waits for its goroutine to end.
func (w *Watcher) Close() error { return w.w.Close() }
