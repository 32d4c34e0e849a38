package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
)

// TestOpenAPIMatchesRoutes keeps openapi.yaml and routes.go in step: the
// same paths and methods, the bearer token required on the same routes, and
// every error code the document lists one the server can answer.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	data, err := openapiJSON()
	if err != nil {
		t.Fatalf("openapi.yaml does not convert to JSON: %v", err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q; want 3.x", doc.OpenAPI)
	}
	s, err := New(engine.New(engine.Static()))
	if err != nil {
		t.Fatal(err)
	}
	var inCode, inDoc []string
	for _, rt := range s.routes() {
		auth := ""
		if rt.auth {
			auth = " (bearer)"
		}
		path := strings.TrimSuffix(rt.path, "{$}") // the mux's "this path exactly"
		inCode = append(inCode, rt.method+" "+path+auth)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			auth := ""
			if len(op.Security) > 0 {
				auth = " (bearer)"
			}
			inDoc = append(inDoc, strings.ToUpper(method)+" "+path+auth)
		}
	}
	slices.Sort(inCode)
	slices.Sort(inDoc)
	if diff := cmp.Diff(inCode, inDoc); diff != "" {
		t.Errorf("routes.go and openapi.yaml differ (-routes +openapi):\n%s", diff)
	}
}

// TestOpenAPIErrorCodes checks that the codes the document lists are the
// codes the server answers with: each code listed appears in the server's
// source, and each code the source writes is listed.
func TestOpenAPIErrorCodes(t *testing.T) {
	data, err := openapiJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.Error.Properties.Code.Enum
	slices.Sort(documented)
	used := errorCodes(t)
	if diff := cmp.Diff(used, documented); diff != "" {
		t.Errorf("error codes in the code and in openapi.yaml differ (-code +openapi):\n%s", diff)
	}
}

// errorCodes collects the codes written in the server's source as
// `code: "..."` or `Code: "..."`.
func errorCodes(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\b[cC]ode:\s*"([a-z_]+)"`)
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			seen[string(m[1])] = true
		}
	}
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
