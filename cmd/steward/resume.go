package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
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
	fl.StringVar(&f.actor, "as", "", "who you are (default: your user name)")
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

Exit status: as steward run.`,
		Example: `  steward resume 20261121-101502-3fa9c2d1
  steward resume 20261121-101502-3fa9c2d1 --input api_token="$TOKEN"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			return goOn(cmd, g, f, args[0], nil)
		},
	}
	f.register(cmd)
	return cmd
}

// goOn continues a run; before, when set, runs first, once everything
// the run needs to go on (its runbook, secret inputs) has been checked: it
// records a decision, and the run goes on from the journal as it is then.
func goOn(cmd *cobra.Command, g *globalFlags, f *goOnFlags, id string, before func(*execution, *journal.State) error) error {
	store, err := openStore(g)
	if err != nil {
		return err
	}
	defer store.Close()
	st, err := loadRun(cmd.Context(), store, id)
	if err != nil {
		return err
	}
	if st.Run.Parent != "" {
		return usageError("run %s is a sub-run of %s: it goes on with its parent (steward resume %s)", id, st.Run.Parent, rootRun(id))
	}
	if st.Terminal() {
		fmt.Fprintf(cmd.ErrOrStderr(), "run %s already ended: %s; nothing to resume\n", id, st.Run.Status)
		return exitForStatus(st.Run.Status)
	}
	if live, err := store.Live(cmd.Context(), id); err == nil && live {
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s is running in process %d on %s: nothing to resume", id, st.Run.PID, st.Run.Host)}
	}
	by := actor(f.actor)
	x, inputs, err := continuation(cmd, g, store, st, f.inputs, by)
	if err != nil {
		return err
	}
	defer x.close()
	if before != nil {
		if err := before(x, st); err != nil {
			return err
		}
		if st, err = loadRun(cmd.Context(), store, id); err != nil {
			return err
		}
		x.resumeFrom(st, by)
	}
	x.output, x.progress = f.output, f.progress
	return x.execute(inputs)
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

// stepOf finds a main step of a runbook.
func stepOf(rb *schema.Runbook, id string) *schema.Step {
	for _, s := range rb.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}
