package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// StatusInterrupted is how runs and show call a run that was running when
// its process died: only steward resume or cancel moves it on.
const StatusInterrupted = "interrupted"

func newRunsCmd(g *globalFlags) *cobra.Command {
	var f journal.Filter
	var output, since string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs from the journal, newest first",
		Long: `List the runs recorded in the journal under --home, newest first.

A run whose process died while it ran is shown as interrupted: continue it
with steward resume RUN_ID, or stop it with steward cancel RUN_ID.
--status accepts running, waiting, succeeded, failed, cancelled and
interrupted.`,
		Example: `  steward runs
  steward runs --status waiting
  steward runs --runbook refund --since 2026-11-01 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			if since != "" {
				t, err := parseSince(since)
				if err != nil {
					return err
				}
				f.Since = t
			}
			return listRuns(cmd, g, f, output)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Runbook, "runbook", "", "only runs of this runbook")
	fl.StringVar(&f.Status, "status", "", "only runs with this status")
	fl.IntVar(&f.Limit, "limit", 20, "at most this many runs (0: all)")
	fl.StringVar(&since, "since", "", "only runs started since this time (RFC 3339 or YYYY-MM-DD)")
	fl.StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func parseSince(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError("--since %q: write a time as 2026-11-21 or 2026-11-21T10:15:00Z", s)
}

func listRuns(cmd *cobra.Command, g *globalFlags, f journal.Filter, output string) error {
	switch f.Status {
	case "", StatusInterrupted, "running", "waiting", "succeeded", "failed", "cancelled":
	default:
		return usageError("unknown status %q: use running, waiting, succeeded, failed, cancelled or interrupted", f.Status)
	}
	if f.Limit < 0 {
		return usageError("--limit must be 0 or more")
	}
	store, err := openStore(g)
	if err != nil {
		return err
	}
	defer store.Close()
	want, limit := f.Status, f.Limit
	if want == StatusInterrupted || want == "running" {
		// Whether a running run is alive is known only here: filter after.
		f.Status, f.Limit = "running", 0
	}
	runs, err := store.Runs(cmd.Context(), f)
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	out := make([]journal.Run, 0, len(runs))
	for _, r := range runs {
		r.Status = liveStatus(cmd, store, r)
		if want == "" || r.Status == want {
			out = append(out, r)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	if output == "json" {
		return writeJSON(cmd.OutOrStdout(), out)
	}
	if len(out) == 0 {
		fmt.Fprintln(cmd.ErrOrStderr(), "no runs")
		return nil
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRUNBOOK\tSTATUS\tACTOR\tSTARTED\tDURATION")
	for _, r := range out {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		name := r.Runbook
		if r.DryRun {
			name += " (dry-run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, name, r.Status, r.Actor, r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur)
	}
	return tw.Flush()
}

// liveStatus is a run's status, with interrupted for a running run whose
// process is gone.
func liveStatus(cmd *cobra.Command, store journal.Store, r journal.Run) string {
	if r.Status != string(engine.StatusRunning) {
		return r.Status
	}
	if live, err := store.Live(cmd.Context(), rootRun(r.ID)); err == nil && !live {
		return StatusInterrupted
	}
	return r.Status
}

// rootRun is the top run of a sub-run's id (PARENT.STEP[.INDEX]): the one
// a process holds.
func rootRun(id string) string {
	root, _, _ := strings.Cut(id, ".")
	return root
}
