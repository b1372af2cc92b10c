package main

import (
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/schema"
)

func newSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the runbook JSON Schema",
		Long: `Print the JSON Schema (draft 2020-12) of runbook format v1.

Editors with yaml-language-server complete and check runbooks with it. Save it
and point a runbook at it with a first line such as:

  # yaml-language-server: $schema=./runbook.schema.json

The schema checks structure only; "steward validate" also checks expressions,
references between steps and the dependency graph.`,
		Example: "  steward schema > runbook.schema.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(schema.JSONSchema())
			return err
		},
	}
}
