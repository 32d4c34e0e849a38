package rulefile

import (
	_ "embed"
	"slices"
)

//go:embed schema.json
var schema []byte

// Schema returns the JSON Schema (draft-07) of a rule file, for editors:
// with yaml-language-server (VS Code's YAML extension, and others), a file
// that starts with `# yaml-language-server: $schema=./leadq.schema.json`
// gets completion, hover docs and validation of its structure. It checks
// keys and value kinds only; expressions, field names and ids are checked
// by Compile. A test keeps it in step with what Parse accepts. The slice is
// the caller's.
func Schema() []byte { return slices.Clone(schema) }
