package derive

import (
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/leadq/leadq/backtest"
)

// Claim is what a derived rule's evidence comment says of the training
// rows: how many leads it fired on, their share and their rate of best.
type Claim struct {
	Rows  int
	Share float64
	Rate  float64
}

// claimRe reads the first line of derive's evidence comment:
// "training: 1,320 leads (20%), 54% best (38% overall)".
var claimRe = regexp.MustCompile(`^#\s*training: ([\d,]+) \S+ \(([<\d.]+)%\), ([<\d.]+)% best`)

var idRe = regexp.MustCompile(`^-\s*id:\s*(\S+)`)

// Claims reads the evidence comments of a rule file: for each rule id the
// claim in the comment block right above it. Rules without one are left
// out, so that hand-written rules are simply not compared.
func Claims(src []byte) map[string]Claim {
	out := map[string]Claim{}
	var pending *Claim
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if m := claimRe.FindStringSubmatch(t); m != nil {
			rows, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			pending = &Claim{Rows: rows, Share: pctValue(m[2]), Rate: pctValue(m[3])}
			continue
		}
		if strings.HasPrefix(t, "#") {
			continue
		}
		if m := idRe.FindStringSubmatch(t); m != nil && pending != nil {
			out[strings.Trim(m[1], `"'`)] = *pending
		}
		pending = nil
	}
	return out
}

func pctValue(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimPrefix(s, "<"), 64)
	return f / 100
}

// EvidenceRow is one rule's claim next to what the data says now.
type EvidenceRow struct {
	Rule   string
	Points int
	Claim  Claim
	Now    Claim
	Stale  bool // the rates differ by more than three standard errors
}

// CompareEvidence puts each claimed rule's training evidence next to its
// firing in a backtest report. A rule is stale when its rate of converted
// leads now lies more than three standard errors (of the difference of two
// rates, pooled) from the claim: the data has moved, or the file was edited
// without deriving again.
func CompareEvidence(claims map[string]Claim, r *backtest.Report) []EvidenceRow {
	var out []EvidenceRow
	for _, st := range r.Rules {
		c, ok := claims[st.Rule]
		if !ok {
			continue
		}
		total := st.Fired + st.NotFired
		now := Claim{Rows: int(st.Fired), Rate: st.RateFired}
		if total > 0 {
			now.Share = float64(st.Fired) / float64(total)
		}
		row := EvidenceRow{Rule: st.Rule, Points: st.Points, Claim: c, Now: now}
		if c.Rows > 0 && now.Rows > 0 {
			p := (c.Rate*float64(c.Rows) + now.Rate*float64(now.Rows)) / float64(c.Rows+now.Rows)
			se := math.Sqrt(max(p*(1-p), 1e-9) * (1/float64(c.Rows) + 1/float64(now.Rows)))
			row.Stale = math.Abs(now.Rate-c.Rate) > 3*se
		}
		out = append(out, row)
	}
	return out
}

// WriteEvidence prints rows as a table, stale ones marked.
func WriteEvidence(w io.Writer, rows []EvidenceRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rule\tpoints\tclaimed leads\tshare\trate\tnow leads\tshare\trate\t\n")
	stale := 0
	for _, r := range rows {
		mark := "ok"
		if r.Stale {
			mark, stale = "STALE", stale+1
		}
		fmt.Fprintf(tw, "%s\t%+d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Rule, r.Points, backtest.Count(int64(r.Claim.Rows)), pct(r.Claim.Share), pct(r.Claim.Rate),
			backtest.Count(int64(r.Now.Rows)), pct(r.Now.Share), pct(r.Now.Rate), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d of %d rules' evidence comments disagree with this data beyond three standard errors\n", stale, len(rows))
	return err
}
