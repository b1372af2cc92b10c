// Package review writes what a post-incident review needs from the
// journal, as Markdown: for one run, or for the runs of one incident,
// what started them, what each step saw, who approved what and when, what
// was sent to customers, and every record with its place in the hash
// chain (seq and hash prefix) so that the review can be checked against
// the journal (steward audit verify). It reads runs.Documents: what the
// journal holds, secrets already redacted.
package review

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/runs"
)

// hashPrefix is how much of a record's hash the review shows: enough to
// tell records apart and find them in an export.
const hashPrefix = 12

// maxCell is the longest a table cell gets, in bytes.
const maxCell = 240

// WriteRun writes the review of one run.
func WriteRun(w io.Writer, d *runs.Document) error {
	b := &strings.Builder{}
	r := d.Run
	fmt.Fprintf(b, "# Run %s: %s (%s)\n\n", r.ID, text(r.Runbook), r.Status)
	writeFacts(b, d)
	writeSections(b, d, "##")
	b.WriteString("\n## Journal\n\n")
	writeRecords(b, []*runs.Document{d}, false)
	fmt.Fprintf(b, "\nCheck these records against the journal: `steward audit verify --run %s`.\n", r.ID)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteIncident writes the review of the runs of one incident (Linked's),
// oldest first: each run's facts and sections, then every record of all
// of them in the order things happened.
func WriteIncident(w io.Writer, id string, ds []*runs.Document) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# Incident %s\n\n", text(id))
	if len(ds) == 0 {
		fmt.Fprintf(b, "No run in the journal is linked to %s.\n", text(id))
		_, err := io.WriteString(w, b.String())
		return err
	}
	first, last := ds[0].Run.StartedAt, ds[0].Run.StartedAt
	for _, d := range ds {
		if t := d.Run.FinishedAt; t.After(last) {
			last = t
		}
	}
	fmt.Fprintf(b, "%d runs from %s to %s.\n\n", len(ds), stamp(first), stamp(last))
	b.WriteString("| run | runbook | status | actor | started | records |\n|---|---|---|---|---|---|\n")
	for _, d := range ds {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", d.Run.ID, cell(d.Run.Runbook), d.Run.Status, cell(d.Run.Actor), stamp(d.Run.StartedAt), seqRange(d))
	}
	for _, d := range ds {
		fmt.Fprintf(b, "\n## %s: %s (%s)\n\n", d.Run.ID, text(d.Run.Runbook), d.Run.Status)
		writeFacts(b, d)
		writeSections(b, d, "###")
	}
	b.WriteString("\n## Timeline\n\n")
	writeRecords(b, ds, true)
	b.WriteString("\nCheck these records against the journal: `steward audit verify`")
	for _, d := range ds {
		b.WriteString(" --run " + d.Run.ID)
	}
	b.WriteString(" (one run at a time).\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFacts(b *strings.Builder, d *runs.Document) {
	r := d.Run
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(b, "| %s | %s |\n", k, cell(v))
		}
	}
	row("runbook", fmt.Sprintf("%s (sha256 %s)", d.Origin.File, short(r.Version)))
	row("commit", d.Origin.Commit)
	row("actor", r.Actor)
	row("parent run", r.Parent)
	row("started", stamp(r.StartedAt))
	if !r.FinishedAt.IsZero() {
		row("finished", fmt.Sprintf("%s (%s)", stamp(r.FinishedAt), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond)))
	}
	if r.DryRun {
		row("dry-run", "yes: nothing that changes anything was executed")
	}
	if d.Error != nil {
		row("error", fmt.Sprintf("%s (%s)", d.Error.Message, d.Error.Code))
	}
	row("journal", seqRange(d))
}

// writeSections writes what started the run, what each step saw, the
// approvals and what was sent, each under a heading of level h.
func writeSections(b *strings.Builder, d *runs.Document, h string) {
	fmt.Fprintf(b, "\n%s What started it\n\n", h)
	if len(d.Inputs) == 0 {
		b.WriteString("No inputs.\n")
	} else {
		b.WriteString("| input | value |\n|---|---|\n")
		for _, k := range sortedKeys(d.Inputs) {
			fmt.Fprintf(b, "| %s | %s |\n", cell(k), cell(compact(d.Inputs[k])))
		}
	}
	fmt.Fprintf(b, "\n%s What each step saw\n\n", h)
	b.WriteString("| step | action | status | attempts | saw |\n|---|---|---|---|---|\n")
	for _, s := range d.Steps {
		id := s.ID
		if s.Phase != "" {
			id += " (" + string(s.Phase) + ")"
		}
		saw := s.Reason
		switch {
		case s.Error != nil:
			saw = string(s.Error.Code) + ": " + s.Error.Message
		case s.Outputs != nil:
			saw = compact(s.Outputs)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", cell(id), cell(s.Action), s.Status, s.Attempts, cell(saw))
	}
	fmt.Fprintf(b, "\n%s Approvals\n\n", h)
	if len(d.Approvals) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| step | decision | by | at | comment |\n|---|---|---|---|---|\n")
		for _, a := range d.Approvals {
			verb := "approved"
			if !a.Approved {
				verb = "denied"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(a.Step), verb, cell(a.By), stamp(a.Time), cell(a.Comment))
		}
	}
	for _, x := range d.Waiting {
		fmt.Fprintf(b, "\nWaiting since %s for a decision on step %s: %s\n", stamp(x.Since), text(x.Step), text(x.Message))
	}
	fmt.Fprintf(b, "\n%s Sent to customers\n\n", h)
	sent := false
	for _, k := range sortedKeys(d.Outputs) {
		if k == "reply" || strings.HasSuffix(k, "_reply") {
			if s, ok := d.Outputs[k].(string); ok && s != "" {
				fmt.Fprintf(b, "The %s drafted for the customer (outputs.%s):\n\n", strings.ReplaceAll(k, "_", " "), k)
				for _, line := range strings.Split(s, "\n") {
					b.WriteString(strings.TrimRight("> "+printable.Line(line), " ") + "\n")
				}
				sent = true
			}
		}
	}
	for _, s := range d.Steps {
		if strings.HasPrefix(s.Action, "notify.") && s.Status == "succeeded" {
			fmt.Fprintf(b, "- step %s (%s): %s\n", text(s.ID), s.Action, cell(compact(s.Outputs)))
			sent = true
		}
	}
	if !sent {
		b.WriteString("Nothing.\n")
	}
}

// writeRecords writes the records of ds as a table, in the order things
// happened; with run, a column names each record's run.
func writeRecords(b *strings.Builder, ds []*runs.Document, run bool) {
	type rec struct {
		run string
		e   runs.TimelineEntry
	}
	var all []rec
	for _, d := range ds {
		for _, e := range d.Timeline {
			all = append(all, rec{d.Run.ID, e})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].e.Time.Before(all[j].e.Time) })
	if run {
		b.WriteString("| time | run | seq | hash | record |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| time | seq | hash | record |\n|---|---|---|---|\n")
	}
	for _, r := range all {
		what := r.e.Type
		if d := describe(r.e.Data); d != "" {
			what += " " + d
		}
		if run {
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s |\n", stamp(r.e.Time), r.run, r.e.Seq, short(r.e.Hash), cell(what))
		} else {
			fmt.Fprintf(b, "| %s | %d | %s | %s |\n", stamp(r.e.Time), r.e.Seq, short(r.e.Hash), cell(what))
		}
	}
}

// seqRange says where a run's records are in the journal.
func seqRange(d *runs.Document) string {
	if len(d.Timeline) == 0 {
		return "no records"
	}
	lo, hi := d.Timeline[0], d.Timeline[0]
	for _, e := range d.Timeline {
		if e.Seq < lo.Seq {
			lo = e
		}
		if e.Seq > hi.Seq {
			hi = e
		}
	}
	return fmt.Sprintf("%d records, seq %d (%s) to %d (%s)", len(d.Timeline), lo.Seq, short(lo.Hash), hi.Seq, short(hi.Hash))
}

// describe is a record's data as key=value words, step first.
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
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+compact(m[k]))
	}
	return strings.Join(parts, " ")
}

// compact is v as one line of JSON (a string as it is), with <, > and &
// as they are: Markdown readers see the text.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// cell makes s one table cell: one line, control characters escaped, |
// escaped, at most maxCell bytes (cut with …).
func cell(s string) string {
	s = printable.Line(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", " "), "\n", " "))
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > maxCell {
		i := maxCell - 1
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// text is s on one line, for a heading or a sentence.
func text(s string) string { return printable.Line(strings.ReplaceAll(s, "\n", " ")) }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

func short(h string) string {
	if len(h) > hashPrefix {
		return h[:hashPrefix]
	}
	return h
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
