// Package watch is leadq's one debounced directory watcher: the engine
// reloads rule files with it and the account directory its account file.
// A Watcher is one goroutine over fsnotify that watches directories, not
// files (editors save by renaming a new file over the old one, and
// kubelet updates a ConfigMap volume by swapping its ..data link), and
// calls its Changed function once the files it cares about have changed
// and then stayed the same for the debounce window, re-read and compared:
// a writer that pauses half-way through a file is not read half-written.
// It knows nothing of rules or accounts.
package watch
