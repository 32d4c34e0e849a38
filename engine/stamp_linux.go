package engine

import "syscall"

// statFile is a file's stamp: its size, the times of its last write and
// of its last change of any kind (a change time no tool can set back, as
// rsync -t and tar set back the write time), and its identity (a file
// renamed over it is another).
func statFile(name string) (stamp, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(name, &st); err != nil {
		return stamp{}, err
	}
	return stamp{size: st.Size, mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(), ino: st.Ino, dev: uint64(st.Dev)}, nil
}
