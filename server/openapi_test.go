package server

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/leadq/leadq/engine"
	"gopkg.in/yaml.v3"
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
		if rt.scope != "" {
			auth = " (bearer)"
		}
		path := strings.TrimSuffix(rt.path, "{$}") // the mux's "this path exactly"
		inCode = append(inCode, rt.method+" "+path+auth)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			// security: [] is open; [{}, {bearer: []}] is open with
			// more for a token (/metrics, /readyz); every route says.
			if op.Security == nil {
				t.Errorf("%s %s has no security: say [] for an open route", strings.ToUpper(method), path)
			}
			auth := ""
			if len(op.Security) > 0 && !slices.ContainsFunc(op.Security, func(req map[string][]string) bool { return len(req) == 0 }) {
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

// schemaKeywords are the keywords openapi.yaml's schemas may use.
var schemaKeywords = map[string]bool{
	"type": true, "properties": true, "items": true, "required": true, "description": true, "enum": true,
	"const": true, "oneOf": true, "anyOf": true, "allOf": true, "$ref": true, "additionalProperties": true,
	"format": true, "default": true, "minimum": true, "maximum": true, "example": true, "examples": true,
}

// TestOpenAPISchemasWellFormed walks every schema of openapi.yaml: each key
// is a schema keyword, and each property is a schema. A plain-style
// description with a comma in a flow mapping, {type: integer, description:
// Of those, how many.}, is two keys to YAML, and made a stray property.
func TestOpenAPISchemasWellFormed(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatal(err)
	}
	var checkSchema func(where string, v any)
	checkSchema = func(where string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: a schema is a mapping, got %T %v", where, v, v)
			return
		}
		for k, sub := range m {
			switch {
			case !schemaKeywords[k]:
				t.Errorf("%s: %q is not a schema keyword (a description with a comma in a flow mapping? quote it)", where, k)
			case k == "properties":
				props, ok := sub.(map[string]any)
				if !ok {
					t.Errorf("%s.properties: not a mapping", where)
					continue
				}
				for name, p := range props {
					checkSchema(where+".properties."+name, p)
				}
			case k == "items" || (k == "additionalProperties" && sub != true && sub != false):
				checkSchema(where+"."+k, sub)
			case k == "oneOf" || k == "anyOf" || k == "allOf":
				list, _ := sub.([]any)
				for i, s := range list {
					checkSchema(fmt.Sprintf("%s.%s[%d]", where, k, i), s)
				}
			}
		}
	}
	// Schemas sit under components.schemas and under every "schema" key.
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if k == "schema" {
					checkSchema(where+".schema", sub)
					continue
				}
				walk(where+"."+k, sub)
			}
		case []any:
			for i, sub := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), sub)
			}
		}
	}
	walk("paths", doc["paths"])
	components, _ := doc["components"].(map[string]any)
	walk("components.parameters", components["parameters"])
	walk("components.responses", components["responses"])
	schemas, _ := components["schemas"].(map[string]any)
	if len(schemas) == 0 {
		t.Fatal("no components.schemas")
	}
	for name, sch := range schemas {
		checkSchema("components.schemas."+name, sch)
	}
}

// TestOpenAPIQueryParameters keeps each route's query parameters (the
// table in routes.go, which the server holds requests to) and the
// document's in step, and has every route that refuses unknown
// parameters document its 400.
func TestOpenAPIQueryParameters(t *testing.T) {
	data, err := openapiJSON()
	if err != nil {
		t.Fatal(err)
	}
	type param struct {
		Ref  string `json:"$ref"`
		Name string `json:"name"`
		In   string `json:"in"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []param                    `json:"parameters"`
			Responses  map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	s, err := New(engine.New(engine.Static()))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range s.routes() {
		path := strings.TrimSuffix(rt.path, "{$}")
		op, ok := doc.Paths[path][strings.ToLower(rt.method)]
		if !ok {
			continue // TestOpenAPIMatchesRoutes reports it
		}
		documented := []string{}
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "query" {
				documented = append(documented, p.Name)
			}
		}
		if rt.anyQuery {
			continue // the page reads q, and takes whatever a link carries
		}
		read := append([]string{}, rt.query...)
		slices.Sort(read)
		slices.Sort(documented)
		if diff := cmp.Diff(read, documented); diff != "" {
			t.Errorf("%s %s: query parameters differ (-routes.go +openapi.yaml):\n%s", rt.method, path, diff)
		}
		if _, ok := op.Responses["400"]; !ok {
			t.Errorf("%s %s refuses unknown query parameters, but openapi.yaml lists no 400", rt.method, path)
		}
	}
}
