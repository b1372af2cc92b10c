package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

func newShowCmd(g *globalFlags) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show one run from the journal: steps, inputs, outputs, approvals, timeline",
		Long: `Show everything the journal recorded of one run: where it came from
(runbook, content hash, Git commit, host), who started it, its inputs and
outputs (secrets are "***": they were redacted before they were stored),
each step with its attempts and duration, every approval decision with
who and why, what it waits for, and the timeline of its records.`,
		Example: `  steward show 20261121-101502-3fa9c2d1
  steward show 20261121-101502-3fa9c2d1 -o json | jq .steps`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError("unknown output format %q: use text or json", output)
			}
			store, err := openStore(g)
			if err != nil {
				return err
			}
			defer store.Close()
			st, err := loadRun(cmd.Context(), store, args[0])
			if err != nil {
				return err
			}
			st.Run.Status = liveStatus(cmd, store, st.Run)
			doc := showDoc(st)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), doc)
			}
			renderShow(cmd.OutOrStdout(), doc)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// shown is the document of steward show -o json.
type shown struct {
	Run       journal.Run          `json:"run"`
	Origin    journal.Origin       `json:"origin"`
	Inputs    map[string]any       `json:"inputs"`
	Outputs   map[string]any       `json:"outputs,omitempty"`
	Error     *engine.ErrorInfo    `json:"error,omitempty"`
	Steps     []*engine.StepResult `json:"steps"`
	Approvals []*journal.Decision  `json:"approvals"`
	Waiting   []*journal.Waiting   `json:"waiting"`
	Timeline  []timelineEntry      `json:"timeline"`
}

type timelineEntry struct {
	Seq  int64           `json:"seq"`
	Time time.Time       `json:"time"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func showDoc(st *journal.State) *shown {
	d := &shown{Run: st.Run, Origin: st.Origin, Inputs: st.Inputs, Outputs: st.Outputs, Error: st.Error,
		Steps: st.Steps, Approvals: st.Decisions, Waiting: st.Waiting}
	if d.Approvals == nil {
		d.Approvals = []*journal.Decision{}
	}
	if d.Waiting == nil {
		d.Waiting = []*journal.Waiting{}
	}
	for _, r := range st.Records {
		d.Timeline = append(d.Timeline, timelineEntry{Seq: r.Seq, Time: r.Time, Type: r.Type, Data: r.Data})
	}
	return d
}

func renderShow(w io.Writer, d *shown) {
	r := d.Run
	fmt.Fprintf(w, "run %s: %s %s\n", r.ID, r.Runbook, r.Status)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	row("runbook", fmt.Sprintf("%s (sha256 %s)", d.Origin.File, short(r.Version)))
	row("commit", d.Origin.Commit)
	row("actor", r.Actor)
	row("host", fmt.Sprintf("%s, pid %d", r.Host, r.PID))
	if r.DryRun {
		row("dry-run", "yes")
	}
	row("started", r.StartedAt.Local().Format(time.RFC3339Nano))
	if !r.FinishedAt.IsZero() {
		row("finished", fmt.Sprintf("%s (%s)", r.FinishedAt.Local().Format(time.RFC3339Nano), r.FinishedAt.Sub(r.StartedAt).Round(time.Microsecond)))
	}
	row("inputs", compact(d.Inputs))
	if len(d.Outputs) > 0 {
		row("outputs", compact(d.Outputs))
	}
	if d.Error != nil {
		row("error", fmt.Sprintf("%s (%s)", d.Error.Message, d.Error.Code))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nsteps")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tACTION\tSTATUS\tATTEMPTS\tDURATION\tDETAIL")
	for _, s := range d.Steps {
		id := s.ID
		if s.Phase != "" {
			id += " (" + string(s.Phase) + ")"
		}
		detail := s.Reason
		if s.Error != nil {
			detail = s.Error.Message
		} else if s.Outputs != nil {
			detail = compact(s.Outputs)
		}
		dur := "-"
		if s.Duration > 0 {
			dur = time.Duration(s.Duration).Round(time.Microsecond).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", id, s.Action, s.Status, s.Attempts, dur, clip(detail, 80))
	}
	tw.Flush()

	if len(d.Approvals) > 0 {
		fmt.Fprintln(w, "\napprovals")
		for _, a := range d.Approvals {
			verb := "approved"
			if !a.Approved {
				verb = "denied"
			}
			what := "step " + a.Step
			if a.Interrupted {
				what += " (run again after interruption)"
			}
			line := fmt.Sprintf("  %s %s by %s at %s", what, verb, a.By, a.Time.Local().Format(time.RFC3339))
			if a.Comment != "" {
				line += ": " + a.Comment
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(d.Waiting) > 0 && (r.Status == "waiting") {
		fmt.Fprintln(w, "\nwaiting")
		for _, x := range d.Waiting {
			fmt.Fprintf(w, "  step %s since %s: %s\n    steward approve %s %s [--deny] --comment \"...\"\n",
				x.Step, x.Since.Local().Format(time.RFC3339), x.Message, r.ID, x.Step)
		}
	}
	fmt.Fprintln(w, "\ntimeline")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range d.Timeline {
		fmt.Fprintf(tw, "  %d\t+%s\t%s\t%s\n", e.Seq, e.Time.Sub(r.StartedAt).Round(time.Microsecond), e.Type, clip(describe(e.Data), 100))
	}
	tw.Flush()
}

// describe is a record's payload as key=value words, step first.
func describe(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return string(raw)
	}
	var parts []string
	if s, ok := m["step"].(string); ok {
		parts = append(parts, s)
		delete(m, "step")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+compact(m[k]))
	}
	return strings.Join(parts, " ")
}

func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
