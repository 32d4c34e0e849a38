package accounts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce is how long the watcher waits after the last change before
// it reloads, so that an editor's write-rename-chmod, or an export that
// writes the file in pieces, costs one reload. As engine's.
const watchDebounce = 200 * time.Millisecond

// configMapData is the symlink kubelet swaps to update a ConfigMap volume.
const configMapData = "..data"

// Watcher reloads a Directory when its file changes. It is one goroutine,
// started by Watch and stopped by Close or the end of Watch's context.
type Watcher struct {
	fsw    *fsnotify.Watcher
	dir    *Directory
	cancel context.CancelFunc
	done   chan struct{}
}

// Watch reloads d (with Reload) about 200 ms after the last change to its
// file. It watches the file's directory, not the file, so that saves by
// rename and kubelet's ..data swap are seen, as engine.Watch does for rule
// files. It returns once the directory is watched. A failed reload keeps
// the last good accounts; the watcher carries on.
func (d *Directory) Watch(ctx context.Context) (*Watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch accounts: %w", err)
	}
	dir := filepath.Dir(filepath.Clean(d.path))
	if err := fsw.Add(dir); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("watch accounts %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{fsw: fsw, dir: d, cancel: cancel, done: make(chan struct{})}
	go w.loop(ctx)
	d.log.Info("watching the account file", "path", d.path)
	return w, nil
}

// Close stops the watcher and waits for its goroutine to end.
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
	name := filepath.Base(w.dir.path)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			base := filepath.Base(ev.Name)
			if ev.Has(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) && (base == name || base == configMapData) {
				timer.Reset(watchDebounce)
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			w.dir.log.Warn("watching the account file", "err", err)
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(watchDebounce)
			}
		case <-timer.C:
			_ = w.dir.Reload(ctx) // logged, kept in Status, passed to OnReload
		}
	}
}
