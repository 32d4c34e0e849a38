// Package testrules generates rule files for tests and benchmarks of more
// than one package: the rules compiler's and the engine's reload.
package testrules

import (
	"fmt"
	"strconv"
	"strings"
)

// Big writes a ruleset of n score rules over 40 fields, with the
// shapes real rules have: comparisons, list membership, and/or, functions.
func Big(n int) []byte {
	var b strings.Builder
	b.WriteString("ruleset: big\nfields:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  lead.n%d: int\n  lead.f%d: float\n  lead.s%d: string\n  lead.b%d: bool\n", i, i, i, i)
	}
	b.WriteString("  lead.email: string\n  lead.seen: date\n")
	b.WriteString("lists:\n  industries: [software, fintech, healthcare, retail, logistics]\n")
	b.WriteString("macros:\n  corporate: '!is_free_email(lead.email)'\n")
	b.WriteString("score:\n")
	for i := range n {
		k := i % 10
		var when string
		switch i % 5 {
		case 0:
			when = fmt.Sprintf("lead.n%d >= %d", k, i)
		case 1:
			when = fmt.Sprintf("lead.s%d in industries && lead.b%d", k, k)
		case 2:
			when = fmt.Sprintf("lead.f%d > %d.5 || lead.n%d < %d", k, i, (k+1)%10, i)
		case 3:
			when = fmt.Sprintf("corporate && days_since(lead.seen) < %d", i%90+1)
		case 4:
			when = fmt.Sprintf(`lower(lead.s%d) startsWith "a%d" and not lead.b%d`, k, i, (k+3)%10)
		}
		fmt.Fprintf(&b, "  - id: rule-%d\n    group: g%d\n    when: %s\n    points: %d\n    reason: \"n is {{lead.n%d}}\"\n", i, i%7, when, i%20+1, k)
	}
	b.WriteString("tiers:\n  - {name: A, min: 100}\n  - {name: B}\n")
	return []byte(b.String())
}

// LongList writes a ruleset of one list of n domains (d0.example, ...)
// and a score rule for each condition, which reads the list (doms) and
// lead.d: the shape that made compiling and what-ifs quadratic in a list.
func LongList(n int, conditions ...string) []byte {
	var b strings.Builder
	b.WriteString("ruleset: long-list\nfields:\n  lead.d: string\nlists:\n  doms: [")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "d%d.example", i)
	}
	b.WriteString("]\nscore:\n")
	for i, when := range conditions {
		fmt.Fprintf(&b, "  - id: r-%d\n    when: %s\n    points: 1\n", i, strconv.Quote(when))
	}
	b.WriteString("tiers:\n  - {name: A, min: 1}\n  - {name: D}\n")
	return []byte(b.String())
}
