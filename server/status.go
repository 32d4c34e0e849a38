package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/leadq/leadq/decisionlog"
	"github.com/leadq/leadq/rules"
)

// rulesetsResponse is GET /v1/rulesets: the live rulesets and the outcome of
// the reloads. LastError is the last attempt's error, null once a reload
// succeeds; the rulesets listed are then still the last good ones.
type rulesetsResponse struct {
	Ready       bool          `json:"ready"`
	Rulesets    []rulesetJSON `json:"rulesets"`
	Default     string        `json:"default"` // the ruleset of requests that name none; "" when there is none
	LastReload  *time.Time    `json:"last_reload"`
	LastSuccess *time.Time    `json:"last_success"`
	Reloads     int           `json:"reloads"`
	Failures    int           `json:"failures"`
	LastError   *apiError     `json:"last_error"`
	// DecisionLog is the decision log's health (lag, drops, failures, the
	// last error); absent without --log-db.
	DecisionLog *decisionlog.Health `json:"decision_log,omitempty"`
}

type rulesetJSON struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Version     string    `json:"version"`
	Files       []string  `json:"files"`
	Rules       int       `json:"rules"`
	Knockouts   int       `json:"knockouts"`
	LoadedAt    time.Time `json:"loaded_at"`
	Warnings    []any     `json:"warnings"` // lint findings, file:line:col
	// FieldLabels names the fields whose rule file gives a label or a unit
	// as a rep reads them (lead.annual_revenue: Annual revenue (USD)); the reps' page shows
	// them where it names a field. Absent when no field has one.
	FieldLabels map[string]string `json:"field_labels,omitempty"`
}

func (s *Server) status() rulesetsResponse {
	st := s.eng.Status()
	out := rulesetsResponse{
		Ready:       st.Ready,
		Rulesets:    []rulesetJSON{},
		LastReload:  timeOrNil(st.LastReload),
		LastSuccess: timeOrNil(st.LastSuccess),
		Reloads:     st.Reloads,
		Failures:    st.Failures,
	}
	if rs, err := s.ruleset(""); err == nil {
		out.Default = rs.Name
	}
	for _, info := range st.Rulesets {
		rs := rulesetJSON{
			Name: info.Name, Description: info.Description, Version: info.Version, Files: info.Files,
			Rules: info.Rules, Knockouts: info.Knockouts, LoadedAt: info.LoadedAt, Warnings: []any{},
		}
		if rs.Files == nil {
			rs.Files = []string{}
		}
		// A reload may land between Status and Ruleset; the warnings
		// are shown only when they belong to the version listed.
		if live, err := s.eng.Ruleset(info.Name); err == nil && live.Version == info.Version {
			rs.Warnings = ruleErrors(live.Warnings)
			for _, f := range live.Fields {
				if title := f.Title(); title != f.Name {
					if rs.FieldLabels == nil {
						rs.FieldLabels = map[string]string{}
					}
					rs.FieldLabels[f.Name] = title
				}
			}
		}
		out.Rulesets = append(out.Rulesets, rs)
	}
	if st.LastError != nil {
		_, body := errorResponse(reloadError(st.LastError))
		out.LastError = &body
	}
	if s.decisionLog != nil {
		h := s.decisionLog.Health()
		out.DecisionLog = &h
	}
	return out
}

// reloadError gives a failed reload its place in errorResponse: rule
// errors as rules_invalid with their positions, anything else (a missing
// directory, no rulesets) as a rules_invalid with the error's text, which is
// about the operator's own files and so safe to show.
func reloadError(err error) error {
	var list rules.ErrorList
	if errors.As(err, &list) {
		return list
	}
	return &httpError{status: http.StatusUnprocessableEntity, code: "rules_invalid", msg: err.Error()}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// rulesets lists the live rulesets: GET /v1/rulesets.
func (s *Server) rulesets(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.status())
	return nil
}

// reload rebuilds the rulesets now: POST /-/reload, the same Engine.Reload
// the file watcher and SIGHUP call. On failure the last good rulesets stay
// live and the answer is 422 with the rule errors.
func (s *Server) reload(w http.ResponseWriter, r *http.Request) error {
	if err := s.eng.Reload(r.Context()); err != nil {
		return reloadError(err)
	}
	// The account file reloads with the rules when its source can; a
	// broken file keeps the last good accounts, as a broken rule does.
	if a, ok := s.accounts.(interface{ Reload(context.Context) error }); ok {
		if err := a.Reload(r.Context()); err != nil {
			return &httpError{status: http.StatusUnprocessableEntity, code: "accounts_invalid",
				msg: "the rules reloaded; the account file did not, and the last good accounts still serve: " + err.Error(), details: []any{}}
		}
	}
	writeJSON(w, http.StatusOK, s.status())
	return nil
}

// healthz says the process is up: GET /healthz.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says whether every ruleset has compiled once: GET /readyz. Until
// then it is a 503 carrying the last reload's errors; a later failed reload
// does not make the server unready, since the last good rulesets serve. On
// a server with tokens, the versions and errors are shown only with a
// metrics or admin token: a probe needs the status alone.
// The decision log's health is in the body but does not make the server
// unready: scoring works without the log, and a database outage would
// otherwise take every replica out of its Service at once.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	st := s.eng.Status()
	detail := s.mayDetail(r) // versions and rule errors: not for anyone on a server with tokens
	if !st.Ready {
		err := &httpError{status: http.StatusServiceUnavailable, code: "not_ready", msg: "no ruleset has compiled yet", details: []any{}}
		if st.LastError != nil && detail {
			_, body := errorResponse(reloadError(st.LastError))
			err.msg += ": " + body.Message
			err.details = body.Errors
		}
		return err
	}
	if !detail {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return nil
	}
	versions := map[string]string{}
	for _, rs := range st.Rulesets {
		versions[rs.Name] = rs.Version
	}
	body := map[string]any{"status": "ready", "rulesets": versions}
	if s.decisionLog != nil {
		h := s.decisionLog.Health()
		body["decision_log"] = map[string]any{"ok": h.OK, "queued": h.Queued, "lag_seconds": h.LagSeconds, "unindexed": h.Unindexed, "index_lag_seconds": h.IndexLagSeconds, "dropped": h.Dropped, "failed": h.Failed}
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
