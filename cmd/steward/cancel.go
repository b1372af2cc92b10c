package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/journal"
)

func newCancelCmd(g *globalFlags) *cobra.Command {
	f := &goOnFlags{}
	var comment string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Stop a run: running actions are cancelled and the undo of finished steps runs",
		Long: `Cancel a run and record who asked.

A run being run by another steward process on this host is sent SIGTERM,
as Ctrl-C would: that process cancels running actions, runs the undo of
the steps that finished, records the end and exits; cancel waits for it
(at most --wait). A run that waits for an approval or was interrupted is
cancelled here: no step starts, and the undo of finished steps runs in
this process.

Exit status: 0 the run is cancelled (or had already ended), 1 it could not
be cancelled, 2 no such run, or its runbook no longer validates here (a
plugin it uses was removed, say: nothing ran).`,
		Example: `  steward cancel 20261121-101502-3fa9c2d1 --comment "customer withdrew the request"`,
		Args:    cobra.ExactArgs(1),
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
	store, err := openStore(g)
	if err != nil {
		return err
	}
	defer store.Close()
	ctx := cmd.Context()
	st, err := loadRun(ctx, store, id)
	if err != nil {
		return err
	}
	errw := cmd.ErrOrStderr()
	if st.Run.Parent != "" {
		return usageError("run %s is a sub-run of %s: cancel the run it belongs to (steward cancel %s)", id, st.Run.Parent, rootRun(id))
	}
	if st.Terminal() {
		fmt.Fprintf(errw, "run %s already ended: %s; nothing to cancel\n", id, st.Run.Status)
		return nil
	}
	by := actor(f.actor)
	data, err := json.Marshal(&journal.Data{By: by, Comment: comment})
	if err != nil {
		return err
	}
	if _, err := store.Append(ctx, journal.Batch{RunID: id, Sync: true,
		Entries: []journal.Entry{{Type: journal.CancelRequested, Time: time.Now(), Data: data}}}); err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	live, err := store.Live(ctx, id)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if !live {
		x, inputs, err := continuation(cmd, g, store, st, f.inputs, by)
		if err != nil {
			return err
		}
		defer x.close()
		x.output, x.progress, x.cancelled = f.output, f.progress, true
		err = x.execute(inputs)
		var ee *exitError
		if errors.As(err, &ee) && ee.code == exitFailed && ee.err == nil {
			return nil // cancelled, as asked
		}
		return err
	}
	host, _ := os.Hostname()
	if st.Run.Host != host || st.Run.PID <= 0 {
		return &exitError{code: exitFailed, err: fmt.Errorf("run %s is running on %s, not here: cancel it there", id, st.Run.Host)}
	}
	if err := syscall.Kill(st.Run.PID, syscall.SIGTERM); err != nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("signalling process %d of run %s: %w", st.Run.PID, id, err)}
	}
	fmt.Fprintf(errw, "asked process %d to cancel run %s; waiting while it runs the undo…\n", st.Run.PID, id)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if live, err := store.Live(ctx, id); err == nil && !live {
			run, err := store.Run(ctx, id)
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			fmt.Fprintf(errw, "run %s is %s\n", id, run.Status)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("run %s still runs after %s: its process %d has not stopped", id, wait, st.Run.PID)}
}
