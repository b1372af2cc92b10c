package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
)

type goOnFlags struct {
	inputs   []string
	actor    string
	output   string
	progress string
}

func (f *goOnFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "a secret input again, as NAME=VALUE (the journal never keeps them)")
	fl.Var((*identity)(&f.actor), "as", "who you are (default: your user name)")
	fl.StringVarP(&f.output, "output", "o", "text", "text, or json: print only the final run document")
	fl.StringVar(&f.progress, "progress", "auto", "auto, live or plain")
}

func (f *goOnFlags) check() error { return checkOutput(f.output, f.progress) }

// checkOutput checks the -o and --progress flags of the commands that run.
func checkOutput(output, progress string) error {
	if output != "text" && output != "json" {
		return usageError("unknown output format %q: use text or json", output)
	}
	if progress != "auto" && progress != "live" && progress != "plain" {
		return usageError("unknown progress style %q: use auto, live or plain", progress)
	}
	return nil
}

func newResumeCmd(g *globalFlags) *cobra.Command {
	f := &goOnFlags{}
	cmd := &cobra.Command{
		Use:   "resume RUN_ID",
		Short: "Continue a run that was interrupted or has been approved",
		Long: `Continue a run from where the journal says it stopped: its process was
killed, the machine restarted, or it waited for an approval that has now
been decided.

Steps that finished are not run again; their recorded outputs are used.
A step that did not finish runs again with the same idempotency key when
its action is read-only or idempotent. When an attempt of an action that
mutates and is not idempotent was interrupted, nobody knows whether it
took effect: the run waits for a person to check and decide with
steward approve RUN_ID STEP (run it again) or --deny (fail the step).

The run goes on with the exact runbook version it started with, kept in
the journal. Secret inputs are never kept: give them again with --input.

Exit status: as steward run.

` + runIDHelp + "\n\n" + serverHelp,
		Example: `  steward resume 20261121-101502-3fa9c2d1
  steward resume 20261121-101502-3fa9c2d1 --input api_token="$TOKEN"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunID(g, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if c, err := g.remote(); c != nil || err != nil {
				if err != nil {
					return err
				}
				return goOnRemote(cmd, g, c, f, args[0], nil)
			}
			return goOn(cmd, g, f, args[0], "", nil)
		},
	}
	f.register(cmd)
	return cmd
}

// goOn continues a run; before, when set, runs first, once everything
// the run needs to go on (its runbook, secret inputs) has been checked: it
// records a decision on step deciding, and the run goes on from the
// journal as it is then.
func goOn(cmd *cobra.Command, g *globalFlags, f *goOnFlags, id, deciding string, before func(*service, *runs.Continuation) error) error {
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	svc, err := newService(cmd, g, cfg)
	if err != nil {
		return err
	}
	defer svc.close()
	if id, err = resolveRunID(cmd, svc.Service, id); err != nil {
		return err
	}
	req, err := svc.continueRequest(id, actor(f.actor), f.inputs)
	if err != nil {
		return err
	}
	req.Deciding = deciding
	c, err := svc.Continue(cmd.Context(), req)
	nothing := "nothing to resume"
	if before != nil {
		nothing = "nothing to decide"
	}
	var ended *runs.EndedError
	var sub *runs.SubRunError
	var busy *journal.BusyError
	switch {
	case errors.As(err, &ended):
		fmt.Fprintf(cmd.ErrOrStderr(), "run %s already ended: %s; %s\n", printable.Line(id), printable.Line(ended.Status), nothing)
		return exitForStatus(ended.Status)
	case errors.As(err, &sub):
		return usageError("run %s is a sub-run of %s: it goes on with its parent (steward resume %s)", id, sub.Parent, sub.Root)
	case errors.As(err, &busy):
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s is running in process %d on %s: %s", id, busy.Lease.PID, busy.Lease.Host, nothing)}
	case err != nil:
		printDiagnostics(cmd.ErrOrStderr(), err)
		return serviceError(id, err)
	}
	if before != nil {
		if err := before(svc, c); err != nil {
			return err
		}
	}
	ctx, stop := interruptible(cmd.ErrOrStderr())
	defer stop()
	out := newRunOutput(cmd, cfg, f.output, f.progress, c.Runbook())
	// The run that goes on: a decision on a sub-run's step continues its
	// top run.
	out.runID = c.State().Run.ID
	res, err := c.Run(ctx, out.progress)
	return out.finish(res, err)
}

func exitForStatus(status string) error {
	switch engine.Status(status) {
	case engine.StatusSucceeded:
		return nil
	case engine.StatusWaiting:
		return &exitError{code: exitWaiting}
	}
	return &exitError{code: exitFailed}
}
