//go:build !linux

package engine

import "os"

// statFile is a file's stamp: its size and the time of its last write.
func statFile(name string) (stamp, error) {
	info, err := os.Stat(name)
	if err != nil {
		return stamp{}, err
	}
	t := info.ModTime().UnixNano()
	return stamp{size: info.Size(), mtime: t, ctime: t}, nil
}
