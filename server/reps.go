package server

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/prometheus/client_golang/prometheus"
)

// DecisionLogger receives every decision the server makes, with the request
// it decided. Log may wait for room until ctx ends (the request's time
// limit), never longer, and then drop; Health reports what it wrote,
// dropped and failed, for /v1/rulesets, /readyz and the
// leadq_decision_log_* metrics. Log is done with the entry when it
// returns: streams and batches decide their next leads into the same
// decision and request buffers, so a logger copies what it keeps.
// *decisionlog.Log is one.
type DecisionLogger interface {
	Log(context.Context, decisionlog.Entry) bool
	Health() decisionlog.Health
}

// DecisionStore answers the lookups of the reps' page and of marketing from
// the decision log. *decisionlog.Log is one.
type DecisionStore interface {
	Find(ctx context.Context, q decisionlog.Query) ([]decisionlog.Record, error)
	Get(ctx context.Context, id string) (decisionlog.Record, error)
	Stats(ctx context.Context, since, until time.Time) (decisionlog.Stats, error)
}

// AccountResolver finds the account of a lead by its email, for leads sent
// without one. The map is shared and must not be modified.
// *accounts.Directory is one.
type AccountResolver interface {
	Resolve(email string) (map[string]any, bool)
}

// WithDecisionLog logs every decision (single, batch and stream) to l, off
// the scoring path. The default logs nothing.
func WithDecisionLog(l DecisionLogger) Option { return func(s *Server) { s.decisionLog = l } }

// WithDecisionStore serves lookups, re-explanations and rule statistics
// from st (GET /v1/decisions…, GET /v1/stats). Without it those routes
// answer 404 no_decision_log.
func WithDecisionStore(st DecisionStore) Option { return func(s *Server) { s.decisionStore = st } }

// WithAccounts scores a lead sent without an account together with the
// account its email domain resolves to. An account in the request wins.
func WithAccounts(r AccountResolver) Option { return func(s *Server) { s.accounts = r } }

// Where an account came from, in preview and re-explanation answers.
const (
	accountFromRequest  = "request"
	accountResolved     = "resolved"
	accountNone         = "none"
	accountLogged       = "logged"
	defaultStatsWindow  = 24 * time.Hour
	repsPrefix          = "/reps/"
	contentSecurityRule = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

var errNoDecisionLog = &httpError{status: http.StatusNotFound, code: "no_decision_log",
	msg: "this server keeps no decision log; start leadq serve with --log-db FILE"}

// repsRoutes are the decision log's, the preview's and the reps' page's
// routes; routes.go lists them with the others.
func (s *Server) repsRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/decisions", scope: ScopeRead, query: []string{"lead_id", "email", "q", "limit"}, handle: s.findDecisions},
		{method: "GET", path: "/v1/decisions/{id}", scope: ScopeRead, handle: s.getDecision},
		{method: "GET", path: "/v1/decisions/{id}/explain", scope: ScopeRead, handle: s.explainDecision},
		{method: "GET", path: "/v1/stats", scope: ScopeRead, query: []string{"since", "until"}, handle: s.ruleStats},
		// The preview always decides in full: detail is not among its parameters.
		{method: "POST", path: "/v1/preview", scope: ScopeRead, query: []string{"ruleset", "map", "strict"}, handle: s.preview},
		// The page and the root are opened from links, which carry what
		// browsers, mail and chat tools add (utm_source, fbclid...): a link
		// shared with a rep must open, whatever it carries. The page reads q.
		{method: "GET", path: repsPrefix, anyQuery: true, handle: s.repsPage},
		// The root is where a person lands who types the server's address.
		{method: "GET", path: "/{$}", anyQuery: true, handle: func(w http.ResponseWriter, r *http.Request) error {
			http.Redirect(w, r, repsPrefix, http.StatusFound)
			return nil
		}},
	}
}

// initReps registers the decision log's metrics, read from its Health at
// scrape time. New calls it.
func (s *Server) initReps() error {
	if s.decisionLog == nil {
		return nil
	}
	l := s.decisionLog
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadq_decision_log_written_total",
			Help: "Decisions written to the decision log.",
		}, func() float64 { return float64(l.Health().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadq_decision_log_dropped_total",
			Help: "Decisions not logged because the log's buffer was full (with --log-overflow drop, or when the request's time ran out waiting).",
		}, func() float64 { return float64(l.Health().Dropped) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "leadq_decision_log_failed_total",
			Help: "Decisions the database refused, or that were still unwritten when shutdown gave up on a database that was down.",
		}, func() float64 { return float64(l.Health().Failed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_queued",
			Help: "Decisions waiting for the decision log's writer.",
		}, func() float64 { return float64(l.Health().Queued) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_lag_seconds",
			Help: "Age of the oldest decision not yet written to the decision log; 0 when it is up to date.",
		}, func() float64 { return l.Health().LagSeconds }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_unindexed",
			Help: "Decisions stored in the decision log's journal and not yet indexed (lookups find them; the writer indexes them when idle).",
		}, func() float64 { return float64(l.Health().Unindexed) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_index_lag_seconds",
			Help: "How long the oldest decision not yet indexed has waited in the journal; 0 when none waits.",
		}, func() float64 { return l.Health().IndexLagSeconds }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_journal_bound",
			Help: "The journal's bound (--log-journal): past that many unindexed decisions the writer indexes as it writes, and bulk traffic slows to the indexer's pace.",
		}, func() float64 { return float64(l.Health().JournalBound) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "leadq_decision_log_up",
			Help: "1 when the decision log's last write succeeded, 0 while writes fail (the database is down).",
		}, func() float64 {
			if l.Health().OK {
				return 1
			}
			return 0
		}),
	} {
		if err := s.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// options are the engine's settings for a request's query: strict and
// brief when it asks, the depth limit, and the server's accounts.
func (s *Server) options(q query) engine.Options {
	opts := s.eng.Options()
	opts.Strict = opts.Strict || q.strict
	if q.brief {
		opts.Detail = engine.Brief
	}
	opts.MaxDepth = maxDepth
	if s.accounts != nil {
		opts.Accounts = s.accounts
	}
	return opts
}

// kept is an AccountResolver that keeps the account it resolved, for the
// decision log and the preview.
type kept struct {
	engine.AccountResolver
	account map[string]any
}

func (k *kept) Resolve(email string) (map[string]any, bool) {
	a, ok := k.AccountResolver.Resolve(email)
	if ok {
		k.account = a
	}
	return a, ok
}

// scoreResolving decides a request into *d as opts say, reusing d's
// arrays (engine.Ruleset.ScoreJSONInto), and, for the decision log, returns
// the request with the account the engine resolved for it (Options.Accounts),
// if any, and the lead's email the engine read (ScoreJSONEmail): only a
// server that logs asks for them.
func (s *Server) scoreResolving(ctx context.Context, rs *engine.Ruleset, opts engine.Options, data []byte, d *engine.Decision) (decided, error) {
	if s.decisionLog == nil {
		return decided{input: data}, rs.ScoreJSONInto(ctx, data, opts, d)
	}
	var k *kept
	if opts.Accounts != nil {
		k = &kept{AccountResolver: opts.Accounts}
		opts.Accounts = k
	}
	email, err := rs.ScoreJSONEmail(ctx, data, opts, d)
	req := decided{input: data, email: email}
	if k != nil {
		req.account = k.account
	}
	return req, err
}

// scoreWithAccount decides a request and says which account goes with it
// and where it came from: the request's own (an object, even empty, wins),
// the one the lead's email resolves to (engine.Input.JoinAccount), or none;
// also for a ruleset that reads no account, so that a rep sees it.
func (s *Server) scoreWithAccount(ctx context.Context, rs *engine.Ruleset, opts engine.Options, data []byte) (engine.Decision, map[string]any, string, error) {
	in, err := engine.ParseInput(data)
	if err != nil {
		d, err := rs.ScoreJSON(ctx, data, opts) // for the engine's own error
		return d, nil, accountNone, err
	}
	source := accountNone
	switch {
	case in.Account != nil:
		source = accountFromRequest
	case opts.Accounts != nil && in.JoinAccount(opts.Accounts):
		source = accountResolved
	}
	opts.Accounts = nil // joined above
	d, err := rs.Score(ctx, in, opts)
	return d, in.Account, source, err
}

// decodeObject decodes a JSON object with numbers kept as text.
func decodeObject(data []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil || dec.More() {
		return nil, false
	}
	return doc, true
}

// logDecision hands a decision, the ruleset version that made it and what
// the log keeps of its request (decided) to the decision log, if any.
// With --log-overflow block it may wait for room until ctx ends. Log is
// done with the request when it returns (a stream reuses its buffer).
// Every decision logged was decided by decideData, with s.options'
// MaxDepth: the log is told (Decided).
func (s *Server) logDecision(ctx context.Context, rs *engine.Ruleset, d *engine.Decision, req decided) {
	if s.decisionLog == nil {
		return
	}
	s.decisionLog.Log(ctx, decisionlog.Entry{Time: time.Now(), Decision: *d, Ruleset: rs, Input: req.input, Account: req.account,
		Email: req.email, Decided: maxDepth <= decisionlog.DecidedDepth})
}

// nextTierOf is how far a decision is from the next tier up; nil at the top.
func nextTierOf(rs *engine.Ruleset, d engine.Decision) *engine.NextTier {
	if next, ok := rs.NextTier(d.Tier, d.Score); ok {
		return &next
	}
	return nil
}

// previewResponse is the answer of POST /v1/preview and part of a
// re-explanation: the decision, how far it is from the next tier, and the
// account it was scored with.
type previewResponse struct {
	Decision      engine.Decision  `json:"decision"`
	NextTier      *engine.NextTier `json:"next_tier"`
	Account       map[string]any   `json:"account"`
	AccountSource string           `json:"account_source"`
}

// preview decides a lead as POST /v1/score does, without logging it, and
// says which account it was scored with: POST /v1/preview. The reps' page
// scores what-if edits with it.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r)
	if err != nil {
		return err
	}
	if err := checkContentType(r, jsonTypes); err != nil {
		return err
	}
	data, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if err := engine.CheckDepth(data, maxDepth); err != nil {
		return err
	}
	rs, err := s.ruleset(q.ruleset)
	if err != nil {
		return err
	}
	if data, err = s.mapInput(rs.Ruleset, q, data); err != nil {
		return err
	}
	opts := s.options(q)
	opts.Detail = engine.Full
	d, account, source, err := s.scoreWithAccount(r.Context(), rs, opts, data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, previewResponse{Decision: d, NextTier: nextTierOf(rs, d), Account: account, AccountSource: source})
	return nil
}

// findDecisions answers GET /v1/decisions?lead_id=ID, ?email=EMAIL or
// ?q=TEXT [&limit=N]: the lead's logged decisions, latest first; q finds
// them by the start of a lead id, email, email domain, company or word of
// a company, in any case.
func (s *Server) findDecisions(w http.ResponseWriter, r *http.Request) error {
	if s.decisionStore == nil {
		return errNoDecisionLog
	}
	p, err := queryValues(r, "lead_id", "email", "q", "limit")
	if err != nil {
		return err
	}
	q := decisionlog.Query{LeadID: strings.TrimSpace(p.Get("lead_id")), Email: strings.TrimSpace(p.Get("email")), Text: strings.TrimSpace(p.Get("q"))}
	given := 0
	for _, v := range []string{q.LeadID, q.Email, q.Text} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: "give one of lead_id, email or q",
			details: []any{paramError{"lead_id", "the lead's id"}, paramError{"email", "the lead's email"},
				paramError{"q", "the start of a lead id, email, email domain or company, in any case"}}}
	}
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > decisionlog.MaxLimit {
			return &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: fmt.Sprintf("limit=%q is not a number from 1 to %d", v, decisionlog.MaxLimit),
				details: []any{paramError{"limit", fmt.Sprintf("1 to %d; default %d", decisionlog.MaxLimit, decisionlog.DefaultLimit)}}}
		}
		q.Limit = n
	}
	recs, err := s.decisionStore.Find(r.Context(), q)
	if errors.Is(err, decisionlog.ErrEmailDropped) || errors.Is(err, decisionlog.ErrNoKey) {
		return &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: err.Error(),
			details: []any{paramError{"email", "the log does not keep emails it can match; use lead_id"}}}
	}
	if err != nil {
		return err
	}
	out := make([]loggedDecision, len(recs))
	for i, rec := range recs {
		out[i] = loggedDecision{Record: rec}
		// How far from the next tier, when the ruleset that decided is
		// still the live version (another version has other tiers).
		if rs, err := s.eng.Ruleset(rec.Decision.Ruleset.Name); err == nil && rs.Version == rec.Decision.Ruleset.Version {
			out[i].NextTier = nextTierOf(rs, rec.Decision)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": out})
	return nil
}

// loggedDecision is a logged decision as GET /v1/decisions lists it.
type loggedDecision struct {
	decisionlog.Record
	NextTier *engine.NextTier `json:"next_tier"` // when its ruleset version is still live
}

// record reads the {id} of the path and loads that decision.
func (s *Server) record(r *http.Request) (decisionlog.Record, error) {
	if s.decisionStore == nil {
		return decisionlog.Record{}, errNoDecisionLog
	}
	id := r.PathValue("id")
	if !isDecisionID(id) {
		return decisionlog.Record{}, &httpError{status: http.StatusBadRequest, code: "bad_parameter",
			msg: fmt.Sprintf("decision id %q is not a decision id (a UUID such as 0193a5c2-7e41-7b6e-9f3d-2c8e4a1b5d70)", id), details: []any{paramError{"id", "the id of a logged decision, as answered"}}}
	}
	rec, err := s.decisionStore.Get(r.Context(), id)
	if errors.Is(err, decisionlog.ErrNotFound) {
		return rec, &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no decision %s in the log (pruned, or never logged)", id)}
	}
	return rec, err
}

// getDecision answers GET /v1/decisions/{id}: one logged decision.
func (s *Server) getDecision(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// explainResponse is a logged decision re-explained against today's rules.
type explainResponse struct {
	Logged        decisionlog.Record     `json:"logged"`
	Today         engine.Decision        `json:"today"`
	Changes       decisionlog.Comparison `json:"changes"`
	NextTier      *engine.NextTier       `json:"next_tier"`
	Account       map[string]any         `json:"account"`
	AccountSource string                 `json:"account_source"`
}

// explainDecision answers GET /v1/decisions/{id}/explain: the logged
// decision, the decision on the same input with today's version of its
// ruleset, and what changed: "would it qualify today?". An account that was
// resolved then is resolved again now; one sent with the lead is kept.
func (s *Server) explainDecision(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.record(r)
	if err != nil {
		return err
	}
	rs, err := s.eng.Ruleset(rec.Decision.Ruleset.Name)
	if err != nil {
		return err
	}
	data := rec.Input
	doc, ok := decodeObject(data)
	if !ok {
		return fmt.Errorf("decision %s: the stored input is not a JSON object", rec.ID)
	}
	resolvedThen := doc[decisionlog.AccountSource] == decisionlog.AccountResolved
	if resolvedThen && s.accounts != nil {
		delete(doc, "account") // resolve it again, as today's scoring would
		delete(doc, decisionlog.AccountSource)
		if data, err = json.Marshal(doc); err != nil {
			return err
		}
	}
	d, account, source, err := s.scoreWithAccount(r.Context(), rs, s.options(query{}), data)
	if err != nil {
		return err
	}
	if resolvedThen && source == accountFromRequest {
		source = accountLogged // resolved then; no resolver now
	}
	writeJSON(w, http.StatusOK, explainResponse{Logged: rec, Today: d, Changes: decisionlog.Compare(rec.Decision, d),
		NextTier: nextTierOf(rs, d), Account: account, AccountSource: source})
	return nil
}

// ruleStats answers GET /v1/stats[?since=24h][&until=TIME]: per ruleset,
// the decisions of the window and how often each rule fired, with the live
// rulesets' rules that never fired.
func (s *Server) ruleStats(w http.ResponseWriter, r *http.Request) error {
	if s.decisionStore == nil {
		return errNoDecisionLog
	}
	p, err := queryValues(r, "since", "until")
	if err != nil {
		return err
	}
	until := time.Now()
	if v := p.Get("until"); v != "" {
		t, err := rulefile.ParseDate(v)
		if err != nil {
			return &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: fmt.Sprintf("until=%q is not a date or time", v),
				details: []any{paramError{"until", "a date (2026-11-01) or time (2026-11-01T09:00:00Z); default now"}}}
		}
		until = t
	}
	since := until.Add(-defaultStatsWindow)
	if v := p.Get("since"); v != "" {
		if d, err := decisionlog.ParseDuration(v); err == nil {
			since = until.Add(-d)
		} else if t, err := rulefile.ParseDate(v); err == nil {
			since = t
		} else {
			return &httpError{status: http.StatusBadRequest, code: "bad_parameter", msg: fmt.Sprintf("since=%q is neither an age nor a date", v),
				details: []any{paramError{"since", "an age back from until (24h, 7d) or a date; default 24h"}}}
		}
	}
	if !since.Before(until) { // as leadq stats refuses it
		return &httpError{status: http.StatusBadRequest, code: "bad_parameter",
			msg:     fmt.Sprintf("since=%s is not before until=%s", since.Format(time.RFC3339), until.Format(time.RFC3339)),
			details: []any{paramError{"since", "a start before until"}}}
	}
	st, err := s.decisionStore.Stats(r.Context(), since, until)
	if err != nil {
		return err
	}
	var live []*rules.Ruleset
	for _, info := range s.eng.Status().Rulesets {
		if rs, err := s.eng.Ruleset(info.Name); err == nil {
			live = append(live, rs.Ruleset)
		}
	}
	st.Complete(live...)
	writeJSON(w, http.StatusOK, st)
	return nil
}

// web holds the reps' page: static HTML, CSS and JavaScript, no build step.
//
//go:embed web
var web embed.FS

// repsPage serves the reps' page and its assets: GET /reps/.
func (s *Server) repsPage(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, repsPrefix)
	if name == "" {
		name = "reps.html"
	}
	data, err := fs.ReadFile(web, path.Join("web", path.Clean("/"+name)))
	if err != nil {
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no page %s", r.URL.Path)}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityRule)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return nil
}

// isDecisionID reports whether id is a UUID in its usual text form.
func isDecisionID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}
