// Package server is leadq's HTTP face: it scores leads for lead-routing
// systems (one lead, a JSON batch, an NDJSON stream), lists the live
// rulesets with their versions and last reload error, triggers reloads, and
// serves health, readiness, Prometheus metrics and its OpenAPI description.
//
// The server translates and the engine decides: every route is listed in
// routes.go, every error leaves through writeError as {"code", "message",
// "errors"}, and the engine's rulesets, reloads and watching stay in package
// engine (the server observes them through Engine.Status). A Server is an
// http.Handler; the caller owns the http.Server, its listener and shutdown.
//
// Concurrency: a Server is safe for concurrent use and holds no lock on the
// scoring path; a decision is computed against one ruleset version, and a
// batch against one version for all its leads.
package server
