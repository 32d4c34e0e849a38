package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes lists every route the server answers. openapi.yaml describes
// exactly these (TestOpenAPIMatchesRoutes keeps the two in step); anything
// else is a JSON 404, or a 405 for a known path.
func (s *Server) routes() []route {
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
	return append([]route{
		{method: "POST", path: "/v1/score", auth: true, handle: s.score},
		{method: "POST", path: "/v1/score/batch", auth: true, handle: s.scoreBatch},
		{method: "POST", path: "/v1/score/stream", auth: true, stream: true, handle: s.scoreStream},
		{method: "GET", path: "/v1/rulesets", auth: true, handle: s.rulesets},
		{method: "POST", path: "/-/reload", auth: true, handle: s.reload},
		{method: "GET", path: "/healthz", handle: s.healthz},
		{method: "GET", path: "/readyz", handle: s.readyz},
		{method: "GET", path: "/metrics", handle: func(w http.ResponseWriter, r *http.Request) error {
			metrics.ServeHTTP(w, r)
			return nil
		}},
		{method: "GET", path: "/openapi.json", handle: s.openapi},
	}, s.repsRoutes()...) // decision log lookups, preview, the reps' page (reps.go)
}
