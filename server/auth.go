package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Scope is what a bearer token may do. A route needs one scope, or none.
type Scope string

// The scopes, from the narrowest. Admin may do everything.
const (
	// ScopeScore decides leads the caller sends (POST /v1/score, batch and
	// stream) and lists the rulesets (GET /v1/rulesets).
	ScopeScore Scope = "score"
	// ScopeRead reads lead data: the decision log's lookups and statistics
	// (GET /v1/decisions…, /v1/stats) and the reps' preview, which resolves
	// accounts (POST /v1/preview).
	ScopeRead Scope = "read"
	// ScopeMetrics sees the metrics that name rules and ruleset versions
	// (leadq_rule_hits_total, leadq_ruleset_info) and the versions and
	// rule errors in /readyz.
	ScopeMetrics Scope = "metrics"
	// ScopeAdmin reloads the rules (POST /-/reload), and may do all the rest.
	ScopeAdmin Scope = "admin"
)

// scopes are the scopes in the order they are documented.
var scopes = []Scope{ScopeScore, ScopeRead, ScopeMetrics, ScopeAdmin}

// Tokens are the bearer tokens a server accepts, each with its scopes.
// Several tokens may share a scope, so that one can be rotated while the
// other still works. The zero value holds none.
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	sum    [sha256.Size]byte // compared instead of the token: constant time whatever its length
	scopes []Scope
}

// ParseTokens reads tokens in the form of --token-file and LEADQ_TOKENS:
// entries separated by white space, newlines or commas, each
// SCOPE[+SCOPE...]:TOKEN, or a bare TOKEN, which may do everything (the
// form of a file that holds one token); a line from # on is a comment.
// Scopes are score, read, metrics and admin. A token is 1-512 characters
// of A-Z a-z 0-9 - . _ ~ + / = (RFC 6750's b64token). The error names the
// entry, by its number from 1, never the token.
func ParseTokens(text string) (Tokens, error) {
	var t Tokens
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, entry := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			n++
			scopeText, token, scoped := strings.Cut(entry, ":")
			if !scoped {
				scopeText, token = string(ScopeAdmin), entry
			}
			var es []Scope
			for _, name := range strings.Split(scopeText, "+") {
				sc := Scope(strings.ToLower(name))
				if !slices.Contains(scopes, sc) {
					return Tokens{}, fmt.Errorf("token %d: unknown scope %q (use score, read, metrics or admin, as SCOPE:TOKEN)", n, name)
				}
				es = append(es, sc)
			}
			if err := checkToken(token); err != nil {
				return Tokens{}, fmt.Errorf("token %d: %w", n, err)
			}
			sum := sha256.Sum256([]byte(token))
			for _, e := range t.entries {
				if e.sum == sum {
					return Tokens{}, fmt.Errorf("token %d: the same token is listed twice (give it every scope in one entry, as score+read:TOKEN)", n)
				}
			}
			t.entries = append(t.entries, tokenEntry{sum: sum, scopes: es})
		}
	}
	return t, nil
}

func checkToken(token string) error {
	if token == "" || len(token) > 512 {
		return fmt.Errorf("a token is 1 to 512 characters long")
	}
	for _, c := range []byte(token) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '+', c == '/', c == '=':
		default:
			return fmt.Errorf("a token may hold only A-Z a-z 0-9 - . _ ~ + / =")
		}
	}
	return nil
}

// Merge returns the tokens of t and u together.
func (t Tokens) Merge(u Tokens) Tokens {
	return Tokens{entries: append(slices.Clip(t.entries), u.entries...)}
}

// Len is the number of tokens.
func (t Tokens) Len() int { return len(t.entries) }

// Count is how many tokens may act in scope sc (admin tokens included).
func (t Tokens) Count(sc Scope) int {
	n := 0
	for _, e := range t.entries {
		if slices.Contains(e.scopes, sc) || slices.Contains(e.scopes, ScopeAdmin) {
			n++
		}
	}
	return n
}

// lookup finds the scopes of a token, comparing every entry in constant
// time; ok is false for an unknown token.
func (t Tokens) lookup(token string) (scopes []Scope, ok bool) {
	sum := sha256.Sum256([]byte(token))
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 {
			scopes, ok = e.scopes, true
		}
	}
	return scopes, ok
}

// WithTokens requires a bearer token with the route's scope on every route
// but health, readiness, metrics, the OpenAPI document and the reps' page
// itself; an admin token may do everything. Without tokens, scoring and
// reloading are open and lead data is refused (403 lead_data_closed)
// unless WithInsecureOpen.
func WithTokens(t Tokens) Option {
	return func(s *Server) {
		merged := s.tokens.Load().Merge(t)
		s.tokens.Store(&merged)
	}
}

// WithToken is WithTokens with a single token that may do everything.
func WithToken(token string) Option {
	return func(s *Server) {
		if token != "" {
			WithTokens(Tokens{entries: []tokenEntry{{sum: sha256.Sum256([]byte(token)), scopes: []Scope{ScopeAdmin}}}})(s)
		}
	}
}

// SetTokens replaces the tokens the server accepts, as a rotation does
// (leadq serve rereads its token file on SIGHUP): requests already
// authorised go on, the next ones need one of t. It refuses to take every
// token away from a server that has some, which would open scoring and
// reloading to anyone; the server keeps its tokens then.
func (s *Server) SetTokens(t Tokens) error {
	if t.Len() == 0 && s.tokens.Load().Len() > 0 {
		return errors.New("no token given: a server with tokens keeps them rather than open its routes to anyone")
	}
	s.tokens.Store(&t)
	return nil
}

// WithInsecureOpen serves lead data (the decision log's lookups and
// statistics, the preview) without a token on a server that has none. On
// a server with tokens it changes nothing: lead data needs a read token.
func WithInsecureOpen(open bool) Option { return func(s *Server) { s.insecureOpen = open } }

var (
	errForbidden = &httpError{status: http.StatusForbidden, code: "forbidden",
		msg: "this token may not do that; a token needs the route's scope (score, read, metrics or admin)"}
	errLeadDataClosed = &httpError{status: http.StatusForbidden, code: "lead_data_closed",
		msg: "this server serves lead data only with a token: start leadq serve with a read token (--token-file or LEADQ_TOKENS), or with --insecure-open on a trusted network"}
)

// authorize checks r's bearer token against the route's scope: nil when
// it may go on, else the error to answer.
func (s *Server) authorize(r *http.Request, need Scope) error {
	if need == "" {
		return nil
	}
	if s.tokens.Load().Len() == 0 {
		if need == ScopeRead && !s.insecureOpen {
			return errLeadDataClosed
		}
		return nil
	}
	have, ok := s.bearer(r)
	if !ok {
		return errUnauthorized
	}
	if !slices.Contains(have, need) && !slices.Contains(have, ScopeAdmin) {
		return errForbidden
	}
	return nil
}

// bearer is the scopes of r's bearer token; ok is false without a known
// token.
func (s *Server) bearer(r *http.Request) (scopes []Scope, ok bool) {
	scheme, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	return s.tokens.Load().lookup(strings.TrimSpace(token))
}

// mayDetail says whether r may see what names rules and versions in the
// open routes (/metrics, /readyz): always on a server without tokens, else
// with a metrics or admin token.
func (s *Server) mayDetail(r *http.Request) bool {
	if s.tokens.Load().Len() == 0 {
		return true
	}
	have, ok := s.bearer(r)
	return ok && (slices.Contains(have, ScopeMetrics) || slices.Contains(have, ScopeAdmin))
}
