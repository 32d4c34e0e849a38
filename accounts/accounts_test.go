package accounts_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/accounts"
)

func TestParse(t *testing.T) {
	for _, name := range []string{"accounts.csv", "accounts.jsonl"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			tab, err := accounts.Parse(name, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tab.Accounts() < 2 || tab.Len() < 3 {
				t.Errorf("Parse: %d accounts, %d domains; want the file's", tab.Accounts(), tab.Len())
			}
		})
	}
	data, _ := os.ReadFile("testdata/accounts.csv")
	tab, err := accounts.Parse("accounts.csv", data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gmail.com"}, tab.Skipped()); diff != "" {
		t.Errorf("Skipped() mismatch (-want +got):\n%s", diff)
	}
	if _, err := accounts.Parse("accounts.xlsx", nil); err == nil {
		t.Error("Parse(.xlsx) succeeded; want an error")
	}
	if tab, err := accounts.Parse("empty.csv", nil); err != nil || tab.Len() != 0 {
		t.Errorf("Parse(empty) = %v, %v; want no accounts", tab, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad.csv", []string{
			`bad.csv:3: no domain (every account needs one, in its domain column or key)`,
			`bad.csv:4: domain acme.example is listed twice (first on line 2)`,
			`bad.csv:5: domain "not" is not a domain name (like acme.example)`,
			`bad.csv:5: domain "a" is not a domain name (like acme.example)`,
			`bad.csv:5: domain "domain" is not a domain name (like acme.example)`,
			`bad.csv:6: 3 fields, but the header has 2`,
		}},
		{"bad.jsonl", []string{
			`bad.jsonl:2: not a JSON object on one line`,
			`bad.jsonl:3: no domain (every account needs one, in its domain column or key)`,
			`bad.jsonl:4: not a JSON object on one line`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = accounts.Parse(tc.file, data)
			var list accounts.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse(%s) error = %v; want an ErrorList", tc.file, err)
			}
			if diff := cmp.Diff(strings.Join(tc.want, "\n"), list.Error()); diff != "" {
				t.Errorf("Parse(%s) errors mismatch (-want +got):\n%s", tc.file, diff)
			}
		})
	}
	_, err := accounts.Parse("x.csv", []byte("name,industry\nAcme,software\n"))
	if err == nil || err.Error() != "x.csv:1: no domain column in the header (found name, industry)" {
		t.Errorf("Parse(no domain column) error = %v", err)
	}
}

func openDir(t *testing.T, path string, opts ...accounts.Option) *accounts.Directory {
	t.Helper()
	d, err := accounts.Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestResolve(t *testing.T) {
	d := openDir(t, "testdata/accounts.csv")
	tests := []struct {
		email string
		name  string // the account's name; "" for no account
	}{
		{"ana.silva@northbank.example", "Northbank"},
		{"Ana.Silva@NORTHBANK.example ", "Northbank"},
		{"tom@haulwise.ca", "Haulwise"},
		{"tom@eu.ops.haulwise.example", "Haulwise"}, // the nearest parent domain
		{"r.okafor@medisys.example", "Medisys"},     // "www." dropped from the file's domain
		{"someone@gmail.com", ""},                   // free mail, though the file lists it
		{"someone@mail.gmail.com", ""},
		{"nobody@unknown.example", ""},
		{"not-an-email", ""},
		{"", ""},
		{"x@example", ""}, // no walking up to a bare top-level domain
	}
	for _, tc := range tests {
		a, ok := d.Resolve(tc.email)
		got, _ := a["name"].(string)
		if ok != (tc.name != "") || got != tc.name {
			t.Errorf("Resolve(%q) = %v, %v; want name %q", tc.email, a, ok, tc.name)
		}
	}
	a, _ := d.Resolve("x@northbank.example")
	want := map[string]any{"domain": "northbank.example", "name": "Northbank", "is_customer": false,
		"open_opportunities": json.Number("0"), "industry": "fintech", "zip": "01234"}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("typed CSV account mismatch (-want +got):\n%s", diff)
	}
	b, _ := d.Resolve("x@haulwise.example")
	if b["lifetime_value"] != json.Number("120000.50") || b["is_customer"] != true {
		t.Errorf("Haulwise = %v; want lifetime_value 120000.50 and is_customer true", b)
	}
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.jsonl")
	write(t, path, `{"domain": "acme.example", "name": "Acme v1"}`)
	d := openDir(t, path, accounts.WithCacheSize(2))
	for range 3 {
		if a, ok := d.Resolve("kim@acme.example"); !ok || a["name"] != "Acme v1" {
			t.Fatalf("Resolve = %v, %v", a, ok)
		}
	}
	d.Resolve("x@other.example") // a miss is cached too
	d.Resolve("y@other.example")
	st := d.Status()
	if st.CacheHits != 3 || st.CacheMisses != 2 {
		t.Errorf("cache hits, misses = %d, %d; want 3, 2", st.CacheHits, st.CacheMisses)
	}

	write(t, path, `{"domain": "acme.example", "name": "Acme v2"}`+"\n"+`{"domain": "other.example", "name": "Other"}`)
	if err := d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a, _ := d.Resolve("kim@acme.example"); a["name"] != "Acme v2" {
		t.Errorf("after Reload: %v; want Acme v2, not the cached v1", a["name"])
	}
	if a, ok := d.Resolve("x@other.example"); !ok || a["name"] != "Other" {
		t.Errorf("after Reload: %v, %v; want Other, not the cached miss", a, ok)
	}
	if st := d.Status(); st.CacheHits != 0 || st.CacheMisses != 2 || st.Domains != 2 || st.Reloads != 2 {
		t.Errorf("Status after Reload = %+v; want a fresh cache, 2 domains, 2 reloads", st)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// saveByRename writes content the way editors and exports do: a new file
// renamed over the old one.
func saveByRename(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp~"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type reload struct {
	domains int
	err     error
}

// waitReload receives reloads until ok accepts one; reloadTimeout is a
// failure deadline, not a way to synchronise.
func waitReload(t *testing.T, ch chan reload, what string, ok func(reload) bool) {
	t.Helper()
	const reloadTimeout = 20 * time.Second
	deadline := time.After(reloadTimeout)
	for {
		select {
		case r := <-ch:
			if ok(r) {
				return
			}
		case <-deadline:
			t.Fatalf("no reload with %s within %v", what, reloadTimeout)
		}
	}
}

func watched(t *testing.T, path string) (*accounts.Directory, chan reload) {
	t.Helper()
	ch := make(chan reload, 64)
	d := openDir(t, path, accounts.WithOnReload(func(n int, err error) { ch <- reload{n, err} }))
	<-ch // the first load
	w, err := d.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return d, ch
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.csv")
	write(t, path, "domain,name\nacme.example,Acme v1\n")
	d, ch := watched(t, path)

	saveByRename(t, path, "domain,name\nacme.example,Acme v2\nbeta.example,Beta\n")
	waitReload(t, ch, "two domains", func(r reload) bool { return r.err == nil && r.domains == 2 })
	if a, _ := d.Resolve("x@acme.example"); a["name"] != "Acme v2" {
		t.Errorf("after a rename save: %v; want Acme v2", a["name"])
	}

	// A broken file keeps the last good accounts, and says why.
	write(t, path, "domain,name\nacme.example,Acme v3\nacme.example,again\n")
	waitReload(t, ch, "an error", func(r reload) bool { return r.err != nil })
	if a, _ := d.Resolve("x@acme.example"); a["name"] != "Acme v2" {
		t.Errorf("after a broken save: %v; want Acme v2 still", a["name"])
	}
	st := d.Status()
	if st.LastError == nil || !strings.Contains(st.LastError.Error(), "accounts.csv:3: domain acme.example is listed twice") || st.Failures == 0 {
		t.Errorf("Status = %+v; want the error with its line", st)
	}

	// Other files in the directory are not the account file.
	write(t, filepath.Join(dir, "notes.txt"), "hello")
	write(t, path, "domain,name\nacme.example,Acme v4\n")
	waitReload(t, ch, "the fix", func(r reload) bool { return r.err == nil })
	if a, _ := d.Resolve("x@acme.example"); a["name"] != "Acme v4" {
		t.Errorf("after the fix: %v; want Acme v4", a["name"])
	}
}

// TestWatchConfigMap reproduces kubelet's update of a ConfigMap volume: the
// file is a symlink through ..data, and an update swaps ..data to a new
// timestamped directory by renaming a new symlink over it.
func TestWatchConfigMap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "accounts.csv"), content)
	}
	version("..2026_11_23_09_00_00.1", "domain,name\nacme.example,Acme v1\n")
	if err := os.Symlink("..2026_11_23_09_00_00.1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/accounts.csv", filepath.Join(dir, "accounts.csv")); err != nil {
		t.Fatal(err)
	}
	d, ch := watched(t, filepath.Join(dir, "accounts.csv"))

	version("..2026_11_23_09_05_00.2", "domain,name\nacme.example,Acme v2\n")
	if err := os.Symlink("..2026_11_23_09_05_00.2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_11_23_09_00_00.1")); err != nil {
		t.Fatal(err)
	}
	waitReload(t, ch, "v2", func(r reload) bool { return r.err == nil })
	if a, _ := d.Resolve("x@acme.example"); a["name"] != "Acme v2" {
		t.Errorf("after the ConfigMap swap: %v; want Acme v2", a["name"])
	}
}

// TestResolveDuringReload resolves from several goroutines while the file is
// reloaded: every answer is one version of the file, never a mix.
func TestResolveDuringReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.csv")
	content := func(v string) string {
		return "domain,name,version\na.example,A," + v + "\nb.example,B," + v + "\n"
	}
	write(t, path, content("v1"))
	d := openDir(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				a, ok1 := d.Resolve("x@a.example")
				b, ok2 := d.Resolve("x@b.example")
				if !ok1 || !ok2 {
					t.Error("Resolve failed during a reload")
					return
				}
				if a["version"] != "v1" && a["version"] != "v2" || b["version"] != "v1" && b["version"] != "v2" {
					t.Errorf("Resolve during reload = %v, %v", a, b)
					return
				}
			}
		})
	}
	for i := range 20 {
		v := "v1"
		if i%2 == 0 {
			v = "v2"
		}
		write(t, path, content(v))
		if err := d.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
}

func BenchmarkResolve(b *testing.B) {
	d, err := accounts.Open(context.Background(), "testdata/accounts.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d.Resolve("ana.silva@eu.northbank.example")
	}
}
