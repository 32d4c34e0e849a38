// Package watch is leadq's one debounced directory watcher: the engine
// reloads rule files with it and the account directory its account file.
// A Watcher is one goroutine over fsnotify that watches directories, not
// files (editors save by renaming a new file over the old one, and
// kubelet updates a ConfigMap volume by swapping its ..data link), and
// calls its Changed function once the files it cares about have changed
// and been left alone for the debounce window. A file is then read only
// once its writer has closed it (Linux's IN_CLOSE_WRITE, from an inotify
// instance of its own, since fsnotify does not pass it on; writers_linux.go);
// a file still open for writing, and every file on other systems, must
// also stay the same for another window, re-read and compared: a writer
// that pauses half-way through a file is not read half-written, and an
// edit saved the usual way (written and closed, or renamed into place) is
// passed on after one window.
// It knows nothing of rules or accounts.
package watch
