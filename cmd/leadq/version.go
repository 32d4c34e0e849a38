package main

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// linkedVersion and linkedRevision are set when a release build links the
// binary (-ldflags "-X main.linkedVersion=v1.4.0 -X main.linkedRevision=…",
// as the Dockerfile does, whose build sees no .git); they win over what Go
// records, which is "(devel)" and no revision for a build outside a
// repository or with -buildvcs=false. They are constants of the build,
// never changed at run time.
var linkedVersion, linkedRevision string

// buildInfo is what the binary knows of its build, from
// runtime/debug.ReadBuildInfo: Go records the module version, the VCS
// revision, its time and whether the tree was modified when it builds
// from a repository.
type buildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	Time      string `json:"time,omitempty"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "devel", Revision: "unknown", GoVersion: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = info.GoVersion
		if v := info.Main.Version; v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if linkedVersion != "" {
		b.Version = linkedVersion
	}
	if linkedRevision != "" {
		b.Revision = linkedRevision
	}
	return b
}

// String is the one-line form of leadq version and leadq --version.
func (b buildInfo) String() string {
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if b.Modified {
		rev += "+modified"
	}
	return fmt.Sprintf("%s (revision %s, %s)", b.Version, rev, b.GoVersion)
}

// register adds leadq_build_info to reg, with the build as labels.
func (b buildInfo) register(reg prometheus.Registerer) error {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "leadq_build_info",
		Help: "Always 1; the labels say which build of leadq runs: its version, VCS revision and Go version.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	return reg.Register(g)
}

func newVersionCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print leadq's version, VCS revision and Go version",
		Args:  rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			b := readBuildInfo()
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			_, err := fmt.Fprintln(e.stdout, "leadq", b)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// versionTemplate is leadq --version's output: the same line as leadq
// version.
func versionTemplate() string {
	return "leadq " + strings.ReplaceAll(readBuildInfo().String(), "{", "{{`{`}}") + "\n"
}
