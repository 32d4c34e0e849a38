package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes lists every route the server answers, with the query parameters
// each reads (none unless listed; wrap refuses the others). openapi.yaml
// describes exactly these (TestOpenAPIMatchesRoutes and
// TestOpenAPIQueryParameters keep the two in step); anything else is a
// JSON 404, or a 405 for a known path.
func (s *Server) routes() []route {
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
	anonymous := promhttp.HandlerFor(openMetrics{s.reg}, promhttp.HandlerOpts{})
	scoreQuery := []string{"ruleset", "map", "strict", "detail"} // parseQuery's
	return append([]route{
		{method: "POST", path: "/v1/score", scope: ScopeScore, query: scoreQuery, handle: s.score},
		{method: "POST", path: "/v1/score/batch", scope: ScopeScore, query: scoreQuery, handle: s.scoreBatch},
		{method: "POST", path: "/v1/score/stream", scope: ScopeScore, stream: true, query: scoreQuery, handle: s.scoreStream},
		{method: "GET", path: "/v1/rulesets", scope: ScopeScore, handle: s.rulesets},
		{method: "POST", path: "/-/reload", scope: ScopeAdmin, handle: s.reload},
		// Probes, scrapers and tools add what their configuration says
		// (Prometheus's params:, a cache buster): these read nothing of
		// it and refuse nothing.
		{method: "GET", path: "/healthz", anyQuery: true, handle: s.healthz},
		{method: "GET", path: "/readyz", anyQuery: true, handle: s.readyz},
		{method: "GET", path: "/metrics", anyQuery: true, handle: func(w http.ResponseWriter, r *http.Request) error {
			if s.mayDetail(r) {
				metrics.ServeHTTP(w, r)
			} else {
				anonymous.ServeHTTP(w, r) // without rule ids and versions
			}
			return nil
		}},
		{method: "GET", path: "/openapi.json", anyQuery: true, handle: s.openapi},
	}, s.repsRoutes()...) // decision log lookups, preview, the reps' page (reps.go)
}
