package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/api/client"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
)

// StatusInterrupted is how runs and show call a run that was running when
// its execution stopped (its lease is not live): only steward resume or
// cancel moves it on.
const StatusInterrupted = runs.StatusInterrupted

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
interrupted.

` + serverHelp,
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
	// The runs come from the journal under --home, or from --server.
	var read func(ctx context.Context, fn func(runs.Summary) error) error
	c, err := g.remote()
	switch {
	case err != nil:
		return err
	case c != nil:
		read = func(ctx context.Context, fn func(runs.Summary) error) error {
			err := c.List(ctx, client.ListRequest{Runbook: f.Runbook, Status: f.Status, Since: f.Since, Limit: f.Limit}, fn)
			return remoteError(cmd.ErrOrStderr(), "", err)
		}
	default:
		svc, closeStore, err := openRuns(cmd, g)
		if err != nil {
			return err
		}
		defer closeStore()
		read = func(ctx context.Context, fn func(runs.Summary) error) error {
			if err := svc.List(ctx, f, fn); err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		}
	}
	// Runs are written as the store reads them: the listing holds one at
	// a time, however long the journal.
	w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	var list runsWriter = &runsText{w: w}
	if output == "json" {
		list = &runsJSON{w: w}
	}
	n := 0
	var werr error
	err = read(cmd.Context(), func(r runs.Summary) error {
		if werr = list.add(r.Run); werr != nil {
			return werr
		}
		n++
		return nil
	})
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if n == 0 && output == "text" {
		fmt.Fprintln(cmd.ErrOrStderr(), "no runs")
		return nil
	}
	if err := list.end(); err != nil {
		return err
	}
	return w.Flush()
}

// runsWriter writes a listing of runs one by one.
type runsWriter interface {
	add(journal.Run) error
	end() error
}

// runsBlock is how many rows the text listing holds at once.
const runsBlock = 1000

// runsText writes the runs as a table aligned as text/tabwriter aligns
// one (each column as wide as its widest cell, plus two spaces), a block
// of runsBlock rows at a time: a block's columns are at least as wide as
// the block's before, so that they only shift for a wider cell.
type runsText struct {
	w      *bufio.Writer
	rows   [][6]string
	widths [5]int // of the columns but the last, which is not padded
	n      int
}

func (t *runsText) add(r journal.Run) error {
	if t.n == 0 {
		t.rows = append(t.rows, [6]string{"RUN", "RUNBOOK", "STATUS", "ACTOR", "STARTED", "DURATION"})
	}
	t.n++
	dur := "-"
	if !r.FinishedAt.IsZero() {
		dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
	}
	name := r.Runbook
	if r.DryRun {
		name += " (dry-run)"
	}
	line := printable.Line
	t.rows = append(t.rows, [6]string{line(r.ID), line(name), line(r.Status), line(r.Actor), r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur})
	if len(t.rows) >= runsBlock {
		return t.end()
	}
	return nil
}

// end writes the rows held.
func (t *runsText) end() error {
	for _, row := range t.rows {
		for i := range t.widths {
			t.widths[i] = max(t.widths[i], utf8.RuneCountInString(row[i]))
		}
	}
	for _, row := range t.rows {
		for i, w := range t.widths {
			t.w.WriteString(row[i])
			for range w + 2 - utf8.RuneCountInString(row[i]) {
				t.w.WriteByte(' ')
			}
		}
		t.w.WriteString(row[5])
		if err := t.w.WriteByte('\n'); err != nil {
			return err
		}
	}
	t.rows = t.rows[:0]
	return nil
}

// runsJSON writes the runs as a JSON array, as writeJSON writes a slice.
type runsJSON struct {
	w *bufio.Writer
	n int
}

func (j *runsJSON) add(r journal.Run) error {
	b, err := json.MarshalIndent(r, "  ", "  ")
	if err != nil {
		return err
	}
	if j.n == 0 {
		j.w.WriteString("[\n  ")
	} else {
		j.w.WriteString(",\n  ")
	}
	j.n++
	_, err = j.w.Write(printable.JSON(b))
	return err
}

func (j *runsJSON) end() error {
	if j.n == 0 {
		_, err := j.w.WriteString("[]\n")
		return err
	}
	_, err := j.w.WriteString("\n]\n")
	return err
}
