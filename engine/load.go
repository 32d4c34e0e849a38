package engine

import (
	"bytes"
	"errors"
	"hash/maphash"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/compiler"
	"github.com/leadq/leadq/rules/rulefile"
)

// incremental is the memory of Paths and FS: what each file held and
// which ruleset it belongs to, and each ruleset as it was compiled. A
// load reads every file whose stamp (size, times, identity: statFile)
// differs from the last load's, parses only those whose content changed,
// and compiles again only the rulesets one of whose files changed,
// appeared or went. Reading is what a reload of a thousand rulesets spent
// its time on (opening 2,000 files); FS, whose files have no trustworthy
// stamps, reads every file. Anything that
// goes wrong is left to the full load (the compiler's own LoadPaths or
// Load), which reports every problem as `leadq check` does; the memory
// then stays as it was after the last good load.
type incremental struct {
	mu   sync.Mutex
	list func() ([]string, error)                      // the rule files' names
	read func(name string, buf []byte) ([]byte, error) // a file's content, into buf
	stat func(name string) (stamp, error)              // nil: read every file
	buf  []byte                                        // reused: a load reads every file
	c    compiler.Compiler                             // with the LRU of compiled conditions
	seed maphash.Seed

	files    map[string]loadedFile     // by name, as of the last good load
	rulesets map[string]*rules.Ruleset // by name, as of the last good load
}

// loadedFile is what a load remembers of a file: a hash of its content
// (not the content: a thousand rulesets' files are megabytes) and the
// ruleset it declared.
type loadedFile struct {
	hash    uint64
	ruleset string
	stamp   stamp // the zero stamp: read it again next time
}

// stamp is what a file's metadata says of its content. Two stamps alike
// mean the same content, unless the file changed twice within one tick of
// the file system's clock (milliseconds, or seconds on some) with the
// same size, and was read in between: so, as git does with its index, a
// stamp taken less than racyWindow after the file's last change is not
// trusted, and the file is read again at the next load.
type stamp struct {
	size         int64
	mtime, ctime int64 // ns since 1970
	ino, dev     uint64
}

// racyWindow is how long after its last change a file's stamp starts to
// be trusted: more than any file system clock's tick.
const racyWindow = 2 * time.Second

// trusted is st, taken before the file was read at a load that started at
// start, or the zero stamp when it is too recent to be trusted.
func trusted(st stamp, start time.Time) stamp {
	if max(st.mtime, st.ctime) >= start.Add(-racyWindow).UnixNano() {
		return stamp{}
	}
	return st
}

func newIncremental(list func() ([]string, error), read func(string, []byte) ([]byte, error), stat func(string) (stamp, error)) *incremental {
	return &incremental{list: list, read: read, stat: stat, c: compiler.Compiler{Cache: newProgramCache(programCacheSize)}, seed: maphash.MakeSeed()}
}

// errFullLoad sends a load to the compiler's full load, for its errors.
var errFullLoad = errors.New("not incremental")

// load returns every ruleset, compiling what changed since the last good
// load; full is the compiler's load of everything, for the first load and
// for problems.
func (l *incremental) load(full func(compiler.Compiler) ([]*rules.Ruleset, error)) ([]*rules.Ruleset, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if out, files, err := l.update(); err == nil {
		l.remember(out, files)
		return out, nil
	}
	out, err := full(l.c)
	if err != nil {
		return nil, err
	}
	for _, rs := range out {
		rs.Tests = nil // for leadq test, not for serving
	}
	// Remember the files the full load read; the hashes are of what the
	// listing reads now, which a write in between may have changed: the
	// next load then compiles that ruleset again, which is safe.
	names, lerr := l.list()
	if lerr != nil {
		l.files, l.rulesets = nil, nil
		return out, nil
	}
	owner := map[string]string{} // file → its ruleset
	for _, rs := range out {
		for _, f := range rs.Files {
			owner[f] = rs.Name
		}
	}
	files := make(map[string]loadedFile, len(names))
	start := time.Now()
	for _, name := range names {
		set, ok := owner[name]
		if !ok {
			continue
		}
		st, err := l.stamp(name, start)
		if err != nil {
			continue // not remembered: compiled again next time
		}
		if l.buf, err = l.read(name, l.buf[:0]); err != nil {
			continue
		}
		files[name] = loadedFile{hash: maphash.Bytes(l.seed, l.buf), ruleset: set, stamp: st}
	}
	l.remember(out, files)
	return out, nil
}

// update is an incremental load: every ruleset, the files it read, or
// errFullLoad when the full load must say what is wrong.
func (l *incremental) update() ([]*rules.Ruleset, map[string]loadedFile, error) {
	names, err := l.list()
	if err != nil || len(names) == 0 {
		return nil, nil, errFullLoad
	}
	files := make(map[string]loadedFile, len(names))
	stale := map[string]bool{} // rulesets to compile again
	start := time.Now()
	for _, name := range names {
		// The stamp is taken before the read: a write after it changes
		// the stamp the next load sees.
		st, err := l.stamp(name, start)
		if err != nil {
			return nil, nil, errFullLoad
		}
		old, known := l.files[name]
		if known && old.stamp != (stamp{}) && old.stamp == st {
			files[name] = old
			continue
		}
		if l.buf, err = l.read(name, l.buf[:0]); err != nil {
			return nil, nil, errFullLoad
		}
		h := maphash.Bytes(l.seed, l.buf)
		if known && old.hash == h {
			old.stamp = st
			files[name] = old
			continue
		}
		set := rulesetOf(l.buf)
		if set == "" {
			return nil, nil, errFullLoad
		}
		files[name] = loadedFile{hash: h, ruleset: set, stamp: st}
		stale[set] = true
		if old, ok := l.files[name]; ok {
			stale[old.ruleset] = true // the file may have moved to another ruleset
		}
	}
	for name, old := range l.files {
		if _, ok := files[name]; !ok {
			stale[old.ruleset] = true // the file is gone
		}
	}
	// Each ruleset to compile is parsed when its turn comes, so that a
	// first load holds one ruleset's syntax trees at a time, not all.
	bySet := map[string][]string{}
	for _, name := range names {
		if set := files[name].ruleset; stale[set] {
			bySet[set] = append(bySet[set], name)
		}
	}
	parse := func(set string) ([]*rulefile.File, error) {
		var out []*rulefile.File
		for _, name := range bySet[set] {
			src, err := l.read(name, nil)
			if err != nil {
				return nil, errFullLoad
			}
			f, err := rulefile.Parse(name, src)
			if err != nil || f.Ruleset.Value != set {
				return nil, errFullLoad // or rulesetOf misread it
			}
			out = append(out, f)
		}
		return out, nil
	}
	sets := map[string]bool{}
	for _, name := range names {
		sets[files[name].ruleset] = true
	}
	var out []*rules.Ruleset
	for _, name := range slices.Sorted(maps.Keys(sets)) {
		if !stale[name] {
			out = append(out, l.rulesets[name])
			continue
		}
		parsed, err := parse(name)
		if err != nil {
			return nil, nil, err
		}
		rs, err := l.c.Compile(parsed...)
		if err != nil {
			return nil, nil, errFullLoad
		}
		rs.Tests = nil
		out = append(out, rs)
	}
	return out, files, nil
}

// stamp is name's stamp if it can be trusted (see trusted), or the zero
// stamp: always for FS, which has no stat.
func (l *incremental) stamp(name string, start time.Time) (stamp, error) {
	if l.stat == nil {
		return stamp{}, nil
	}
	st, err := l.stat(name)
	return trusted(st, start), err
}

// rulesetOf reads the ruleset a rule file declares from its top-level
// ruleset: line, without parsing the YAML: "" when there is none it can
// read. Parse has the last word: a ruleset whose files do not say what
// rulesetOf read goes to the full load.
func rulesetOf(src []byte) string {
	for len(src) > 0 {
		line := src
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			line, src = src[:i], src[i+1:]
		} else {
			src = nil
		}
		v, ok := bytes.CutPrefix(line, []byte("ruleset:"))
		if !ok {
			continue
		}
		if i := bytes.Index(v, []byte(" #")); i >= 0 {
			v = v[:i]
		}
		v = bytes.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		return string(v)
	}
	return ""
}

func (l *incremental) remember(out []*rules.Ruleset, files map[string]loadedFile) {
	byName := make(map[string]*rules.Ruleset, len(out))
	for _, rs := range out {
		byName[rs.Name] = rs
	}
	l.files, l.rulesets = files, byName
}

// listPaths lists the rule files that Paths names: the files given and
// the rule files at the top of the directories given, under the names the
// compiler's LoadPaths reports them by.
func listPaths(paths []string) func() ([]string, error) {
	return func() ([]string, error) {
		var out []string
		for _, p := range paths {
			info, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			if !info.IsDir() {
				out = append(out, p)
				continue
			}
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, e := range entries {
				if rulefile.IsRuleFile(e.Name()) {
					out = append(out, filepath.Join(p, e.Name()))
				}
			}
		}
		return out, nil
	}
}

// readFile reads a rule file into buf.
func readFile(name string, buf []byte) ([]byte, error) { return rulefile.ReadFile(name, buf) }

// listFS lists the rule files at the top of fsys, as the compiler's Load.
func listFS(fsys fs.FS) func() ([]string, error) {
	return func() ([]string, error) {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range entries {
			if rulefile.IsRuleFile(e.Name()) {
				out = append(out, e.Name())
			}
		}
		return out, nil
	}
}

// readFS reads a file of fsys.
func readFS(fsys fs.FS) func(string, []byte) ([]byte, error) {
	return func(name string, buf []byte) ([]byte, error) {
		return rulefile.ReadFS(fsys, name, buf)
	}
}
