package derive

import (
	"testing"

	"github.com/leadq/leadq/rules/rulefile"
)

// A derived field's label is the data's column name, whatever characters
// it holds: the declaration parses back to the same label and is already
// in leadq fmt's layout.
func TestFieldFormLabels(t *testing.T) {
	for _, label := range []string{
		"Lead Source",
		"What matters most to you in choosing a course",
		"Revenue: USD, last 12 months", // a colon and a comma need quotes in a flow mapping
		"# of visits",
		`Quote "best"`,
		"true",
		"Città",
	} {
		decl := fieldForm(fieldDecl{name: "lead.x", typ: "int", label: label})
		src := []byte("ruleset: r\n\nfields:\n  lead.x: " + decl + "\n\nscore: []\n\ntiers:\n  - {name: A}\n\nqualify: 'true'\n")
		f, err := rulefile.Parse("derived.yaml", src)
		if err != nil {
			t.Fatalf("fieldForm(%q) = %s: %v", label, decl, err)
		}
		if got := f.Fields[0].Label; got != label {
			t.Errorf("fieldForm(%q) = %s, which parses to label %q", label, decl, got)
		}
		formatted, err := rulefile.Format("derived.yaml", src)
		if err != nil {
			t.Fatal(err)
		}
		if string(formatted) != string(src) {
			t.Errorf("fieldForm(%q) is not in fmt layout:\n%s\nfmt writes:\n%s", label, src, formatted)
		}
	}
	if got := fieldForm(fieldDecl{name: "lead.x", typ: "int"}); got != "int" {
		t.Errorf("fieldForm without a label = %q; want the short form int", got)
	}
	for _, tc := range []struct{ label, unit, want string }{
		{"", "seconds", "{type: int, unit: seconds}"},
		{"Time on site", "seconds", "{type: int, label: Time on site, unit: seconds}"},
		{"Balance", "EUR: yearly average", `{type: int, label: Balance, unit: 'EUR: yearly average'}`},
	} {
		decl := fieldForm(fieldDecl{name: "lead.x", typ: "int", label: tc.label, unit: tc.unit})
		if decl != tc.want {
			t.Errorf("fieldForm(label %q, unit %q) = %s; want %s", tc.label, tc.unit, decl, tc.want)
		}
		src := []byte("ruleset: r\n\nfields:\n  lead.x: " + decl + "\n\nscore: []\n\ntiers:\n  - {name: A}\n\nqualify: 'true'\n")
		f, err := rulefile.Parse("derived.yaml", src)
		if err != nil {
			t.Fatalf("%s: %v", decl, err)
		}
		if f.Fields[0].Unit != tc.unit || f.Fields[0].Label != tc.label {
			t.Errorf("%s parses to label %q, unit %q", decl, f.Fields[0].Label, f.Fields[0].Unit)
		}
		if formatted, err := rulefile.Format("derived.yaml", src); err != nil || string(formatted) != string(src) {
			t.Errorf("%s is not in fmt layout (%v):\n%s", decl, err, formatted)
		}
	}
}
