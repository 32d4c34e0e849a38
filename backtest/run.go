package backtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
)

// Options configure Run.
type Options struct {
	Binder  *Binder // nil: bind by column names only
	Outcome Outcome
	Now     time.Time // the clock for days_since & co; zero: the time Run starts
	Strict  bool      // refuse rows with wrong-typed values instead of treating them as missing
	Workers int       // scoring goroutines; 0: GOMAXPROCS
	Data    string    // the data's name, for the report

	// OnProgress, when set, is called from the reading goroutine with the
	// number of rows read so far, every few thousand rows and at the end.
	OnProgress func(rows int64)
}

// maxExamples is how many malformed rows and errors a report quotes.
const maxExamples = 5

// batchSize is the number of rows handed to a worker at once.
const batchSize = 256

// Run scores every row of src against rs and aggregates the outcomes into a
// report. Rows whose outcome is unknown are counted and skipped; malformed
// rows are counted, quoted (the first few) and skipped. Memory does not grow
// with the number of rows. Run stops early with ctx's error when ctx ends.
func Run(ctx context.Context, rs *rules.Ruleset, src Source, opts Options) (*Report, error) {
	if opts.Outcome.Column == "" {
		return nil, errors.New("no outcome column (give --outcome COLUMN[=VALUE])")
	}
	cols, complete := src.Columns()
	if complete && !contains(cols, opts.Outcome.Column) {
		return nil, fmt.Errorf("no outcome column %q in the data%s", opts.Outcome.Column, rulefile.DidYouMean(opts.Outcome.Column, cols))
	}
	b := opts.Binder
	if b == nil {
		var err error
		if b, err = NewBinder(rs, cols, complete, nil); err != nil {
			return nil, err
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	batches := make(chan []Record, workers*2)
	tallies := make([]*tally, workers)
	var wg sync.WaitGroup
	scorer := engine.NewRuleset(rs)
	for w := range workers {
		t := newTally(rs)
		tallies[w] = t
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The tally reads verdicts, hits, warnings and errors: brief
			// decisions have them all, without the reasons of matched
			// rules, the missed rules and what it would take to qualify.
			eo := engine.Options{Detail: engine.Brief, Strict: opts.Strict, Clock: func() time.Time { return now }}
			for batch := range batches {
				for _, rec := range batch {
					t.score(ctx, scorer, b, opts.Outcome, eo, rec)
				}
			}
		}()
	}

	var read, malformed int64
	var malformedEx []string
	readErr := func() error {
		defer close(batches)
		batch := make([]Record, 0, batchSize)
		for {
			rec, err := src.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *RowError
			if errors.As(err, &re) {
				malformed++
				if len(malformedEx) < maxExamples {
					malformedEx = append(malformedEx, re.Error())
				}
				continue
			}
			if err != nil {
				return err
			}
			read++
			batch = append(batch, rec)
			if len(batch) == batchSize {
				select {
				case batches <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]Record, 0, batchSize)
				if opts.OnProgress != nil && read%(batchSize*16) == 0 {
					opts.OnProgress(read)
				}
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if opts.OnProgress != nil {
			opts.OnProgress(read)
		}
		return nil
	}()
	if readErr != nil {
		cancel()
	}
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	total := newTally(rs)
	for _, t := range tallies {
		total.merge(t)
	}
	r := total.report(rs, b)
	r.Data = opts.Data
	r.Outcome = opts.Outcome.String()
	r.Rows.Read = read
	r.Rows.Malformed = malformed
	r.Rows.MalformedExamples = malformedEx
	return r, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tally holds one worker's counts. Label index 0 is "did not convert", 1
// "converted".
type tally struct {
	scored, noOutcome, failed int64
	failedEx                  []example
	tiers                     [][2]int64 // by tier index; the last entry is "knocked out"
	tp, fp, fn, tn            int64
	hist                      map[int]*[2]int64 // score -> counts, every scored row
	histDecision              map[int]*[2]int64 // as hist, knocked-out rows under knockedOutKey
	rules                     [][2][2]int64     // score rule -> fired? -> label
	kos                       [][2]int64        // knockout -> label
	koOnly                    [][2]int64        // knockout, when it was the only one -> label
	present, wrong            []int64           // by field index
	wrongEx                   []example
	ruleErr                   []int64 // by rule: score rules, then knockouts, then qualify
	ruleErrEx                 []example

	tierIdx  map[string]int
	ruleIdx  map[string]int
	koIdx    map[string]int
	fieldIdx map[string]int

	// decision is each row's, reused for the next (Ruleset.ScoreInto):
	// the tally keeps counts and strings, none of its slices; fired is
	// which score rules it matched, by index, reused the same way.
	decision engine.Decision
	fired    []bool
}

// knockedOutKey ranks knocked-out rows below every score in histDecision.
const knockedOutKey = -1 << 62

func newTally(rs *rules.Ruleset) *tally {
	t := &tally{
		tiers:        make([][2]int64, len(rs.Tiers)+1),
		hist:         map[int]*[2]int64{},
		histDecision: map[int]*[2]int64{},
		rules:        make([][2][2]int64, len(rs.Rules)),
		fired:        make([]bool, len(rs.Rules)),
		kos:          make([][2]int64, len(rs.Knockouts)),
		koOnly:       make([][2]int64, len(rs.Knockouts)),
		present:      make([]int64, len(rs.Fields)),
		wrong:        make([]int64, len(rs.Fields)),
		wrongEx:      make([]example, len(rs.Fields)),
		ruleErr:      make([]int64, len(rs.Rules)+len(rs.Knockouts)+1),
		ruleErrEx:    make([]example, len(rs.Rules)+len(rs.Knockouts)+1),
		tierIdx:      map[string]int{},
		ruleIdx:      map[string]int{},
		koIdx:        map[string]int{},
		fieldIdx:     map[string]int{},
	}
	for i, tr := range rs.Tiers {
		t.tierIdx[tr.Name] = i
	}
	for i, r := range rs.Rules {
		t.ruleIdx[r.ID] = i
	}
	for i, r := range rs.Knockouts {
		t.koIdx[r.ID] = i
	}
	for i, f := range rs.Fields {
		t.fieldIdx[f.Name] = i
	}
	return t
}

func (t *tally) score(ctx context.Context, rs *engine.Ruleset, b *Binder, o Outcome, eo engine.Options, rec Record) {
	label := o.Label(rec)
	if label < 0 {
		t.noOutcome++
		return
	}
	in := b.Input(rec)
	d := &t.decision
	if err := rs.ScoreInto(ctx, in, eo, d); err != nil {
		t.failed++
		t.failedEx = addExample(t.failedEx, example{rec.Line, err.Error()})
		return
	}
	t.scored++
	for _, f := range rs.Fields {
		src := in.Lead
		if f.Namespace == "account" {
			src = in.Account
		}
		if _, ok := src[f.Key]; ok {
			t.present[f.Index]++
		}
	}
	for _, w := range d.Warnings {
		if i, ok := t.fieldIdx[w.Field]; ok {
			t.present[i]--
			t.wrong[i]++
			t.wrongEx[i] = first(t.wrongEx[i], example{rec.Line, w.Message})
		}
	}
	for _, e := range d.Errors {
		i := len(t.ruleErr) - 1 // qualify
		if j, ok := t.ruleIdx[e.Rule]; ok {
			i = j
		} else if j, ok := t.koIdx[e.Rule]; ok {
			i = len(rs.Rules) + j
		}
		t.ruleErr[i]++
		t.ruleErrEx[i] = first(t.ruleErrEx[i], example{rec.Line, e.Message})
	}
	fired := t.fired
	clear(fired)
	for _, m := range d.Matched {
		if i, ok := t.ruleIdx[m.Rule]; ok {
			fired[i] = true
		}
	}
	for i := range fired {
		if fired[i] {
			t.rules[i][1][label]++
		} else {
			t.rules[i][0][label]++
		}
	}
	for _, k := range d.Knockouts {
		if i, ok := t.koIdx[k.Rule]; ok {
			t.kos[i][label]++
			if len(d.Knockouts) == 1 {
				t.koOnly[i][label]++
			}
		}
	}
	bump(t.hist, d.Score, label)
	if len(d.Knockouts) > 0 {
		t.tiers[len(t.tiers)-1][label]++
		bump(t.histDecision, knockedOutKey, label)
	} else {
		if i, ok := t.tierIdx[d.Tier]; ok {
			t.tiers[i][label]++
		}
		bump(t.histDecision, d.Score, label)
	}
	switch {
	case d.Qualified && label == 1:
		t.tp++
	case d.Qualified:
		t.fp++
	case label == 1:
		t.fn++
	default:
		t.tn++
	}
}

func bump(h map[int]*[2]int64, score, label int) {
	c := h[score]
	if c == nil {
		c = new([2]int64)
		h[score] = c
	}
	c[label]++
}

func (t *tally) merge(o *tally) {
	t.scored += o.scored
	t.noOutcome += o.noOutcome
	t.failed += o.failed
	for _, ex := range o.failedEx {
		t.failedEx = addExample(t.failedEx, ex)
	}
	for i := range t.tiers {
		t.tiers[i][0] += o.tiers[i][0]
		t.tiers[i][1] += o.tiers[i][1]
	}
	t.tp, t.fp, t.fn, t.tn = t.tp+o.tp, t.fp+o.fp, t.fn+o.fn, t.tn+o.tn
	for _, pair := range [][2]map[int]*[2]int64{{t.hist, o.hist}, {t.histDecision, o.histDecision}} {
		for s, c := range pair[1] {
			dst := pair[0][s]
			if dst == nil {
				dst = new([2]int64)
				pair[0][s] = dst
			}
			dst[0] += c[0]
			dst[1] += c[1]
		}
	}
	for i := range t.rules {
		for f := range 2 {
			for l := range 2 {
				t.rules[i][f][l] += o.rules[i][f][l]
			}
		}
	}
	for i := range t.kos {
		for l := range 2 {
			t.kos[i][l] += o.kos[i][l]
			t.koOnly[i][l] += o.koOnly[i][l]
		}
	}
	for i := range t.present {
		t.present[i] += o.present[i]
		t.wrong[i] += o.wrong[i]
		t.wrongEx[i] = first(t.wrongEx[i], o.wrongEx[i])
	}
	for i := range t.ruleErr {
		t.ruleErr[i] += o.ruleErr[i]
		t.ruleErrEx[i] = first(t.ruleErrEx[i], o.ruleErrEx[i])
	}
}

// example is a message about one row. Reports quote the rows with the
// lowest line numbers, so that they do not depend on which worker saw what.
type example struct {
	line int
	msg  string
}

func (e example) String() string {
	if e.line == 0 {
		return ""
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}

func first(a, b example) example {
	if a.line == 0 || (b.line != 0 && b.line < a.line) {
		return b
	}
	return a
}

// addExample keeps the maxExamples examples with the lowest lines.
func addExample(list []example, e example) []example {
	list = append(list, e)
	slices.SortFunc(list, func(a, b example) int { return a.line - b.line })
	if len(list) > maxExamples {
		list = list[:maxExamples]
	}
	return list
}
