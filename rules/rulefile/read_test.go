package rulefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFile: a rule file is a regular file of at most MaxFileSize
// bytes. A link to a device was read as one (a reload read /dev/zero until
// the process ran out of memory; a named pipe waited for a writer
// forever), and so was a file of any size.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Repeat("#\n", size/2)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	device := filepath.Join(dir, "device.yaml")
	if err := os.Symlink(os.DevNull, device); err != nil {
		t.Skip(err)
	}
	tests := []struct {
		path string
		want string // in the error; "" for none
	}{
		{write("small.yaml", 100), ""},
		{write("at-the-limit.yaml", MaxFileSize), ""},
		{write("over-the-limit.yaml", MaxFileSize+2), "larger than 16 MiB"},
		{device, "not a regular file"},
		{dir, "is a directory"},
		{filepath.Join(dir, "missing.yaml"), "no such file"},
	}
	for _, tc := range tests {
		got, err := ReadFile(tc.path, []byte("kept"))
		switch {
		case tc.want == "" && (err != nil || len(got) != 4+int(mustSize(t, tc.path))):
			t.Errorf("ReadFile(%s) = %d bytes, %v; want the file after the buffer's 4", filepath.Base(tc.path), len(got), err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("ReadFile(%s) error %v; want one saying %q", filepath.Base(tc.path), err, tc.want)
		}
		if _, errFS := ReadFS(os.DirFS(dir), filepath.Base(tc.path), nil); tc.path != dir && (errFS == nil) != (tc.want == "") {
			t.Errorf("ReadFS(%s) error %v; want as ReadFile's, %q", filepath.Base(tc.path), errFS, tc.want)
		}
	}
	// What leadq check and a reload report.
	for _, path := range []string{device, tests[2].path} {
		if _, errs := ParsePaths(path); len(errs) != 1 || !strings.Contains(errs[0].Msg, "cannot read: ") {
			t.Errorf("ParsePaths(%s) = %v; want it cannot read the file", filepath.Base(path), errs)
		}
	}
	var pe *os.PathError
	if _, err := ReadFile(device, nil); !errors.As(err, &pe) || pe.Path != device {
		t.Errorf("error %v; want a *PathError naming the file", err)
	}
}

func mustSize(t *testing.T, path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}
