package rulefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize is the largest rule file leadq reads. A rule file is a few
// kilobytes of text; a file past this is not one (a log, a data set, a
// link to /dev/zero), and reading it whole would take the memory of the
// process that reloads it.
const MaxFileSize = 16 << 20

// ReadFile reads the rule (or mapping) file name, appending it to buf. Only a regular
// file is read: opening a named pipe waits for a writer, and a device
// (/dev/zero) never ends, either of which hung a reload.
func ReadFile(name string, buf []byte) ([]byte, error) {
	info, err := os.Stat(name)
	if err != nil {
		return buf, err
	}
	if err := regular(info); err != nil {
		return buf, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	f, err := os.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	return readLimited(f, name, buf)
}

// ReadFS is ReadFile for a file of fsys.
func ReadFS(fsys fs.FS, name string, buf []byte) ([]byte, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return buf, err
	}
	if err := regular(info); err != nil {
		return buf, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	f, err := fsys.Open(name)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	return readLimited(f, name, buf)
}

var errNotRegular = errors.New("not a regular file (a device, a pipe or a socket)")

func regular(info fs.FileInfo) error {
	if info.IsDir() {
		return errors.New("is a directory")
	}
	if !info.Mode().IsRegular() {
		return errNotRegular
	}
	return nil
}

// readLimited appends what r holds to buf, up to MaxFileSize bytes.
func readLimited(r io.Reader, name string, buf []byte) ([]byte, error) {
	start := len(buf)
	lr := io.LimitReader(r, MaxFileSize+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf)-start > MaxFileSize {
			return buf[:start], &fs.PathError{Op: "read", Path: name,
				Err: fmt.Errorf("larger than %d MiB, which no rule or mapping file is (is it the right file?)", MaxFileSize>>20)}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
