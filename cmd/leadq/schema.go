package main

import (
	"github.com/leadq/leadq/rules"
	"github.com/spf13/cobra"
)

func newSchemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of rule files, for editor completion and validation",
		Long: `schema prints the JSON Schema (draft-07) of leadq rule files. Save it next to your rules
and name it in the first line of each rule file, and editors that use yaml-language-server
(VS Code with the YAML extension, Neovim, Helix, JetBrains, ...) complete keys, show their
documentation and flag structural mistakes as you type:

  leadq schema > leadq.schema.json

  # yaml-language-server: $schema=./leadq.schema.json
  ruleset: b2b-saas

The schema checks keys and kinds of values; leadq check also checks expressions, fields,
ids and tiers.`,
		Args: rangeArgs(0, 0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := e.stdout.Write(rules.Schema())
			return err
		},
	}
}
