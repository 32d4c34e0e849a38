package eval_test

import (
	"testing"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// A value memoized for a field (domain(lead.email) here) is dropped when
// the field is set again: the next evaluation sees the new value.
func TestMemoForgetsAFieldSetAgain(t *testing.T) {
	f, err := rules.Parse("memo.yaml", []byte(`ruleset: memo
fields:
  lead.email: string
score:
  - {id: ours, points: 1, when: 'domain(lead.email) == "ours.example"'}
tiers:
  - {name: A}
`))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	email := rs.Fields[0]
	var r eval.Row
	r.Reset(rs)
	for _, tc := range []struct {
		email string
		set   func(string)
		want  eval.Truth
	}{
		{"ana@ours.example", func(s string) { r.SetString(email, s) }, eval.True},
		{"ana@theirs.example", func(s string) { r.SetString(email, s) }, eval.False},
		{"bo@OURS.example", func(s string) { r.Set(email, s) }, eval.True},
		{"bo@else.example", func(s string) { r.Set(email, s) }, eval.False},
	} {
		tc.set(tc.email)
		if got, err := rs.Rules[0].When.Eval(nil, &r); err != nil || got != tc.want {
			t.Errorf("email %s: %v, %v; want %v", tc.email, got, err, tc.want)
		}
	}
}
