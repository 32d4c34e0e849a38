package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
)

// apiError is the body of every error response, and the error of one item
// of a batch or stream: a stable snake_case code, a sentence for people, and
// the details that say where (a field, a byte offset, a parameter, or a
// rule file's file:line:col). Errors is never null.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Errors  []any  `json:"errors"`
}

// httpError is an error the server raises itself, with its status and code.
type httpError struct {
	status  int
	code    string
	msg     string
	details []any
	cause   error // for the log, when the error stands for another
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *httpError) Unwrap() error { return e.cause }

// paramError says which query parameter is wrong.
type paramError struct {
	Parameter string `json:"parameter"`
	Message   string `json:"message"`
}

var errUnauthorized = &httpError{status: http.StatusUnauthorized, code: "unauthorized",
	msg: "missing or wrong bearer token (send Authorization: Bearer <token>)"}

// errorResponse maps an error to its status and body. Only errors known to
// be the client's get their text through; anything else is a 500 whose
// detail stays in the log.
func errorResponse(err error) (int, apiError) {
	var (
		he     *httpError
		tooBig *http.MaxBytesError
		list   engine.InputErrors
		input  *engine.InputError
		rerrs  rules.ErrorList
	)
	switch {
	case errors.As(err, &he):
		return he.status, apiError{Code: he.code, Message: he.msg, Errors: orEmpty(he.details)}
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, apiError{Code: "body_too_large",
			Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", tooBig.Limit), Errors: []any{}}
	case errors.As(err, &list):
		details := make([]any, len(list))
		for i, e := range list {
			details[i] = e
		}
		return http.StatusUnprocessableEntity, apiError{Code: "invalid_input",
			Message: "strict mode: " + list.Error(), Errors: details}
	case errors.As(err, &input):
		return http.StatusBadRequest, apiError{Code: "invalid_json", Message: input.Error(), Errors: []any{input}}
	case errors.Is(err, engine.ErrUnknownRuleset):
		return http.StatusNotFound, apiError{Code: "unknown_ruleset", Message: err.Error(),
			Errors: []any{paramError{"ruleset", "no ruleset of that name is loaded; GET /v1/rulesets lists them"}}}
	case errors.Is(err, engine.ErrNoDefault):
		return http.StatusBadRequest, apiError{Code: "ruleset_required", Message: err.Error(),
			Errors: []any{paramError{"ruleset", "required when several rulesets are loaded"}}}
	case errors.Is(err, engine.ErrNotReady):
		return http.StatusServiceUnavailable, apiError{Code: "not_ready",
			Message: "no ruleset has compiled yet; GET /v1/rulesets shows the errors", Errors: []any{}}
	case errors.As(err, &rerrs):
		return http.StatusUnprocessableEntity, apiError{Code: "rules_invalid",
			Message: fmt.Sprintf("the rules do not compile (%d errors); the last good rulesets stay live", len(rerrs.Errors())),
			Errors:  ruleErrors(rerrs)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, apiError{Code: "timeout", Message: "the request did not arrive in time", Errors: []any{}}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, apiError{Code: "timeout", Message: "the request took longer than the server's timeout", Errors: []any{}}
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error; the server log has the details", Errors: []any{}}
}

// writeError writes err as a JSON error response. The error itself is kept
// for the access log, which is where internal details go.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := errorResponse(err)
	if rec, ok := w.(*recorder); ok {
		rec.err = err
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadq"`)
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the response body with the given status. HTML
// characters are not escaped: reasons quote the lead's own values.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Our own types always marshal; this is a bug, not the client's.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"code":"internal","message":"internal error; the server log has the details","errors":[]}` + "\n")
		if rec, ok := w.(*recorder); ok {
			rec.err = fmt.Errorf("encode response: %w", err)
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func ruleErrors(list rules.ErrorList) []any {
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = e
	}
	return out
}

func orEmpty(details []any) []any {
	if details == nil {
		return []any{}
	}
	return details
}
