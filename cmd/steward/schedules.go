package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/schedule"
)

func newSchedulesCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "List the schedules of the runbooks, with their next and last fire",
		Long: `List every schedule that steward serve fires: each schedule: entry of the
runbooks in the folders of steward.yaml (runbooks:), named RUNBOOK, or
RUNBOOK/N (N from 0) when a runbook has several. Bundled runbooks are not
scheduled: copy one into a folder to schedule it.

For each: its cron spec and time zone, its catchup and overlap policies,
its next slot, whether it is paused (and by whom), and its last fire as the
journal under --home records it: the slot, the run, and its status, or
"skipped: REASON" for a slot that did not fire. It reads the local store
and needs no server. docs/schedules.md describes the fields and rules.`,
		Example: `  steward schedules
  steward schedules -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			cfg, err := g.loadConfig(cmd)
			if err != nil {
				return err
			}
			svc, err := newService(cmd, g, cfg)
			if err != nil {
				return err
			}
			defer svc.close()
			// A runbook that cannot run is not scheduled: say so on stderr.
			warn := slog.New(warnings{cmd.ErrOrStderr()})
			s, err := schedule.New(schedule.Config{Runs: svc.Service, Store: svc.store, Folders: cfg.Folders(), NoWatch: true,
				Logger: warn, CatchupWindow: cfg.Schedules.CatchupWindow, CatchupMax: cfg.Schedules.CatchupMax})
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			list, err := s.List(cmd.Context())
			if err != nil {
				return &exitError{code: exitFailed, err: err}
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), list)
			}
			if len(list) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no schedules")
				return nil
			}
			return schedulesText(cmd, list)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// schedulesText writes the schedules as a table.
func schedulesText(cmd *cobra.Command, list []schedule.Status) error {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "SCHEDULE\tCRON\tTIMEZONE\tSTATE\tNEXT\tLAST\tRUN\tOUTCOME")
	stamp := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	for _, st := range list {
		state := "active"
		if st.Paused {
			state = "paused by " + st.PausedBy
		}
		next := "-"
		if !st.Next.IsZero() {
			next = stamp(st.Next)
		}
		last, run, outcome := "-", "-", "-"
		if st.Last != nil {
			last, run, outcome = stamp(st.Last.Slot), st.Last.RunID, st.Last.Outcome
			if st.Last.Manual {
				outcome += " (fired by hand)"
			}
		}
		line := printable.Line
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", line(st.Name), line(st.Cron), st.Timezone, line(state), next, last, run, line(outcome))
	}
	return w.Flush()
}

// warnings writes the scheduler's warnings (a runbook that cannot run) as
// the CLI writes problems: the message, then the diagnostics as rendered.
type warnings struct{ w io.Writer }

func (h warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h warnings) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h warnings) WithGroup(string) slog.Handler                { return h }

func (h warnings) Handle(_ context.Context, r slog.Record) error {
	var rb, diags string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "runbook":
			rb = a.Value.String()
		case "diagnostics":
			diags = a.Value.String()
		}
		return true
	})
	msg := strings.TrimPrefix(r.Message, "schedule: ")
	if rb != "" {
		msg = "runbook " + rb + ": " + msg
	}
	_, err := fmt.Fprint(h.w, printable.String(msg+"\n"+diags))
	return err
}
