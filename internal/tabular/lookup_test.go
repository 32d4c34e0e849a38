package tabular_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/internal/tabular"
)

func TestLookup(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(`{"id": 7, "properties": {"numberofemployees": "250", "email": null, "a.b": 1},
		"contacts": [{"email": "x@y.example"}, {"tags": ["a", "b"]}], "Total Visits": 3, "x.y": {"z": 2}}`), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want any
		ok   bool
	}{
		{"properties.numberofemployees", "250", true},
		{"properties.email", nil, false}, // null is no value
		{"properties.a.b", 1.0, true},    // a key holding a dot
		{"contacts[0].email", "x@y.example", true},
		{"contacts[1].tags[1]", "b", true},
		{"contacts[2].email", nil, false},
		{"contacts[x]", nil, false},
		{"contacts[0", nil, false},
		{"Total Visits", 3.0, true},
		{"x.y.z", 2.0, true},
		{"id.more", nil, false},
		{"nothing", nil, false},
	} {
		got, ok := tabular.Lookup(doc, tc.path)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
