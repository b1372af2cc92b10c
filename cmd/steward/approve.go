package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

func newApproveCmd(g *globalFlags) *cobra.Command {
	f := &goOnFlags{}
	var deny bool
	var comment string
	cmd := &cobra.Command{
		Use:   "approve RUN_ID STEP",
		Short: "Approve (or --deny) a step a run waits for, then continue the run",
		Long: `Decide what a waiting run waits for, record the decision in the journal
with who decided and why, and continue the run in this process.

A run waits for a step's approval (its approval: in the runbook), or,
after a crash, for a decision to run again an interrupted action that
mutates and is not idempotent.

A run whose core.runbook step started a sub-run that waits waits too,
for the sub-run's question: name it by its path from the run,
steward approve RUN_ID STEP.SUBSTEP (the steward run and steward show of
the run print it), or by the sub-run's own id, steward approve
RUN_ID.STEP SUBSTEP. The decision is recorded in the sub-run; the run
goes on with the sub-run to its end, then with its own next steps.

Who may decide: one of the step's approval.approvers (names, or groups
defined in steward.yaml under approvals.groups), or anyone when it lists
none, but never the person who started the run unless steward.yaml sets
approvals.allow_self_approval. A decision after the approval's timeout is
refused and the step fails.

Identity is your OS user name, or --as NAME. Locally that is only as
strong as the OS account that runs steward: anyone who can run steward as
you can approve as you. The server (steward serve) will authenticate it.

One decision per question is recorded: when several people decide the
same step at once, the first decision recorded counts, and the others are
refused with who decided ("already decided by NAME"), exit status 1.

Exit status: as steward run; 1 also when the decision is refused.

` + runIDHelp + "\n\n" + serverHelp,
		Example: `  steward approve 20261121-101502-3fa9c2d1 refund --comment "checked ticket 4711"
  steward approve 20261121-101502-3fa9c2d1 refund --deny --comment "wrong card"`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return completeRunID(g, waitingStatus)(cmd, args, toComplete)
			}
			return completeWaitingStep(g)(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			id, step := args[0], args[1]
			req := runs.DecideRequest{Step: step, Approved: !deny, By: actor(f.actor), Comment: comment}
			if c, err := g.remote(); c != nil || err != nil {
				if err != nil {
					return err
				}
				return goOnRemote(cmd, g, c, f, id, &req)
			}
			return goOn(cmd, g, f, id, step, func(svc *service, c *runs.Continuation) error {
				return decide(cmd, c, req)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&deny, "deny", false, "deny: the step fails (and the run with it, unless it continues on error)")
	cmd.Flags().StringVar(&comment, "comment", "", "why: recorded with the decision")
	return cmd
}

// decide records a decision on what the continued run waits for.
func decide(cmd *cobra.Command, c *runs.Continuation, req runs.DecideRequest) error {
	errw := cmd.ErrOrStderr()
	d, err := c.Decide(cmd.Context(), req)
	var expired *runs.ExpiredError
	switch {
	case errors.As(err, &expired):
		// Nothing recorded: the run goes on and the step fails.
		fmt.Fprintln(errw, printable.String(expired.Error()))
		return nil
	case err != nil:
		return serviceError(c.State().Run.ID, err)
	}
	continues := continuesOnError(c.Runbook(), d.Step)
	// d.RunID is the sub-run's when the step is a sub-run's.
	reportDecision(errw, d.RunID, d.Step, d.By, d.Approved, &continues)
	return nil
}

// reportDecision tells, on errw, the decision recorded; continues says
// whether the step continues on error, nil when it is not known here
// (--server).
func reportDecision(errw io.Writer, runID, step, by string, approved bool, continues *bool) {
	what := fmt.Sprintf("step %s of run %s as %s", printable.Line(step), printable.Line(runID), printable.Line(by))
	switch {
	case approved:
		fmt.Fprintf(errw, "approved %s; the run goes on\n", what)
	case continues == nil:
		fmt.Fprintf(errw, "denied %s: the step fails; the run goes on only if it continues on error\n", what)
	case *continues:
		fmt.Fprintf(errw, "denied %s: the step fails; it continues on error, so the run goes on\n", what)
	default:
		fmt.Fprintf(errw, "denied %s: the step fails, and so does the run (the undo of finished steps and on_failure run)\n", what)
	}
}

// continuesOnError says whether the runbook's step id has
// continue_on_error.
func continuesOnError(rb *schema.Runbook, id string) bool {
	if rb == nil {
		return false
	}
	for _, st := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		if st.ID == id {
			return st.ContinueOnError
		}
	}
	return false
}
