package rulefile

import "testing"

func TestDidYouMean(t *testing.T) {
	fields := []string{"lead.email", "lead.employees", "lead.industry"}
	columns := []string{"Lead Source", "Total Time Spent on Website", "Converted"}
	tests := []struct {
		s          string
		candidates []string
		want       string
	}{
		{"lead.emial", fields, " (did you mean lead.email?)"},
		{"lead.employes", fields, " (did you mean lead.employees?)"},
		{"Lead.Email", fields, " (did you mean lead.email?)"}, // case does not count
		{"lead source", columns, " (did you mean Lead Source?)"},
		{"converted", columns, " (did you mean Converted?)"},
		{"lead.bügdet", []string{"lead.budget"}, " (did you mean lead.budget?)"}, // by characters, not bytes
		{"lead.annual_revenue", fields, ""},                                      // nothing close
		{"x", nil, ""},
	}
	for _, tc := range tests {
		if got := DidYouMean(tc.s, tc.candidates); got != tc.want {
			t.Errorf("DidYouMean(%q, %q) = %q; want %q", tc.s, tc.candidates, got, tc.want)
		}
	}
}
