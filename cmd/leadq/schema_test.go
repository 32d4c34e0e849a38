package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/leadq/leadq/rules"
)

func TestSchemaCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"schema"}, strings.NewReader(""), &stdout, &stderr)
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("leadq schema: %v, stderr %q", err, stderr.String())
	}
	if !bytes.Equal(stdout.Bytes(), rules.Schema()) {
		t.Error("leadq schema does not print rules.Schema()")
	}
	var s map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil || s["$schema"] == nil {
		t.Errorf("leadq schema output is not a JSON Schema: %v", err)
	}
	cliGolden(t, "schema", "extra-arg", []string{"schema", "x"}, "")
}
