package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestKubernetesManifests holds deploy/kubernetes to leadq serve: every
// flag the Deployment passes exists and parses, the port it listens on is
// the container's, the probes' paths answer 200 on a real server started
// with those flags, the Service and probes name the container's port, the
// Secret and ConfigMap hold what the Deployment reads, and the rules
// ConfigMap is examples/rulesets (-update rewrites it).
func TestKubernetesManifests(t *testing.T) {
	docs := map[string]map[string]any{} // by kind
	files, _ := filepath.Glob("../../deploy/kubernetes/*.yaml")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if kind, _ := doc["kind"].(string); kind != "" && kind != "Kustomization" {
				docs[kind] = doc
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret", "ConfigMap"} {
		if docs[kind] == nil {
			t.Fatalf("deploy/kubernetes has no %s", kind)
		}
	}
	dep := docs["Deployment"]
	if n := dig(dep, "spec", "replicas"); n != 3 {
		t.Errorf("Deployment replicas = %v; want 3", n)
	}
	podSpec := dig(dep, "spec", "template", "spec").(map[string]any)
	c := dig(podSpec, "containers").([]any)[0].(map[string]any)
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("container args %v; want leadq serve", args)
	}

	// Every flag exists in leadq serve, and the whole command line parses.
	cmd := newServeCmd(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	flags := map[string]string{}
	for _, a := range args[1:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || cmd.Flags().Lookup(name) == nil {
			t.Errorf("the Deployment passes %q, which leadq serve does not have", a)
		}
		flags[name] = value
	}
	if err := cmd.ParseFlags(args[1:]); err != nil {
		t.Errorf("leadq serve %v: %v", args[1:], err)
	}

	// The port.
	ports := map[string]int{}
	for _, p := range c["ports"].([]any) {
		p := p.(map[string]any)
		ports[p["name"].(string)] = p["containerPort"].(int)
	}
	_, port, _ := strings.Cut(flags["addr"], ":")
	if n, _ := strconv.Atoi(port); n == 0 || ports["http"] != n {
		t.Errorf("--addr %q; the container port http is %d", flags["addr"], ports["http"])
	}
	if tp := dig(docs["Service"], "spec", "ports").([]any)[0].(map[string]any)["targetPort"]; ports[fmt.Sprint(tp)] == 0 {
		t.Errorf("the Service's targetPort %v is no container port (%v)", tp, ports)
	}

	// The Secret and the ConfigMap hold what the Deployment reads.
	secret := docs["Secret"]
	secretData := dig(secret, "stringData").(map[string]any)
	for _, e := range c["env"].([]any) {
		ref := dig(e.(map[string]any), "valueFrom", "secretKeyRef").(map[string]any)
		if ref["name"] != dig(secret, "metadata", "name") || secretData[ref["key"].(string)] == nil {
			t.Errorf("env %v reads %v, which the Secret does not hold", e, ref)
		}
		if name := e.(map[string]any)["name"].(string); !strings.Contains(strings.Join(args, " "), "$("+name+")") {
			t.Errorf("env %s is not used in the args", name)
		}
	}
	mounts := map[string]string{}
	for _, m := range c["volumeMounts"].([]any) {
		m := m.(map[string]any)
		mounts[m["name"].(string)] = m["mountPath"].(string)
	}
	for _, v := range podSpec["volumes"].([]any) {
		v := v.(map[string]any)
		switch {
		case v["configMap"] != nil:
			if dig(v, "configMap", "name") != dig(docs["ConfigMap"], "metadata", "name") || mounts[v["name"].(string)] != flags["rules"] {
				t.Errorf("volume %v: want the rules ConfigMap mounted at --rules %s", v, flags["rules"])
			}
		case v["secret"] != nil:
			if dig(v, "secret", "secretName") != dig(secret, "metadata", "name") {
				t.Errorf("volume %v: no such Secret", v)
			}
			for _, it := range dig(v, "secret", "items").([]any) {
				it := it.(map[string]any)
				if secretData[it["key"].(string)] == nil || filepath.Join(mounts[v["name"].(string)], it["path"].(string)) != flags["token-file"] {
					t.Errorf("secret item %v: want the Secret's tokens at --token-file %s", it, flags["token-file"])
				}
			}
		}
	}
	for _, kind := range []string{"PodDisruptionBudget", "Service"} {
		sel := dig(docs[kind], "spec", "selector")
		if m, ok := sel.(map[string]any)["matchLabels"]; ok {
			sel = m
		}
		if fmt.Sprint(sel) != fmt.Sprint(dig(dep, "spec", "template", "metadata", "labels")) {
			t.Errorf("%s selects %v; the pods are labelled %v", kind, sel, dig(dep, "spec", "template", "metadata", "labels"))
		}
	}
	if dig(docs["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name") != dig(dep, "metadata", "name") || dig(docs["HorizontalPodAutoscaler"], "spec", "minReplicas") != 3 {
		t.Errorf("the HorizontalPodAutoscaler does not scale the Deployment from 3")
	}

	// The rules ConfigMap is examples/rulesets.
	rulesDir := t.TempDir()
	cm := dig(docs["ConfigMap"], "data").(map[string]any)
	examples, _ := filepath.Glob("../../examples/rulesets/*.yaml")
	if *update {
		writeRulesConfigMap(t, examples)
	}
	var names []string
	for _, f := range examples {
		want, _ := os.ReadFile(f)
		names = append(names, filepath.Base(f))
		if got, _ := cm[filepath.Base(f)].(string); got != string(want) {
			t.Errorf("rules-configmap.yaml's %s differs from examples/rulesets (go test ./cmd/leadq -run Kubernetes -update)", filepath.Base(f))
		}
	}
	for name, src := range cm {
		if !slices.Contains(names, name) {
			t.Errorf("rules-configmap.yaml has %s, which examples/rulesets has not", name)
		}
		os.WriteFile(filepath.Join(rulesDir, name), []byte(src.(string)), 0o644)
	}

	// The probes' paths answer 200 on leadq serve started with these flags
	// (the database and file paths are the test's own).
	tokenFile := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokenFile, []byte(secretData["tokens"].(string)), 0o600)
	opts := serveOptions{rules: []string{rulesDir}, tokenFile: tokenFile, ruleset: flags["default-ruleset"], watch: true}
	url, _, stderr, _ := testServe(t, opts)
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		get := dig(c, probe, "httpGet").(map[string]any)
		if ports[fmt.Sprint(get["port"])] == 0 {
			t.Errorf("%s port %v is no container port", probe, get["port"])
		}
		if code, body := request(t, "GET", url+get["path"].(string), "", ""); code != 200 {
			t.Errorf("%s GET %s = %d %s; want 200\n%s", probe, get["path"], code, body, stderr)
		}
	}
}

// dig walks nested YAML maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// writeRulesConfigMap rewrites deploy/kubernetes/rules-configmap.yaml from
// the example rule files.
func writeRulesConfigMap(t *testing.T, files []string) {
	path := "../../deploy/kubernetes/rules-configmap.yaml"
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(old), "\ndata:\n")
	var b strings.Builder
	b.WriteString(head + "\ndata:\n")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %s: |\n", filepath.Base(f))
		for _, line := range strings.Split(strings.TrimSuffix(string(src), "\n"), "\n") {
			if line != "" {
				b.WriteString("    " + line)
			}
			b.WriteString("\n")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
