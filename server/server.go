package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules/rulefile"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults New applies.
const (
	DefaultMaxBody = 1 << 20          // bytes of a request body, or of one NDJSON line
	DefaultTimeout = 10 * time.Second // per request, and per line of a stream
	maxDepth       = 32               // nesting of JSON objects and arrays in a request
)

// Server answers the HTTP API. Create it with New.
type Server struct {
	eng          *engine.Engine
	log          *slog.Logger
	tokens       atomic.Pointer[Tokens] // never nil after New; none: scoring open, lead data refused unless insecureOpen
	insecureOpen bool
	maxBody      int64
	timeout      time.Duration
	reg          *prometheus.Registry
	metrics      *metrics
	mux          *http.ServeMux
	methods      []string // the methods routes answer, for 405 answers

	newID func() string // a decision's id

	streamChunks sync.Pool // *streamChunk: a finished stream's buffers, for the next
	responseBufs sync.Pool // *[]byte: a single decision's encoded answer, for the next

	draining  chan struct{} // closed by Drain
	drainOnce sync.Once

	decisionLog   DecisionLogger  // nil: decisions are not logged (reps.go)
	decisionStore DecisionStore   // nil: no lookups
	accounts      AccountResolver // nil: accounts only from requests

	defaultRuleset string // for requests that name none; "" means the only one

	inputMaps   map[string]InputMapper // by name, for ?map= (inputmap.go)
	rulesetMaps map[string]string      // ruleset name -> the input map of its requests
}

// Option configures a Server; see the With functions.
type Option func(*Server)

// WithLogger sets the logger for requests and errors. The default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMaxBody limits a request body, and each line of an NDJSON stream, to n
// bytes (default DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(s *Server) { s.maxBody = n } }

// WithTimeout bounds each request, and for a stream the wait for each line
// (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(s *Server) { s.timeout = d } }

// WithRegistry registers the server's metrics in reg and serves reg at
// /metrics. The default is a new registry holding only the server's metrics.
func WithRegistry(reg *prometheus.Registry) Option { return func(s *Server) { s.reg = reg } }

// WithDefaultRuleset scores requests that name no ruleset (no ?ruleset=)
// with the ruleset called name, and the reps' page preselects it. Without
// it such requests need a server with one ruleset only.
func WithDefaultRuleset(name string) Option { return func(s *Server) { s.defaultRuleset = name } }

// ruleset is the live ruleset a request names, or the default.
func (s *Server) ruleset(name string) (*engine.Ruleset, error) {
	if name == "" {
		name = s.defaultRuleset
	}
	return s.eng.Ruleset(name)
}

// WithDecisionIDs sets how decisions get their ids (by default UUIDv7s:
// see decisionIDs). Tests give a counter.
func WithDecisionIDs(next func() string) Option { return func(s *Server) { s.newID = next } }

// decisionIDs makes UUIDv7s: unique across replicas without coordination,
// and ordered by time, so that the decision log appends in id order and
// finds a time window as a range of ids. Their random bits come from
// crypto/rand through buffers of 4 KiB, one a goroutine at a time: one
// read of crypto/rand for each id was most of its cost (about 3,500
// instructions of a streamed lead's 35,000).
type decisionIDs struct{ readers sync.Pool }

func newDecisionIDs() *decisionIDs {
	return &decisionIDs{readers: sync.Pool{New: func() any { return bufio.NewReaderSize(rand.Reader, 4096) }}}
}

func (ids *decisionIDs) next() string {
	r := ids.readers.Get().(*bufio.Reader)
	id, err := uuid.NewV7FromReader(r)
	ids.readers.Put(r)
	if err != nil {
		// crypto/rand does not fail on Linux; if it ever does, a random
		// v4 from the same source would fail too, so say it loudly.
		panic(fmt.Sprintf("decision id: %v", err))
	}
	return id.String()
}

// New returns a server for eng. It fails when the metrics cannot be
// registered (a registry that already holds them) or an option is invalid.
func New(eng *engine.Engine, opts ...Option) (*Server, error) {
	s := &Server{
		eng:     eng,
		log:     slog.New(slog.DiscardHandler),
		maxBody: DefaultMaxBody,
		timeout: DefaultTimeout,
		newID:   newDecisionIDs().next,

		draining: make(chan struct{}),
	}
	s.tokens.Store(&Tokens{})
	for _, o := range opts {
		o(s)
	}
	if s.maxBody <= 0 {
		return nil, fmt.Errorf("max body must be positive, got %d", s.maxBody)
	}
	if s.timeout <= 0 {
		return nil, fmt.Errorf("timeout must be positive, got %v", s.timeout)
	}
	if err := s.checkMaps(); err != nil {
		return nil, err
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(s.reg, eng)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s.metrics = m
	if err := s.initReps(); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
		if !slices.Contains(s.methods, rt.method) {
			s.methods = append(s.methods, rt.method)
		}
	}
	// Everything else gets a JSON 404 or 405 rather than the mux's text.
	s.mux.Handle("/", s.wrap(route{path: "other", anyQuery: true, handle: s.notFound}))
	return s, nil
}

// Drain tells the server that shutdown has begun: each NDJSON stream stops
// taking lines, answers those it has read, and ends its answer with a line
// saying the server is shutting down (code shutting_down, naming the first
// line not answered), so that http.Server.Shutdown does not wait for
// streams until its grace period ends. Other requests finish as usual.
// Give it to http.Server.RegisterOnShutdown. It may be called more than
// once.
func (s *Server) Drain() { s.drainOnce.Do(func() { close(s.draining) }) }

func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// route is one entry of the table in routes.go.
type route struct {
	method string
	path   string
	scope  Scope // the bearer token's scope it needs; "" for an open route
	stream bool  // times out per line, not per request
	// query is the query parameters the route reads; wrap refuses any
	// other (a typo such as ?detial=brief was answered as if absent).
	// anyQuery routes take whatever a link carries (the reps' page).
	query    []string
	anyQuery bool
	handle   func(w http.ResponseWriter, r *http.Request) error
}

// wrap adds what every route does around its handler: deadlines, the
// bearer token check, panics turned into 500s, the access log and the
// latency metric. A handler's error goes to writeError.
func (s *Server) wrap(rt route) http.Handler {
	observe := s.metrics.latency.MustCurryWith(prometheus.Labels{"route": rt.path})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		rc := http.NewResponseController(rec)
		if !rt.stream {
			// The connection's deadlines bound slow clients; they are
			// set for every request so that none outlives its request
			// on a kept-alive connection.
			deadline := start.Add(s.timeout)
			_ = rc.SetReadDeadline(deadline)
			_ = rc.SetWriteDeadline(deadline.Add(time.Second))
			defer rc.SetWriteDeadline(time.Time{})
			ctx, cancel := context.WithDeadline(r.Context(), deadline)
			defer cancel()
			r = r.WithContext(ctx)
		}
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				// A handler cut its answer off (a batch whose client
				// went away or whose time ran out): logged and measured,
				// then net/http closes the connection.
				rec.err = errAnswerCutOff
			} else if p != nil {
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, r, fmt.Errorf("panic: %v", p))
				}
			}
			d := time.Since(start)
			route := rt.path
			if rec.route != "" {
				route = rec.route // a 405 is counted with the route it named
				s.metrics.latency.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(rec.status)).Observe(d.Seconds())
			} else {
				observe.WithLabelValues(methodLabel(r.Method), strconv.Itoa(rec.status)).Observe(d.Seconds())
			}
			s.logRequest(r, route, rec, d)
			if p == http.ErrAbortHandler {
				panic(p)
			}
		}()
		if err := s.authorize(r, rt.scope); err != nil {
			writeError(rec, r, err)
			return
		}
		if !rt.anyQuery {
			if err := checkQuery(r, rt); err != nil {
				writeError(rec, r, err)
				return
			}
		}
		if err := rt.handle(rec, r); err != nil {
			writeError(rec, r, err)
		}
	})
}

// checkQuery refuses a request with a query parameter its route does not
// read, naming the parameters the route does read.
func checkQuery(r *http.Request, rt route) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := queryValues(r)
	if err != nil {
		return err
	}
	var unknown []string
	for name := range q {
		if !slices.Contains(rt.query, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	known := "takes no query parameters"
	if len(rt.query) > 0 {
		known = "takes " + strings.Join(rt.query, ", ")
	}
	path := strings.TrimSuffix(rt.path, "{$}")
	details := make([]any, len(unknown))
	named := make([]string, len(unknown))
	for i, name := range unknown {
		details[i] = paramError{name, "not a parameter of " + rt.method + " " + path + rulefile.DidYouMean(name, rt.query)}
		named[i] = strconv.Quote(name) + rulefile.DidYouMean(name, rt.query)
	}
	what := "unknown query parameter "
	if len(unknown) > 1 {
		what = "unknown query parameters "
	}
	return &httpError{status: http.StatusBadRequest, code: "bad_parameter",
		msg:     fmt.Sprintf("%s%s: %s %s %s", what, strings.Join(named, ", "), rt.method, path, known),
		details: details}
}

func (s *Server) logRequest(r *http.Request, route string, rec *recorder, d time.Duration) {
	level := slog.LevelDebug
	switch {
	case rec.status >= 500:
		level = slog.LevelError
	case rec.status >= 400:
		level = slog.LevelInfo
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("route", route),
		slog.Int("status", rec.status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr),
	}
	if rec.err != nil {
		attrs = append(attrs, slog.String("err", rec.err.Error()))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

var errAnswerCutOff = errors.New("the answer was cut off: the client went away or the request's time ran out")

// notFound answers paths no route has, and known paths with the wrong
// method: 405 with Allow, counted in the metrics under the route's path.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if route, methods := s.routeOf(r); route != "" {
		if rec, ok := w.(*recorder); ok {
			rec.route = route
		}
		w.Header().Set("Allow", strings.Join(methods, ", "))
		return &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			msg: fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, strings.Join(methods, " or "))}
	}
	return &httpError{status: http.StatusNotFound, code: "not_found",
		msg: fmt.Sprintf("no route %s %s; see /openapi.json", r.Method, r.URL.Path)}
}

// routeOf finds the route r's path belongs to with another method (a
// pattern, such as /v1/decisions/{id}), and the methods it answers.
func (s *Server) routeOf(r *http.Request) (route string, methods []string) {
	for _, m := range s.methods {
		other := *r
		other.Method = m
		if _, pattern := s.mux.Handler(&other); pattern != "/" && pattern != "" {
			route = strings.TrimPrefix(pattern, m+" ")
			methods = append(methods, m)
		}
	}
	return route, methods
}

// recorder keeps the status and size of a response, and the error written,
// for the access log and metrics. Unwrap lets http.ResponseController reach
// the connection (flushes, deadlines, full duplex).
type recorder struct {
	http.ResponseWriter
	route  string // the route a 405 named, for the metrics and the log
	status int
	bytes  int64
	wrote  bool
	err    error
}

func (w *recorder) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// methodLabel keeps the method label of the latency metric to the standard
// methods: a 404 may come with any method a client invents.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
