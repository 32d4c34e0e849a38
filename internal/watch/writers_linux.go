//go:build linux

package watch

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
)

// writers knows which files in the watched directories are being written:
// modified or created since their writer last closed them. Linux says when
// a writer closes a file (IN_CLOSE_WRITE), and fsnotify does not pass that
// on, so writers keeps an inotify instance of its own, read without
// blocking on the watcher's goroutine when a decision is due: the kernel
// queues an event on both instances in the write or close itself, so what
// the fsnotify events announced is in its queue by then, in order.
type writers struct {
	fd   int              // the inotify instance, non-blocking; -1 when there is none
	dirs map[int32]string // watch descriptor → its directory
	open map[string]bool  // files written and not yet closed
	lost bool             // the queue overflowed: which files are open is unknown
	buf  []byte
}

const writerEvents = syscall.IN_MODIFY | syscall.IN_CREATE | syscall.IN_CLOSE_WRITE |
	syscall.IN_MOVED_TO | syscall.IN_MOVED_FROM | syscall.IN_DELETE

// newWriters watches dirs; on any error it knows nothing (known false), and
// the watcher compares contents instead, as on other systems.
func newWriters(dirs []string) *writers {
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return &writers{fd: -1}
	}
	w := &writers{fd: fd, dirs: map[int32]string{}, open: map[string]bool{}, buf: make([]byte, 64<<10)}
	for _, dir := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, dir, writerEvents)
		if err != nil {
			w.close()
			return &writers{fd: -1}
		}
		w.dirs[int32(wd)] = dir
	}
	return w
}

// drain reads the events queued since the last call.
func (w *writers) drain() {
	for w.fd >= 0 {
		n, err := syscall.Read(w.fd, w.buf)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			return // EAGAIN: nothing more queued
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(w.buf[off:]))
			mask := binary.NativeEndian.Uint32(w.buf[off+4:])
			size := int(binary.NativeEndian.Uint32(w.buf[off+12:]))
			name := strings.TrimRight(string(w.buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+size]), "\x00")
			off += syscall.SizeofInotifyEvent + size
			if mask&syscall.IN_Q_OVERFLOW != 0 {
				w.lost = true
				continue
			}
			dir, ok := w.dirs[wd]
			if !ok || name == "" {
				continue
			}
			path := filepath.Join(dir, name)
			switch {
			case mask&syscall.IN_CLOSE_WRITE != 0:
				delete(w.open, path)
			case mask&(syscall.IN_MODIFY|syscall.IN_CREATE) != 0:
				w.open[path] = true // a created file is open for writing until closed
			default:
				// Renamed into place, away, or deleted: not this path's
				// writer any more. A file renamed over another was
				// written and closed under its temporary name.
				delete(w.open, path)
			}
		}
	}
}

// closed reports whether it is known that no file among paths is being
// written. It reads the queued events first.
func (w *writers) closed(paths map[string]bool) bool {
	w.drain()
	if w.fd < 0 || w.lost {
		return false
	}
	for p := range paths {
		if w.open[p] {
			return false
		}
	}
	return true
}

// settled forgets an overflow once the files have settled by their
// contents: whatever is written from now on is seen again.
func (w *writers) settled() { w.lost = false }

func (w *writers) close() {
	if w.fd >= 0 {
		syscall.Close(w.fd)
		w.fd = -1
	}
}
