package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// leadq version and leadq --version print the same line: version, VCS
// revision and Go version; --format json gives the fields.
func TestVersion(t *testing.T) {
	var lines []string
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("leadq %v: %v\n%s", args, err, stderr.String())
		}
		lines = append(lines, stdout.String())
	}
	if lines[0] != lines[1] || !strings.HasPrefix(lines[0], "leadq ") || !strings.Contains(lines[0], runtime.Version()) || !strings.Contains(lines[0], "revision ") {
		t.Errorf("leadq version = %q, leadq --version = %q; want one line with the version, revision and %s", lines[0], lines[1], runtime.Version())
	}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"version", "--format", "json"}, strings.NewReader(""), &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := json.Unmarshal(stdout.Bytes(), &b); err != nil || b.GoVersion != runtime.Version() || b.Version == "" || b.Revision == "" {
		t.Errorf("leadq version --format json = %s (%v)", stdout.String(), err)
	}
}

// leadq_build_info carries the same version, revision and Go version.
func TestBuildInfoMetric(t *testing.T) {
	b := buildInfo{Version: "v1.2.3", Revision: "abc123", GoVersion: "go1.26.8"}
	reg := prometheus.NewRegistry()
	if err := b.register(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "leadq_build_info" || len(mfs[0].Metric) != 1 {
		t.Fatalf("Gather = %v, %v; want leadq_build_info alone", mfs, err)
	}
	m := mfs[0].Metric[0]
	labels := map[string]string{}
	for _, l := range m.Label {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"version": "v1.2.3", "revision": "abc123", "goversion": "go1.26.8"}
	if m.GetGauge().GetValue() != 1 || len(labels) != 3 || labels["version"] != want["version"] || labels["revision"] != want["revision"] || labels["goversion"] != want["goversion"] {
		t.Errorf("leadq_build_info = %v %v; want 1 with %v", labels, m.GetGauge().GetValue(), want)
	}
}
