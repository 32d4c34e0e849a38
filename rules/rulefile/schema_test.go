package rulefile

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	return s
}

// TestSchemaKeys keeps the schema in step with the decoder: every object
// the format defines lists exactly the keys Parse accepts, and requires
// exactly the keys Parse reports missing.
func TestSchemaKeys(t *testing.T) {
	s := loadSchema(t)
	defs := s["definitions"].(map[string]any)
	tests := []struct {
		name     string
		node     map[string]any
		keys     []string
		required []string
	}{
		{"file", s, fileKeys, []string{"ruleset"}},
		{"knockout", defs["knockout"].(map[string]any), knockoutKeys, []string{"id", "when", "reason"}},
		{"score rule", defs["scoreRule"].(map[string]any), scoreKeys, []string{"id", "when", "points"}},
		{"group", defs["group"].(map[string]any), []string{"max", "min"}, nil},
		{"field", defs["field"].(map[string]any), fieldKeys, []string{"type"}},
		{"tier", defs["tier"].(map[string]any), []string{"name", "min", "expect"}, []string{"name"}},
		{"test", defs["test"].(map[string]any), testKeys, []string{"name"}},
		{"expect", defs["expect"].(map[string]any), expectKeys, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for k := range tc.node["properties"].(map[string]any) {
				got = append(got, k)
			}
			if diff := cmp.Diff(sortedCopy(tc.keys), sortedCopy(got)); diff != "" {
				t.Errorf("schema properties differ from the keys Parse accepts (-decoder +schema):\n%s", diff)
			}
			var req []string
			for _, r := range asSlice(tc.node["required"]) {
				req = append(req, r.(string))
			}
			if diff := cmp.Diff(sortedCopy(tc.required), sortedCopy(req)); diff != "" {
				t.Errorf("schema required differs from Parse (-decoder +schema):\n%s", diff)
			}
			if tc.node["additionalProperties"] != false {
				t.Errorf("additionalProperties = %v; want false, as Parse rejects unknown keys", tc.node["additionalProperties"])
			}
		})
	}
	fieldTypes := defs["fieldType"].(map[string]any)["enum"]
	var enum []string
	for _, v := range fieldTypes.([]any) {
		enum = append(enum, v.(string))
	}
	if diff := cmp.Diff(sortedCopy(typeNames[1:]), sortedCopy(enum)); diff != "" {
		t.Errorf("field types (-decoder +schema):\n%s", diff)
	}
}

// TestSchemaValidatesExamples checks every example and good test file
// against the schema, and that files Parse rejects for their structure are
// rejected by the schema too.
func TestSchemaValidatesExamples(t *testing.T) {
	s := loadSchema(t)
	good, _ := filepath.Glob("../../examples/rulesets/*.yaml")
	more, _ := filepath.Glob("../testdata/good/*.yaml")
	good = append(good, more...)
	if len(good) < 3 {
		t.Fatalf("found %d example files", len(good))
	}
	for _, path := range good {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if errs := validateFile(t, s, path); len(errs) > 0 {
				t.Errorf("%s does not match the schema:\n%s", path, strings.Join(errs, "\n"))
			}
		})
	}
	if errs := validateFile(t, s, "../testdata/bad/unknown-keys.yaml"); len(errs) == 0 {
		t.Error("../testdata/bad/unknown-keys.yaml matches the schema; want unknown-key errors")
	}
}

// TestSchemaAgreesWithParse feeds small files to both the schema and Parse:
// structure the schema rejects, Parse rejects, and the other way round.
func TestSchemaAgreesWithParse(t *testing.T) {
	s := loadSchema(t)
	const head = "ruleset: x\n"
	tests := []struct {
		name  string
		src   string
		valid bool
	}{
		{"minimal", head, true},
		{"empty sections", head + "fields:\nlists:\nmacros:\nknockouts:\nscore:\ngroups:\ntiers:\ntests:\n", true},
		{"no ruleset", "fields: {lead.x: int}\n", false},
		{"ruleset not kebab", "ruleset: My_Rules\n", false},
		{"unknown top-level key", head + "rules: []\n", false},
		{"field without namespace", head + "fields: {employees: int}\n", false},
		{"unknown field type", head + "fields: {lead.x: integer}\n", false},
		{"field with a label", head + "fields: {lead.x: {type: float, label: Annual revenue, unit: USD}}\n", true},
		{"field long form with type only", head + "fields: {lead.x: {type: int}}\n", true},
		{"field long form without type", head + "fields: {lead.x: {label: X}}\n", false},
		{"field long form with a typo", head + "fields: {lead.x: {type: int, lable: X}}\n", false},
		{"field with an empty label", head + "fields: {lead.x: {type: int, label: ''}}\n", false},
		{"field long form with a bad type", head + "fields: {lead.x: {type: integer}}\n", false},
		{"list of lists", head + "lists: {l: [[a]]}\n", false},
		{"macro name with dash", head + "macros: {is-big: 'true'}\n", false},
		{"score rule", head + "score:\n  - {id: r, group: fit, when: lead.x > 1, points: 5, reason: r, description: d}\n", true},
		{"score rule without points", head + "score:\n  - {id: r, when: lead.x > 1}\n", false},
		{"zero points", head + "score:\n  - {id: r, when: lead.x > 1, points: 0}\n", false},
		{"text points", head + "score:\n  - {id: r, when: lead.x > 1, points: ten}\n", false},
		{"score rule with a typo", head + "score:\n  - {id: r, when: lead.x > 1, points: 5, reasn: x}\n", false},
		{"knockout", head + "knockouts:\n  - {id: k, when: lead.x > 1, reason: r}\n", true},
		{"knockout with points", head + "knockouts:\n  - {id: k, when: lead.x > 1, reason: r, points: 5}\n", false},
		{"knockout with a group", head + "knockouts:\n  - {id: k, when: lead.x > 1, reason: r, group: g}\n", false},
		{"knockout without reason", head + "knockouts:\n  - {id: k, when: lead.x > 1}\n", false},
		{"group caps", head + "groups: {fit: {max: 10, min: -5}}\n", true},
		{"group cap typo", head + "groups: {fit: {maximum: 10}}\n", false},
		{"tiers", head + "tiers: [{name: A, min: 10}, {name: B}]\n", true},
		{"tier without name", head + "tiers: [{min: 10}]\n", false},
		{"tier with text min", head + "tiers: [{name: A, min: high}]\n", false},
		{"qualify", head + "qualify: tier == \"A\"\n", true},
		{"test", head + "tests:\n  - name: t\n    now: 2026-11-01\n    lead: {x: 1}\n    account: {y: 2}\n    expect: {tier: A, qualified: true, score: 1, score_min: 0, score_max: 2, knockouts: [], matched: r, not_matched: [s], missing_fields: [lead.x], groups: {fit: 1}, warnings: lead.y}\n", true},
		{"test without name", head + "tests:\n  - lead: {x: 1}\n", false},
		{"test with bad now", head + "tests:\n  - {name: t, now: tomorrow}\n", false},
		{"expect typo", head + "tests:\n  - {name: t, expect: {teir: A}}\n", false},
		{"expect qualified text", head + "tests:\n  - {name: t, expect: {qualified: yes please}}\n", false},
		{"expect groups text", head + "tests:\n  - {name: t, expect: {groups: {fit: high}}}\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tc.src), &doc); err != nil {
				t.Fatal(err)
			}
			errs := validate(s, s, jsonish(doc), "")
			if got := len(errs) == 0; got != tc.valid {
				t.Errorf("schema valid = %t; want %t (errors: %q)", got, tc.valid, errs)
			}
			_, err := Parse("x.yaml", []byte(tc.src))
			if got := err == nil; got != tc.valid {
				t.Errorf("Parse valid = %t (%v); the schema says %t", got, err, tc.valid)
			}
		})
	}
}

func validateFile(t *testing.T, s map[string]any, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return validate(s, s, jsonish(doc), "")
}

// jsonish turns a decoded YAML document into what a JSON Schema validator
// sees: maps with string keys, float64 numbers, and timestamps as text.
func jsonish(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = jsonish(e)
		}
		return out
	case map[any]any:
		out := map[string]any{}
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonish(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonish(e)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return v
}

// validate checks v against the part of JSON Schema draft-07 schema.json
// uses: $ref, type, enum, const, not, pattern, properties, required,
// additionalProperties, propertyNames and items. It returns one message
// per problem, each with the path to the value.
func validate(root, s map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		at := path
		if at == "" {
			at = "/"
		}
		errs = append(errs, fmt.Sprintf("%s: %s", at, fmt.Sprintf(format, args...)))
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		def, ok := root["definitions"].(map[string]any)[name].(map[string]any)
		if !ok {
			fail("unresolved $ref %s", ref)
			return errs
		}
		return validate(root, def, v, path)
	}
	if alts, ok := s["oneOf"].([]any); ok {
		valid := 0
		for _, alt := range alts {
			if len(validate(root, alt.(map[string]any), v, path)) == 0 {
				valid++
			}
		}
		if valid != 1 {
			fail("%v matches %d of the %d alternatives of oneOf, want 1", v, valid, len(alts))
		}
	}
	if n, ok := s["minLength"].(float64); ok {
		if str, isStr := v.(string); isStr && float64(len([]rune(str))) < n {
			fail("%q is shorter than %v", str, n)
		}
	}
	if t, ok := s["type"]; ok {
		var types []string
		if one, ok := t.(string); ok {
			types = []string{one}
		}
		for _, x := range asSlice(t) {
			types = append(types, x.(string))
		}
		if !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
			fail("%s, want %s", jsonType(v), strings.Join(types, " or "))
			return errs
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v is not one of %v", v, enum)
	}
	if c, ok := s["const"]; ok && c != v {
		fail("%v, want %v", v, c)
	}
	if not, ok := s["not"].(map[string]any); ok && len(validate(root, not, v, path)) == 0 {
		fail("%v is not allowed", v)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asSlice(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				fail("missing %s", r)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if names, ok := s["propertyNames"].(map[string]any); ok {
				errs = append(errs, validate(root, names, k, path+"/"+k+" (name)")...)
			}
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, validate(root, ps, x[k], path+"/"+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown key %s", k)
				}
			case map[string]any:
				errs = append(errs, validate(root, ap, x[k], path+"/"+k)...)
			}
		}
	case []any:
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, validate(root, items, e, fmt.Sprintf("%s/%d", path, i))...)
			}
		}
	}
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
