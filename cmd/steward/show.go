package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/review"
	"github.com/stewardhq/steward/engine/runs"
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
who and why, what it waits for, and the timeline of its records: in the
order things happened, each with its place in the journal (seq), which
may differ when another process (cancel, say) wrote a record meanwhile.

-o markdown writes the same as a post-incident review reads it: what
started the run, what each step saw, who approved what and when, what
was sent to customers, and every record with its seq and hash prefix, to
check against the journal (steward audit verify). For the runs of one
incident together: steward incident timeline.

The run's status, actor, runbook and times are what its records say. The
runs list (what steward runs prints) is kept beside the records: when it
says otherwise, it was changed, and show prints a warning naming each
field (summary_mismatch in -o json); steward audit verify fails.

` + runIDHelp + "\n\n" + serverHelp,
		Example: `  steward show 20261121-101502-3fa9c2d1
  steward show 3fa9c2
  steward show 20261121-101502-3fa9c2d1 -o json | jq .steps
  steward show 20261121-101502-3fa9c2d1 -o markdown > review.md`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunID(g, ""),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" && output != "markdown" {
				return usageError("unknown output format %q: use text, json or markdown", output)
			}
			doc, err := showDocument(cmd, g, args[0])
			if err != nil {
				return err
			}
			switch output {
			case "json":
				return writeJSON(cmd.OutOrStdout(), doc)
			case "markdown":
				return review.WriteRun(cmd.OutOrStdout(), doc)
			}
			renderShow(cmd.OutOrStdout(), doc)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text, json or markdown")
	return cmd
}

// showDocument reads the document of run ref: from the journal under
// --home, or from --server.
func showDocument(cmd *cobra.Command, g *globalFlags, ref string) (*runs.Document, error) {
	c, err := g.remote()
	switch {
	case err != nil:
		return nil, err
	case c != nil:
		return getRemote(cmd, c, ref)
	}
	svc, closeStore, err := openRuns(cmd, g)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	id, err := resolveRunID(cmd, svc, ref)
	if err != nil {
		return nil, err
	}
	run, err := svc.Get(cmd.Context(), id)
	if err != nil {
		return nil, serviceError(id, err)
	}
	return runs.NewDocument(run.State), nil
}

func renderShow(w io.Writer, d *runs.Document) {
	r := d.Run
	// Whatever the journal holds (action output, names, comments) is
	// printed with its control characters escaped: see package printable.
	line := printable.Line
	fmt.Fprintf(w, "run %s: %s %s\n", line(r.ID), line(r.Runbook), line(r.Status))
	if len(d.SummaryMismatch) > 0 {
		fmt.Fprintln(w, "warning: the runs list does not match this run's records: it was changed; shown: what the records say")
		for _, m := range d.SummaryMismatch {
			fmt.Fprintf(w, "  %s\n", line(fmt.Sprint(m)))
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, line(v))
		}
	}
	row("runbook", fmt.Sprintf("%s (sha256 %s)", d.Origin.File, short(r.Version)))
	row("commit", d.Origin.Commit)
	if o := d.Origin; o.Source != "" { // read from a pinned Git or GitHub commit
		row("source", fmt.Sprintf("%s (%s)", o.Source, o.Repo))
		row("path", fmt.Sprintf("%s (blob %s)", o.Path, o.Blob))
	}
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", line(id), line(s.Action), line(string(s.Status)), s.Attempts, dur, clip(detail, 80))
	}
	tw.Flush()

	if len(d.Approvals) > 0 {
		fmt.Fprintln(w, "\napprovals")
		for _, a := range d.Approvals {
			verb := "approved"
			if !a.Approved {
				verb = "denied"
			}
			what := "step " + line(a.Step)
			if a.Interrupted {
				what += " (run again after interruption)"
			}
			text := fmt.Sprintf("  %s %s by %s at %s", what, verb, line(a.By), a.Time.Local().Format(time.RFC3339))
			if a.Comment != "" {
				text += ": " + line(a.Comment)
			}
			fmt.Fprintln(w, text)
		}
	}
	if len(d.Waiting) > 0 && (r.Status == "waiting") {
		fmt.Fprintln(w, "\nwaiting")
		for _, x := range d.Waiting {
			fmt.Fprintf(w, "  step %s since %s: %s\n    steward approve %s %s [--deny] --comment \"...\"\n",
				line(x.Step), x.Since.Local().Format(time.RFC3339), line(x.Message), line(r.ID), line(x.Step))
		}
	}
	fmt.Fprintln(w, "\ntimeline")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range d.Timeline {
		fmt.Fprintf(tw, "  %d\t+%s\t%s\t%s\n", e.Seq, e.Time.Sub(r.StartedAt).Round(time.Microsecond), line(e.Type), clip(describe(e.Data), 100))
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

// clip puts s on one line, its control characters escaped, and cuts it to
// at most n bytes, on a character boundary, ending with "…" when it cut.
func clip(s string, n int) string {
	s = printable.Line(strings.ReplaceAll(s, "\n", " "))
	if len(s) <= n {
		return s
	}
	i := n - 1
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
