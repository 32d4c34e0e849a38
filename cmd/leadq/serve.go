package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/leadq/leadq/engine"
	"github.com/leadq/leadq/rules"
	"github.com/leadq/leadq/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

type serveOptions struct {
	rules     []string
	addr      string
	tokenFile string
	token     string // --token: refused, with the way to give a token
	open      bool   // --insecure-open
	maxBody   string
	strict    bool
	timeout   time.Duration
	budget    time.Duration
	grace     time.Duration
	watch     bool
	remove    bool // --allow-remove
	logLevel  string
	logFormat string
	ruleset   string      // --default-ruleset
	inputMaps []string    // --input-map NAME=FILE
	mapOf     []string    // --ruleset-map RULESET=NAME
	gcPercent int         // --gc-percent
	gcFlag    bool        // --gc-percent given: it wins over GOGC
	memLimit  string      // --memory-limit
	memFlag   bool        // --memory-limit given: it wins over GOMEMLIMIT
	reps      repsOptions // decision log and accounts (serve_reps.go)

	// For tests: called once the listener is bound, after each reload,
	// and when shutdown begins.
	listening    func(addr net.Addr)
	onReload     func(version string, err error)
	shuttingDown func()
}

func newServeCmd(e *env) *cobra.Command {
	var opts serveOptions
	cmd := &cobra.Command{
		Use:   "serve --rules DIR... [--addr :8080]",
		Short: "Serve decisions over HTTP, reloading the rules when their files change",
		Long: `serve answers lead-routing systems over HTTP: POST /v1/score (one lead), /v1/score/batch
(a JSON array) and /v1/score/stream (NDJSON), GET /v1/rulesets, POST /-/reload, /healthz,
/readyz, /metrics and /openapi.json (the full description of the API).

The rules reload when a rule file in a --rules directory changes (editors that save by
rename and Kubernetes ConfigMap volumes included), on SIGHUP and on POST /-/reload; a
reload that fails keeps the last good rules serving and reports the errors, with
file:line:col, in the log, GET /v1/rulesets and the leadq_rules_last_reload_successful
metric. If the rules do not compile at startup, leadq serves anyway with /readyz at 503
and the scoring routes answering 503 not_ready until a fixed file is reloaded, so that a
pod waits for its ConfigMap to be fixed instead of crash-looping.

Tokens (--token-file FILE and LEADQ_TOKENS, SCOPE:TOKEN each, several per scope for
rotation) give each route its scope: score, read (lead data), metrics, admin (everything).
SIGHUP rereads the token file: a token rotates without a restart.
Without tokens, scoring and reloading are open and lead data (/v1/decisions, /v1/stats,
/v1/preview) is refused unless --insecure-open. README.md's Security section has the rest.

On SIGINT or SIGTERM the server stops accepting connections and finishes the requests in
flight (up to --shutdown-timeout) before it exits.`,
		Args: rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.rules) == 0 {
				return &usageError{errors.New("--rules is required (rule files or directories)")}
			}
			opts.gcFlag = cmd.Flags().Changed("gc-percent")
			opts.memFlag = cmd.Flags().Changed("memory-limit")
			return runServe(cmd.Context(), e, opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&opts.rules, "rules", nil, "rule files or directories (repeat or separate with commas)")
	f.StringVar(&opts.addr, "addr", ":8080", "address to listen on")
	f.StringVar(&opts.tokenFile, "token-file", "", "file of bearer tokens, SCOPE:TOKEN each (scopes score, read, metrics, admin; a bare TOKEN may do everything); LEADQ_TOKENS adds more in the same form")
	f.StringVar(&opts.token, "token", "", "not accepted: use --token-file or LEADQ_TOKENS")
	_ = f.MarkHidden("token")
	f.BoolVar(&opts.open, "insecure-open", false, "serve lead data (decision lookups, stats, preview) without a token, on a server with no tokens; for a trusted network only")
	f.StringVar(&opts.maxBody, "max-body", "1MiB", "largest request body, and NDJSON line (B, KB, KiB, MB, MiB)")
	f.StringVar(&opts.ruleset, "default-ruleset", "", "the ruleset of requests without ?ruleset= (and the one the reps' page scores with first); without it such requests need a single ruleset")
	f.StringArrayVar(&opts.inputMaps, "input-map", nil, "NAME=FILE: read requests with ?map=NAME through the mapping file (JSON paths into a CRM's payload: lead.employees: properties.numberofemployees); repeatable")
	f.StringArrayVar(&opts.mapOf, "ruleset-map", nil, "RULESET=NAME: read every request to RULESET through input map NAME unless it says ?map=none; repeatable")
	f.BoolVar(&opts.strict, "strict", false, "refuse leads with wrong-typed fields or undeclared keys (422) instead of warning; ?strict=true does it per request")
	f.DurationVar(&opts.timeout, "timeout", server.DefaultTimeout, "time limit of a request, and of the wait for each line of a stream")
	f.DurationVar(&opts.budget, "budget", defaultBudget, `time the loops of one decision's conditions (any, all, filter...) may take; a rule that runs out errors with "time budget exceeded" and the other rules still decide (0: no limit)`)
	f.DurationVar(&opts.grace, "shutdown-timeout", 30*time.Second, "time in-flight requests get to finish on shutdown")
	f.BoolVar(&opts.watch, "watch", true, "reload when rule files change")
	f.BoolVar(&opts.remove, "allow-remove", false, "let a reload drop a ruleset whose files are gone (without it, such a reload fails and the ruleset keeps serving)")
	f.StringVar(&opts.logLevel, "log-level", "info", "debug (every request), info, warn or error")
	f.StringVar(&opts.logFormat, "log-format", "text", "text or json")
	f.IntVar(&opts.gcPercent, "gc-percent", defaultGCPercent, "garbage collection target, as GOGC (which wins when set and this flag is not): collect when the heap has grown by this % since the last collection")
	f.StringVar(&opts.memLimit, "memory-limit", defaultMemoryLimit, "soft limit of the Go heap, as GOMEMLIMIT (which wins when set and this flag is not): past it the collector runs sooner than --gc-percent says")
	addRepsFlags(f, &opts.reps)
	return cmd
}

// defaultBudget is leadq serve's --budget: a decision takes microseconds,
// so a tenth of a second is only ever reached by a loop whose length a
// lead's value sets (any(1..lead.employees, ...)); see leadq check's
// costly-condition warning.
const defaultBudget = 100 * time.Millisecond

// defaultMemoryLimit is leadq serve's GOMEMLIMIT. With --gc-percent 400 the
// heap may grow to five times what is live before a collection: a few
// rulesets keep that to tens of MB, but a thousand hold 50-80 MB live, and
// the heap then grew past 400 MB of RSS. Past this soft limit the
// collector runs as often as it must (up to half the CPU, by Go's own
// cap), so RSS stays near it whatever the number of rulesets; below it,
// nothing changes (BENCHMARKS.md, reloads).
const defaultMemoryLimit = "192MiB"

// defaultGCPercent is leadq serve's GOGC. The server's live heap is small
// (the rulesets and caches, a few MB) and every decision allocates a few
// KB that die with the request, so at Go's default of 100 the collector
// runs many times a second and took a tenth of the CPU under load
// (BENCHMARKS.md, HTTP). Collecting at 400% costs tens of MB, not more.
const defaultGCPercent = 400

// gcPercent decides who sets the collector's target: --gc-percent when it
// is given or GOGC is not, GOGC otherwise. It returns the setting in force,
// for the log, and whether runServe must apply the flag's value.
func gcPercent(flagGiven bool, flag int, env string) (setting string, set bool) {
	if flagGiven || env == "" {
		return strconv.Itoa(flag), true
	}
	return env, false
}

func runServe(ctx context.Context, e *env, opts serveOptions) error {
	gogc, set := gcPercent(opts.gcFlag, opts.gcPercent, os.Getenv("GOGC"))
	if set {
		debug.SetGCPercent(opts.gcPercent)
	}
	maxBody, err := parseSize(opts.maxBody)
	if err != nil {
		return &usageError{fmt.Errorf("--max-body: %w", err)}
	}
	if opts.budget < 0 {
		return &usageError{fmt.Errorf("--budget %v: a time is not negative (0 turns the budget off)", opts.budget)}
	}
	if opts.memLimit != "" && (opts.memFlag || os.Getenv("GOMEMLIMIT") == "") {
		limit, err := parseSize(opts.memLimit)
		if err != nil {
			return &usageError{fmt.Errorf("--memory-limit: %w", err)}
		}
		debug.SetMemoryLimit(limit)
	}
	log, err := newLogger(e, opts.logLevel, opts.logFormat)
	if err != nil {
		return err
	}
	tokens, err := readTokens(opts, os.Getenv(tokensEnv))
	if err != nil {
		return err
	}
	if opts.open && tokens.Len() > 0 {
		return &usageError{errors.New("--insecure-open serves lead data without a token, and tokens are given: drop one (with tokens, give a read token to whoever reads lead data)")}
	}
	if opts.open {
		log.Warn("--insecure-open: anyone who reaches this address can read logged leads (/v1/decisions, /v1/stats, /v1/preview)", "addr", opts.addr)
	}

	eng := engine.New(engine.Paths(opts.rules...),
		engine.WithLogger(log),
		engine.WithStrict(opts.strict),
		engine.WithAllowRemove(opts.remove),
		engine.WithBudget(opts.budget),
		engine.WithOnReload(func(version string, err error) {
			logRuleErrors(log, err)
			if opts.onReload != nil {
				opts.onReload(version, err)
			}
		}))
	if err := eng.Reload(ctx); err != nil {
		log.Error("the rules do not compile; serving with /readyz at 503 until a reload succeeds", "rules", opts.rules)
	}
	if opts.watch {
		w, err := eng.Watch(ctx, opts.rules...)
		if err != nil {
			return err
		}
		defer w.Close()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := readBuildInfo()
	if err := build.register(reg); err != nil {
		return err
	}
	mapOpts, err := inputMapOptions(opts.inputMaps, opts.mapOf)
	if err != nil {
		return err
	}
	repsOpts, closeReps, reloadAccounts, err := openReps(ctx, opts.reps, opts.watch, log)
	if err != nil {
		return err
	}
	repsOpts = append(repsOpts, mapOpts...)
	defer closeReps() // after the HTTP server's shutdown: writes what the log buffers
	srv, err := server.New(eng, append([]server.Option{
		server.WithLogger(log),
		server.WithTokens(tokens),
		server.WithInsecureOpen(opts.open),
		server.WithMaxBody(maxBody),
		server.WithTimeout(opts.timeout),
		server.WithRegistry(reg),
		server.WithDefaultRuleset(opts.ruleset)}, repsOpts...)...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: opts.timeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown ends open NDJSON streams at their next line, instead of
	// waiting for them until the grace period cuts them off.
	hs.RegisterOnShutdown(srv.Drain)

	// SIGHUP reloads through the same Engine.Reload as the watcher and
	// POST /-/reload, and reloads the account file and the token file too
	// (a rotation: add the new token, reload, retire the old one, reload).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupDone := make(chan struct{})
	hupCtx, stopHUP := context.WithCancel(ctx)
	go func() {
		defer close(hupDone)
		for {
			select {
			case <-hupCtx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the rules")
				_ = eng.Reload(hupCtx) // logged and reported by the engine
				if reloadAccounts != nil {
					log.Info("SIGHUP: reloading the accounts")
					_ = reloadAccounts(hupCtx) // logged by the directory; the last good accounts stay
				}
				if opts.tokenFile != "" {
					reloadTokens(log, srv, opts)
				}
			}
		}
	}()
	defer func() { stopHUP(); <-hupDone }()

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "version", build.String(), "rules", opts.rules, "tokens", tokens.Len(), "lead_data", leadDataAccess(tokens, opts.open), "max_body", maxBody, "timeout", opts.timeout, "budget", opts.budget, "gogc", gogc)
	if opts.listening != nil {
		opts.listening(ln.Addr())
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing requests in flight", "grace", opts.grace)
	if opts.shuttingDown != nil {
		opts.shuttingDown()
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still running after the grace period were cut off", "err", err)
		hs.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// tokensEnv holds tokens as --token-file does, for a secret mounted as an
// environment variable.
const tokensEnv = "LEADQ_TOKENS"

// readTokens reads --token-file and LEADQ_TOKENS. --token is refused with
// the way to give a token: on a command line it would be visible to every
// user of the machine (ps) and in shell history.
func readTokens(opts serveOptions, env string) (server.Tokens, error) {
	if opts.token != "" {
		return server.Tokens{}, &usageError{errors.New("--token is not accepted: a token on the command line shows in ps and shell history; put it in a file and pass --token-file FILE, or set " + tokensEnv)}
	}
	var tokens server.Tokens
	if opts.tokenFile != "" {
		data, err := os.ReadFile(opts.tokenFile)
		if err != nil {
			return tokens, fmt.Errorf("--token-file: %w", err)
		}
		if tokens, err = server.ParseTokens(string(data)); err != nil {
			return tokens, fmt.Errorf("--token-file %s: %w", opts.tokenFile, err)
		}
		if tokens.Len() == 0 {
			return tokens, fmt.Errorf("--token-file %s holds no token", opts.tokenFile)
		}
	}
	if env != "" {
		more, err := server.ParseTokens(env)
		if err != nil {
			return tokens, fmt.Errorf("%s: %w", tokensEnv, err)
		}
		tokens = tokens.Merge(more)
	}
	return tokens, nil
}

// reloadTokens reads the token file (and LEADQ_TOKENS) again and gives
// the server the tokens; on an error the server keeps the ones it has.
func reloadTokens(log *slog.Logger, srv *server.Server, opts serveOptions) {
	tokens, err := readTokens(opts, os.Getenv(tokensEnv))
	if err == nil {
		err = srv.SetTokens(tokens)
	}
	if err != nil {
		log.Error("SIGHUP: the tokens were not reloaded; the last ones stay", "err", err)
		return
	}
	log.Info("SIGHUP: tokens reloaded", "tokens", tokens.Len(), "lead_data", leadDataAccess(tokens, false))
}

// leadDataAccess says, for the startup log, who may read lead data.
func leadDataAccess(tokens server.Tokens, open bool) string {
	switch {
	case tokens.Len() > 0:
		return fmt.Sprintf("%d read or admin tokens", tokens.Count(server.ScopeRead))
	case open:
		return "open to anyone (--insecure-open)"
	}
	return "closed (no token; --insecure-open opens it)"
}

// logRuleErrors logs each rule error of a failed reload on its own line,
// file:line:col first, as leadq check prints them.
func logRuleErrors(log *slog.Logger, err error) {
	var list rules.ErrorList
	if !errors.As(err, &list) {
		return
	}
	for _, e := range list {
		log.Error("rule error", "at", e.Pos.String(), "code", e.Code, "msg", e.Msg)
	}
}

func newLogger(e *env, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{fmt.Errorf("--log-level %q: use debug, info, warn or error", level)}
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, o)), nil
	}
	return nil, &usageError{fmt.Errorf("--log-format %q: use text or json", format)}
}

// parseSize reads a byte size: a number with an optional unit B, KB, MB,
// GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), in any case.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1},
	}
	num, mult := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size like 1MiB, 512KiB or 1048576", s)
	}
	return n * mult, nil
}
