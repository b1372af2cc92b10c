package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/journal"
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

Who may decide: one of the step's approval.approvers (names, or groups
defined in steward.yaml under approvals.groups), or anyone when it lists
none, but never the person who started the run unless steward.yaml sets
approvals.allow_self_approval. A decision after the approval's timeout is
refused and the step fails.

Identity is your OS user name, or --as NAME. Locally that is only as
strong as the OS account that runs steward: anyone who can run steward as
you can approve as you. The server (steward serve) will authenticate it.

Exit status: as steward run; 1 also when the decision is refused.`,
		Example: `  steward approve 20261121-101502-3fa9c2d1 refund --comment "checked ticket 4711"
  steward approve 20261121-101502-3fa9c2d1 refund --deny --comment "wrong card"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			id, step := args[0], args[1]
			return goOn(cmd, g, f, id, func(x *execution, st *journal.State) error {
				return decide(x, st, step, !deny, comment, actor(f.actor))
			})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&deny, "deny", false, "deny: the step fails (and the run with it, unless it continues on error)")
	cmd.Flags().StringVar(&comment, "comment", "", "why: recorded with the decision")
	return cmd
}

// decide checks that by may decide step of the run x goes on with, and
// records the decision.
func decide(x *execution, st *journal.State, step string, approved bool, comment, by string) error {
	w, err := st.WaitingFor(step)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	var approvers []string
	var timeout time.Duration
	if s := stepOf(x.rb, step); s != nil && s.Approval != nil {
		approvers, timeout = s.Approval.Approvers, s.Approval.Timeout
	}
	if w.Approvers != nil && !w.Interrupted {
		// As resolved when the step asked: approvers may be templates.
		approvers = w.Approvers
	}
	errw := x.cmd.ErrOrStderr()
	now := time.Now()
	if !w.Interrupted && timeout > 0 && now.Sub(w.Since) >= timeout {
		// Nothing to record: the run goes on and the step fails.
		fmt.Fprintf(errw, "the approval of step %s timed out at %s: nobody decided within %s; the step fails\n",
			step, w.Since.Add(timeout).UTC().Format(time.RFC3339), timeout)
		return nil
	}
	policy := journal.Policy{Groups: x.cfg.Approvals.Groups, AllowSelfApproval: x.cfg.Approvals.AllowSelfApproval}
	if err := policy.MayDecide(st, w, by, approvers); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("refused: %w", err)}
	}
	data, err := json.Marshal(&journal.Data{Step: step, Approved: approved, By: by, Comment: comment, Interrupted: w.Interrupted})
	if err != nil {
		return err
	}
	_, err = x.store.Append(x.cmd.Context(), journal.Batch{RunID: st.Run.ID, Sync: true,
		Entries: []journal.Entry{{Type: journal.ApprovalDecided, Time: now, Data: data}}})
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	verb := "approved"
	if !approved {
		verb = "denied"
	}
	fmt.Fprintf(errw, "%s step %s of run %s as %s; the run goes on\n", verb, step, st.Run.ID, by)
	return nil
}
