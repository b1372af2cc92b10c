package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/api/client"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

func newCancelCmd(g *globalFlags) *cobra.Command {
	f := &goOnFlags{}
	var comment string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Stop a run: running actions are cancelled and the undo of finished steps runs",
		Long: `Cancel a run and record who asked.

The request is recorded in the journal. A run being executed by another
steward process, on this host or another one sharing the store, sees it
within a second (at its lease's next heartbeat) and stops as Ctrl-C would:
running actions are cancelled, the undo of the steps that finished runs,
and the run ends cancelled; cancel waits for that (at most --wait). No
signal is sent to any process. A run that waits for an approval or was
interrupted is cancelled here: no step starts, and the undo of finished
steps runs in this process.

Exit status: 0 the run is cancelled (or had already ended), 1 it could not
be cancelled, 2 no such run, or its runbook no longer validates here (a
plugin it uses was removed, say: nothing ran).

` + runIDHelp + "\n\n" + serverHelp,
		Example:           `  steward cancel 20261121-101502-3fa9c2d1 --comment "customer withdrew the request"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunID(g, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return cancelRun(cmd, g, f, args[0], comment, wait)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&comment, "comment", "", "why: recorded with the request")
	cmd.Flags().DurationVar(&wait, "wait", time.Minute, "how long to wait for another process to stop the run")
	return cmd
}

func cancelRun(cmd *cobra.Command, g *globalFlags, f *goOnFlags, id, comment string, wait time.Duration) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	if c, err := g.remote(); c != nil || err != nil {
		if err != nil {
			return err
		}
		return cancelRemote(cmd, c, cfg, f, id, comment)
	}
	svc, err := newService(cmd, g, cfg)
	if err != nil {
		return err
	}
	defer svc.close()
	if id, err = resolveRunID(cmd, svc.Service, id); err != nil {
		return err
	}
	creq, err := svc.continueRequest(id, actor(f.actor), f.inputs)
	if err != nil {
		return err
	}
	errw := cmd.ErrOrStderr()
	ctx, stop := interruptible(errw)
	defer stop()
	// The progress of a cancellation executed here: the run's runbook is
	// known only once the service has loaded it.
	var out *runOutput
	progress := engine.SinkFunc(func(e *engine.Event) {
		if out != nil && out.progress != nil {
			out.progress.Event(e)
		}
	})
	prepare := func(rb *schema.Runbook) {
		out = newRunOutput(cmd, cfg, f.output, f.progress, rb)
		out.runID = id
	}
	res, err := svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: creq, Comment: comment, Wait: wait, Progress: progress, Prepared: prepare})
	var ended *runs.EndedError
	var sub *runs.SubRunError
	switch {
	case errors.As(err, &ended):
		fmt.Fprintf(errw, "run %s already ended: %s; nothing to cancel\n", printable.Line(id), printable.Line(ended.Status))
		return nil
	case errors.As(err, &sub):
		return usageError("run %s is a sub-run of %s: cancel the run it belongs to (steward cancel %s)", id, sub.Parent, sub.Root)
	case err != nil && out != nil:
		return out.finish(nil, err)
	case err != nil:
		printDiagnostics(errw, err)
		return serviceError(id, err)
	}
	if res.Result == nil {
		fmt.Fprintf(errw, "run %s is %s\n", printable.Line(id), printable.Line(string(res.Status)))
		return nil
	}
	return cancelled(out.finish(res.Result, nil))
}

// cancelled is the exit status of a cancellation shown: 0 when the run
// ended cancelled (or failed: its undo failed), as asked.
func cancelled(err error) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.code == exitFailed && ee.err == nil {
		return nil // cancelled, as asked
	}
	return err
}

// cancelRemote is cancelRun with --server: the server cancels the run
// and waits for it to end (it executes the undo of a waiting or
// interrupted run itself); this shows how it ended, from the records
// after the last one before, as a cancellation executed here is shown.
func cancelRemote(cmd *cobra.Command, c *client.Client, cfg *config.Config, f *goOnFlags, id, comment string) error {
	if err := refuseAs(cmd); err != nil {
		return err
	}
	secrets, err := parseSecretInputs(f.inputs)
	if err != nil {
		return err
	}
	errw := cmd.ErrOrStderr()
	doc, err := getRemote(cmd, c, id)
	if err != nil {
		return err
	}
	id = doc.Run.ID
	_, err = c.Cancel(cmd.Context(), id, api.CancelRequest{Comment: comment, Inputs: secrets})
	switch {
	case isProblem(err, "ended"):
		if doc, err = c.Get(cmd.Context(), id); err != nil {
			return remoteError(errw, id, err)
		}
		fmt.Fprintf(errw, "run %s already ended: %s; nothing to cancel\n", printable.Line(id), printable.Line(doc.Run.Status))
		return nil
	case isProblem(err, "sub-run"):
		return usageError("%v: cancel the run it belongs to", err)
	case err != nil:
		return remoteError(errw, id, err)
	}
	ctx, stop := interruptible(errw)
	defer stop()
	rb, _ := remoteRunbook(ctx, c, doc.Run.Runbook, doc.Steps)
	out := newRunOutput(cmd, cfg, f.output, f.progress, rb)
	out.runID = id
	res, err := follow(ctx, c, errw, id, lastSeq(doc), out.progress)
	return cancelled(out.finish(res, remoteError(errw, id, err)))
}
