package decisionlog

import (
	"sort"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
)

// FuzzReplacer holds scrub's replacer to strings.NewReplacer with the same
// pairs, longest first, as scrub orders them.
func FuzzReplacer(f *testing.F) {
	f.Add("ann@acme.example belongs to a competitor", "ann@acme.example", "3f9a@acme.example", "Acme", "masked:01")
	f.Add("Acme Corp has 5 employees; Acme", "Acme", "masked:ab", "Acme Corp", "masked:cd")
	f.Add("aaaa", "aaa", "x", "aa", "y")
	f.Add("", "abc", "d", "bcd", "e")
	f.Fuzz(func(t *testing.T, s, o1, n1, o2, n2 string) {
		var ps []maskPair
		for _, p := range []maskPair{{o1, n1}, {o2, n2}} {
			if len(p.old) >= 3 { // as scrub keeps them
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			return
		}
		sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].old) > len(ps[j].old) })
		var args []string
		for _, p := range ps {
			args = append(args, p.old, p.new)
		}
		if got, want := replacer(ps).Replace(s), strings.NewReplacer(args...).Replace(s); got != want {
			t.Errorf("replacer(%q).Replace(%q) = %q; strings.Replacer: %q", ps, s, got, want)
		}
	})
}

// TestMasksByLength: a mask whose shapes are set (withMACs) answers masks as
// one without, for every field and key.
func TestMasksByLength(t *testing.T) {
	fields := append([]string{"lead.phone", "account.owner_email", "x.y.z", "a-very-long-field-name-of-more-than-sixty-three-bytes-for-the-last-bit"}, DefaultMaskFields...)
	keys := append([]string{"phone", "owner_email", "y.z", "z", "", "employees", "industry", "a-very-long-field-name-of-more-than-sixty-three-bytes-for-the-last-bit"}, DefaultMaskFields...)
	for _, mode := range []MaskMode{MaskHash, MaskDrop, MaskNone} {
		plain := Mask{Mode: mode, Fields: fields, Key: []byte("a key of sixteen bytes or more")}
		fast := plain.withMACs()
		for _, ns := range []string{"", "lead", "account", "x", "x.y"} {
			for _, k := range keys {
				if got, want := fast.masks(ns, k), plain.masks(ns, k); got != want {
					t.Errorf("%s: masks(%q, %q) = %v with shapes; %v without", mode, ns, k, got, want)
				}
			}
		}
	}
}

// BenchmarkPrepareMasked is BenchmarkPrepare with --log-mask hash (the
// default fields): what Log costs the scoring goroutine for a decision
// about a new lead when the log masks personal data. Its instructions are
// counted under callgrind.
func BenchmarkPrepareMasked(b *testing.B) {
	for _, detail := range []engine.Detail{engine.Brief, engine.Full} {
		name := map[engine.Detail]string{engine.Brief: "brief", engine.Full: "full"}[detail]
		b.Run(name, func(b *testing.B) {
			entries := leadEntries(b, 1000, detail)
			m, err := ParseMask("hash")
			if err != nil {
				b.Fatal(err)
			}
			m.Key = []byte("a key of sixteen bytes or more")
			l := &Log{cfg: newConfig([]Option{WithMask(m.withMACs())})}
			preparing(b, l, entries)
		})
	}
}
