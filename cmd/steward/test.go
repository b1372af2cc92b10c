package main

import (
	"fmt"
	"os"
	"regexp"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runtest"
)

func newTestCmd(g *globalFlags) *cobra.Command {
	var verbose bool
	var filter string
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run runbook tests (*.test.yaml) with mocked actions",
		Long: `Run runbook test files: NAME.test.yaml beside NAME.yaml. Each case runs the
runbook with its inputs, mocked actions and approval decisions, and checks
the run's status, error and outputs, and each step's status, attempts,
error, outputs and resolved with. File format: docs/runbook-tests.md.

Every action that is not core.* must be mocked, by step id or by action
name; core.* actions run for real unless mocked. The with of a plugin's
action is checked against its schema when the plugin is installed (its
process may be started to learn it, never to run an action); a plugin
that is not installed needs nothing but the mocks. Runs use a virtual
clock: retry delays and core.sleep take no time, and timeouts never fire.

Approvals follow the rules of steward approve: the groups of steward.yaml
(approvals.groups, with those a test file gives under groups:), four eyes
(the case's actor cannot approve unless approvals.allow_self_approval),
and a decision by someone the step's approvers do not allow is refused:
the step keeps waiting. A group:NAME nobody defines fails the step.

PATH is a test file, a runbook (its test file is used) or a folder, searched
recursively for *.test.yaml and *.test.yml, skipping hidden folders.
Without a PATH, ./runbooks is searched.

Output is in the style of go test: a --- FAIL line for each failing case
with every reason at FILE:LINE, one ok or FAIL line per file, and last
"N passed, M failed". -v also shows passing cases.

It always works here, on the files named, even with --server set: nothing
is sent to steward serve.

Exit status: 0 when every case passed, 1 when any failed, 2 when a test
file or its runbook is invalid (the other files still run).`,
		Example: `  steward test
  steward test runbooks/check-endpoint.test.yaml -v
  steward test runbooks/ --run 'retry'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			re, err := regexp.Compile(filter)
			if err != nil {
				return usageError("--run: %v", err)
			}
			if len(args) == 0 {
				if _, err := os.Stat("runbooks"); err != nil {
					return usageError("no PATH given and ./runbooks does not exist; try: steward test FILE_OR_FOLDER")
				}
				args = []string{"runbooks"}
			}
			files, err := runtest.Find(args)
			if err != nil {
				return &exitError{code: exitInvalid, err: err}
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			reg := builtins(clockwork.NewRealClock(), nil)
			host, err := openPlugins(cmd, g, cfg, reg, nil)
			if err != nil {
				return err
			}
			defer host.Close()
			opts := runtest.Options{Registry: reg, Verbose: verbose, Policy: policy(cfg)}
			if filter != "" {
				opts.Run = re
			}
			// Test output quotes what actions returned: escaped.
			out := printable.NewWriter(cmd.OutOrStdout())
			sum := runtest.RunFiles(cmd.Context(), out, files, opts)
			if err := out.Flush(); err != nil {
				return err
			}
			switch {
			case sum.Invalid > 0:
				return &exitError{code: exitInvalid, err: fmt.Errorf("%s invalid", plural(sum.Invalid, "test file"))}
			case sum.Failed > 0:
				return &exitError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show every case, passing ones too")
	cmd.Flags().StringVar(&filter, "run", "", "run only the cases whose RUNBOOK/CASE NAME matches this regular expression")
	return cmd
}
