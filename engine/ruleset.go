package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/eval"
)

// Ruleset is a compiled ruleset ready to decide leads: the rules.Ruleset,
// and what deciding and encoding build from it once (each rule's hit and
// miss and their JSON, the conditions side by side: table.go). It is
// immutable but for its pools of scratch space, and safe for concurrent
// use. Engine.Ruleset returns a live one; NewRuleset makes one of a
// ruleset compiled elsewhere (tests, backtests, diffs).
type Ruleset struct {
	*rules.Ruleset
	ruleTable    func() *ruleTable // built on first use: a server may hold rulesets that get no traffic
	readsAccount bool              // some declared field is an account's
	records      sync.Pool         // *record: one decision's scratch space
}

// NewRuleset prepares rs for deciding leads.
func NewRuleset(rs *rules.Ruleset) *Ruleset {
	r := &Ruleset{Ruleset: rs, ruleTable: sync.OnceValue(func() *ruleTable { return newRuleTable(rs) })}
	for _, f := range rs.Fields {
		r.readsAccount = r.readsAccount || f.Namespace == "account"
	}
	r.records.New = func() any { return new(record) }
	return r
}

// Detail is how much a decision says.
type Detail uint8

const (
	// Full decisions render every reason and list the missed rules.
	Full Detail = iota
	// Brief decisions skip what only people read: the reasons of matched
	// rules are not rendered and the missed list is not built
	// (Decision.Brief is set, and its JSON leaves matched and missed out).
	// For bulk callers that route on the verdict.
	Brief
)

// Options are the settings of one decision. The zero value decides in
// full, lenient about types, by time.Now, without looking accounts up.
type Options struct {
	Detail Detail
	// Strict refuses leads with wrong-typed fields (an InputErrors)
	// instead of treating those fields as missing with a warning.
	Strict bool
	// Clock is what days_since & co read when the input has no Now; nil
	// means time.Now. Tests set a fixed one.
	Clock func() time.Time
	// Accounts, when set, joins the account its email resolves to to a
	// lead sent without an account (an account in the request, even an
	// empty object, wins), for rulesets that declare account fields.
	Accounts AccountResolver
	// MaxDepth refuses JSON nested deeper than this many objects and
	// arrays with an InputError (see CheckDepth), before any of it is
	// decoded into maps; 0 leaves the limit to encoding/json.
	MaxDepth int
	// Budget is the time the loops of a decision's conditions (any, all,
	// filter... on expr's VM) may take, 0 for no limit. A rule whose loop
	// runs out errors with "time budget exceeded" and the other rules still
	// run. The end of the call's ctx stops the loops the same way.
	Budget time.Duration
}

// AccountResolver finds the account of a lead by the lead's email.
// Resolve must be safe for concurrent use and must not keep email (it may
// be a view of the request); the map it returns is read, never changed.
// *accounts.Directory is one.
type AccountResolver interface {
	Resolve(email string) (map[string]any, bool)
}

// Score decides one lead given as maps (Input): normalise it against the
// declared fields, join its account (Options.Accounts), run knockouts and
// score rules, cap groups, pick the tier, decide qualification and render
// the reasons (eval.go). Errors are InputErrors in strict mode.
func (rs *Ruleset) Score(ctx context.Context, in Input, opts Options) (Decision, error) {
	var d Decision
	err := rs.ScoreInto(ctx, in, opts, &d)
	return d, err
}

// ScoreInto is Score writing the decision into *d, reusing the arrays of
// its slices, for a loop over leads given as maps (a backtest, a diff of
// two rulesets) that is done with each decision before it decides the
// next. It is to Score what ScoreJSONInto is to ScoreJSON, under the same
// rules (see there): everything *d said is overwritten, a decision kept
// while d is reused is kept as a copy of its slices, and on error *d is
// the zero Decision.
func (rs *Ruleset) ScoreInto(ctx context.Context, in Input, opts Options, d *Decision) error {
	l := rs.records.Get().(*record)
	defer rs.records.Put(l)
	rs.joinAccount(&in, opts.Accounts)
	if err := l.normalise(rs.Ruleset, in, opts.Strict); err != nil {
		*d = Decision{}
		return err
	}
	l.budgeted(ctx, opts)
	defer l.unbudget()
	l.decide(d, rs, in.ID, false, in.Now, opts)
	return nil
}

// ScoreJSON decides one lead given as a JSON request (see ParseInput), as
// Score does. It decodes the declared fields straight into a typed row
// (decode.go); inputs its fast decoder does not handle (errors, duplicate
// keys, escapes it leaves to encoding/json) take the ParseInput path, with
// the same result. Errors are InputError and InputErrors.
func (rs *Ruleset) ScoreJSON(ctx context.Context, data []byte, opts Options) (Decision, error) {
	var d Decision
	err := rs.ScoreJSONInto(ctx, data, opts, &d)
	return d, err
}

// ScoreJSONInto is ScoreJSON writing the decision into *d, for a caller
// that is done with each decision before it decides the next (a stream
// encoding and logging one lead at a time): the arrays of d's slices are
// reused where they are large enough, the way append(buf[:0], ...) and
// json.Unmarshal into a used value reuse memory, instead of a new set per
// lead. It exists because those arrays (the hits, the missed rules, the
// groups, the missing fields) are most of the bytes a decision allocates,
// and on a busy server allocating them cost more than deciding. ScoreJSON
// is ScoreJSONInto into a new Decision: one code path, no options of its
// own (ScoreJSONEmail is the same path, saying the lead's email as well;
// ScoreInto is the same for maps).
//
// Everything *d said is overwritten, and so are the elements of the arrays
// its slices point to: a caller that keeps a decision while reusing d
// keeps a copy of its slices (slices.Clone, the missed rules'
// MissingFields too), not d or a copy of the struct.
// d's slices must be ones nothing else reads: a zero Decision, or one that
// ScoreJSON or ScoreJSONInto made and that no other decision was copied
// from. The decision is ScoreJSON's, field for field, and its JSON the
// same bytes; its strings are new or the ruleset's, never views of reused
// memory. On error *d is the zero Decision.
func (rs *Ruleset) ScoreJSONInto(ctx context.Context, data []byte, opts Options, d *Decision) error {
	_, err := rs.scoreJSON(ctx, data, opts, d, false)
	return err
}

// ScoreJSONEmail is ScoreJSONInto that also returns the lead's email as
// the request gives it: the string value of the "email" key of the lead
// deciding read (Input.Lead: the "lead" object, or the request's top for
// a bare lead), "" when there is none or it is not a string. Deciding
// reads it anyway; a caller that records decisions by lead (the decision
// log, which keeps the lead's email in a column of its own and in the
// summaries that lead lookups to a decision) then need not read the
// request again. The email is a new string (one allocation when there is
// one), not a view of data.
func (rs *Ruleset) ScoreJSONEmail(ctx context.Context, data []byte, opts Options, d *Decision) (email string, err error) {
	email, err = rs.scoreJSON(ctx, data, opts, d, true)
	return strings.Clone(email), err
}

// scoreJSON is ScoreJSONInto; with wantEmail it returns the lead's email
// too, a view of data when the fast decoder read it.
func (rs *Ruleset) scoreJSON(ctx context.Context, data []byte, opts Options, d *Decision, wantEmail bool) (email string, err error) {
	l := rs.records.Get().(*record)
	defer rs.records.Put(l)
	id, email, ok, err := l.decodeJSON(rs, data, opts, wantEmail)
	borrowed := ok // the fast decoder's id is a view of data
	if !ok {
		// The fast decoder gives up on input nested deeper than MaxDepth, so
		// only this path checks it.
		if opts.MaxDepth > 0 {
			if err := CheckDepth(data, opts.MaxDepth); err != nil {
				*d = Decision{}
				return "", err
			}
		}
		in, perr := ParseInput(data)
		if perr != nil {
			*d = Decision{}
			return "", perr
		}
		rs.joinAccount(&in, opts.Accounts)
		if err = l.normalise(rs.Ruleset, in, opts.Strict); err == nil {
			id = in.ID
		}
		if wantEmail {
			email, _ = in.Lead["email"].(string)
		}
	}
	if err != nil {
		*d = Decision{}
		return "", err
	}
	l.budgeted(ctx, opts)
	defer l.unbudget()
	l.decide(d, rs, id, borrowed, time.Time{}, opts)
	return email, nil
}

// budgeted points the record's row at a budget for one decision (see
// Options.Budget); unbudget lets go of it, so that a pooled record keeps
// no context.
func (l *record) budgeted(ctx context.Context, opts Options) {
	l.budget = eval.Budget{Limit: opts.Budget, Ctx: ctx}
	l.row.Budget = &l.budget
}

// joinAccount is in.JoinAccount for a ruleset that reads accounts.
func (rs *Ruleset) joinAccount(in *Input, accounts AccountResolver) {
	if accounts != nil && rs.readsAccount {
		in.JoinAccount(accounts)
	}
}

// AppendJSON appends d's wire format to b, as d.AppendJSON does, from
// what rs built once for the hits and misses of its rules where d still
// says what rs would: the server writes decisions with it.
func (rs *Ruleset) AppendJSON(b []byte, d *Decision) []byte {
	return d.appendJSON(b, rs.ruleTable())
}

// NextTier is the tier above a decision's and the points it lacks.
type NextTier struct {
	Name         string `json:"name"`
	Min          int    `json:"min"`
	PointsNeeded int    `json:"points_needed"`
}

// NextTier returns the tier right above tier for a lead that scored
// score, and how many points it lacks; ok is false at the top.
func (rs *Ruleset) NextTier(tier string, score int) (next NextTier, ok bool) {
	for _, t := range rs.Tiers { // top down: the last one above the score is the next
		if t.Name == tier {
			break
		}
		if t.Min != nil && *t.Min > score {
			next, ok = NextTier{Name: t.Name, Min: *t.Min, PointsNeeded: *t.Min - score}, true
		}
	}
	return next, ok
}
