package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/leadq/leadq/engine"
)

// TestUnknownQueryParameter: every route refuses a query parameter it does
// not read (?detial=brief was answered in full, as if absent), naming it
// and the route's own; the reps' page and the root, opened from links, and
// the probes, metrics and OpenAPI document, fetched by tools configured
// elsewhere, take any.
func TestUnknownQueryParameter(t *testing.T) {
	s, err := New(engine.New(engine.Static()), WithInsecureOpen(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range s.routes() {
		path := strings.TrimSuffix(strings.ReplaceAll(rt.path, "{id}", "0193a5c2-7e41-7b6e-9f3d-2c8e4a1b5d70"), "{$}")
		t.Run(rt.method+" "+path, func(t *testing.T) {
			// A known parameter beside the unknown one, if the route has one.
			query := "?detial=brief"
			if len(rt.query) > 0 {
				query += "&" + rt.query[0] + "=x"
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(rt.method, path+query, strings.NewReader("{}")))
			var body apiError
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rt.anyQuery {
				if rec.Code == http.StatusBadRequest {
					t.Fatalf("%s %s%s = 400 %+v; want the page, whatever the link carries", rt.method, path, query, body)
				}
				return
			}
			if rec.Code != http.StatusBadRequest || body.Code != "bad_parameter" {
				t.Fatalf("%s %s%s = %d %+v; want 400 bad_parameter", rt.method, path, query, rec.Code, body)
			}
			route := strings.TrimSuffix(rt.path, "{$}")
			if !strings.Contains(body.Message, `"detial"`) || !strings.Contains(body.Message, rt.method+" "+route+" takes") {
				t.Errorf("message %q; want it to name detial and what %s %s takes", body.Message, rt.method, route)
			}
			for _, p := range rt.query {
				if !strings.Contains(body.Message, p) {
					t.Errorf("message %q does not list the route's parameter %s", body.Message, p)
				}
			}
			if len(body.Errors) != 1 {
				t.Fatalf("errors = %v; want the unknown parameter", body.Errors)
			}
			if d, _ := body.Errors[0].(map[string]any); d["parameter"] != "detial" {
				t.Errorf("errors[0] = %v; want parameter detial", body.Errors[0])
			}
			if slices.Contains(rt.query, "detail") && !strings.Contains(body.Message, "did you mean detail?") {
				t.Errorf("message %q; want a did-you-mean of detail", body.Message)
			}
		})
	}
}
