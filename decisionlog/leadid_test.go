package decisionlog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/decisionlog"
)

func TestFindNumericLeadID(t *testing.T) { backends(t, testFindNumericLeadID) }

// testFindNumericLeadID: a lead id sent as a JSON number (CRMs send
// integers) is the number's text, and the log finds the lead by it, by the
// start of it, and gives back the request as sent, a number too large
// for a float64 exact.
func testFindNumericLeadID(t *testing.T, target string) {
	s := newScorer(t)
	l, _ := openAt(t, target)
	ctx := context.Background()
	big := `{"id": 12345678901234567890, "lead": {"employees": 250, "title": "12345678901234567890"}}`
	mustLog(t, l,
		s.entry(t, t0.Add(-2*time.Hour), big),
		s.entry(t, t0.Add(-time.Hour), `{"id": 123, "lead": {"employees": 50}}`),
		s.entry(t, t0, `{"lead": {"lead_id": -7.50e1, "employees": 5}}`),
	)
	for _, tc := range []struct {
		q    decisionlog.Query
		want []string
	}{
		{decisionlog.Query{LeadID: "12345678901234567890"}, []string{"12345678901234567890@07:00"}},
		{decisionlog.Query{LeadID: "123"}, []string{"123@08:00"}},
		{decisionlog.Query{LeadID: "-7.50e1"}, []string{"-7.50e1@09:00"}},
		{decisionlog.Query{Text: "1234567890123"}, []string{"12345678901234567890@07:00"}},
	} {
		got, err := l.Find(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("Find(%+v) (-want +got):\n%s", tc.q, diff)
		}
		if tc.q.LeadID == "12345678901234567890" && len(got) == 1 {
			in := string(got[0].Input)
			if !strings.Contains(in, `"id":12345678901234567890`) || !strings.Contains(in, `"title":"12345678901234567890"`) {
				t.Errorf("Input = %s; want the request as sent, the id a number and the title a string", in)
			}
		}
	}
}
