package main

import (
	"fmt"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/schema"
)

func newSchemaCmd(g *globalFlags) *cobra.Command {
	var withPlugins bool
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Print the runbook JSON Schema",
		Long: `Print the JSON Schema (draft 2020-12) of runbook format v1, with the
with: of every built-in action typed from the action's input schema: its
fields, their types, which are required, no unknown one. Any value may
also be a template (${{ }}). --plugins adds the actions of the installed
plugins (those steward plugins list describes: pinned, or any with
--allow-unpinned), their names and their with:.

Editors with yaml-language-server complete and check runbooks with it. Save it
and point a runbook at it with a first line such as, for a runbook in
runbooks/ and the schema saved at the top of the repository:

  # yaml-language-server: $schema=../runbook.schema.json

The path is relative to the runbook's file; or map the schema to runbook
files in the editor's yaml.schemas setting.

The schema checks structure only; "steward validate" also checks expressions,
references between steps and the dependency graph.`,
		Example: `  steward schema > runbook.schema.json
  steward schema --plugins > runbook.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs := builtins(clockwork.NewRealClock(), nil).Specs()
			if withPlugins {
				more, err := pluginSpecs(cmd, g)
				if err != nil {
					return err
				}
				specs = append(specs, more...)
			}
			acts := make([]schema.ActionSchema, len(specs))
			for i, s := range specs {
				acts[i] = schema.ActionSchema{Name: s.Name, Description: s.Description, Input: s.Input}
			}
			b, err := schema.JSONSchemaFor(acts)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&withPlugins, "plugins", false, "add the installed plugins' actions and their with:")
	return cmd
}

// pluginSpecs are the actions of the installed plugins that can be
// described; a plugin that cannot is named on stderr and left out.
func pluginSpecs(cmd *cobra.Command, g *globalFlags) ([]actions.Spec, error) {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	host, err := openPlugins(cmd, g, cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	defer host.Close()
	list, err := host.List(cmd.Context(), true)
	if err != nil {
		return nil, &exitError{code: exitFailed, err: err}
	}
	var specs []actions.Spec
	for _, in := range list {
		if in.Description == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "plugin %s left out: %s\n", printable.Line(in.Name), printable.Line(userMessage(in.Problem)))
			continue
		}
		specs = append(specs, in.Description.Actions...)
	}
	return specs, nil
}
