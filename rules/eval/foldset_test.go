package eval

import (
	"strings"
	"testing"
)

// FuzzFoldSet holds the lowered lookup to strings.EqualFold, for lists
// given as comma-separated strings.
func FuzzFoldSet(f *testing.F) {
	f.Add("Salesforce,HubSpot", "salesforce,snowflake,SALESFORCE")
	f.Add("k,\u212a,K", "K")                  // the Kelvin sign folds to k
	f.Add("straße,STRASSE", "strasse,Straße") // non-ASCII in the list: no fold set
	f.Add("", "")
	f.Add(",a", ",")
	f.Add("\xff,é", "a,b")
	f.Fuzz(func(t *testing.T, haveCSV, wantCSV string) {
		have, want := strings.Split(haveCSV, ","), strings.Split(wantCSV, ",")
		set := newFoldSet(want)
		if set == nil {
			return
		}
		// Past foldScanMax entries the set hashes instead of scanning.
		long := append(append([]string{}, want...), strings.Split("a1,a2,a3,a4,a5,a6,a7,a8,a9,b1,b2,b3,b4,b5,b6,b7,b8", ",")...)
		if lset := newFoldSet(long); lset != nil {
			for _, all := range []bool{false, true} {
				if got, ref := lset.test(have, all), containsFold(have, long, all); got != ref {
					t.Fatalf("have %q want %q all=%v: fold set %v, EqualFold %v", have, long, all, got, ref)
				}
			}
		}
		for _, all := range []bool{false, true} {
			for _, h := range [][]string{have, nil, have[:len(have)/2]} {
				if got, ref := set.test(h, all), containsFold(h, want, all); got != ref {
					t.Fatalf("have %q want %q all=%v: fold set %v, EqualFold %v", h, want, all, got, ref)
				}
			}
		}
	})
}
