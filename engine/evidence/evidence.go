// Package evidence turns a finished run's journal records into audit
// evidence: the rows a runbook put in one of its outputs (an access
// review's decision per privileged grant, say), with the run's identity,
// its approvals (who decided, when, with which comment) and the run's
// position in the hash chain, so that an auditor can check the file
// against the journal (steward audit verify --head SEQ:HASH, or an export)
// instead of trusting it.
//
// The run's chain is verified first: a run whose records do not verify
// gives no evidence.
package evidence

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// Errors of Of, beside journal.ErrRunNotFound.
var (
	// ErrTampered: the run's records do not verify.
	ErrTampered = errors.New("evidence: tampering found")
	// ErrNotFinished: the run has not ended; evidence is of what was done.
	ErrNotFinished = errors.New("evidence: the run has not finished")
	// ErrNoRows: the output named is missing or is not a list of objects.
	ErrNoRows = errors.New("evidence: no rows")
)

// Document is the evidence of one run.
type Document struct {
	Run       Run              `json:"run"`
	Output    string           `json:"output"` // the run output the rows come from
	Rows      []map[string]any `json:"rows"`
	Approvals []Approval       `json:"approvals"`
	Journal   Position         `json:"journal"`
}

// Run identifies the run.
type Run struct {
	ID         string    `json:"id"`
	Runbook    string    `json:"runbook"`
	Version    string    `json:"version,omitempty"` // SHA-256 of the runbook's content
	Actor      string    `json:"actor,omitempty"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// Approval is a decision recorded in the run, with its record.
type Approval struct {
	Step     string    `json:"step"`
	By       string    `json:"by"`
	Approved bool      `json:"approved"`
	Comment  string    `json:"comment,omitempty"`
	Time     time.Time `json:"time"`
	Seq      int64     `json:"seq"`
	Hash     string    `json:"hash"`
}

// Position is the run's last run.finished record, which holds the
// outputs the rows come from: where the evidence sits in the hash chain.
type Position struct {
	Record   string `json:"record"`
	Seq      int64  `json:"seq"`
	Hash     string `json:"hash"`
	PrevHash string `json:"prev_hash"`
	// Verified: the run's records verified when the evidence was made.
	Verified bool `json:"verified"`
	// Verify is the command that checks the journal holds this record
	// with this hash, and that the chain up to and past it holds.
	Verify string `json:"verify"`
}

// Of reads the evidence of run runID from s: the rows of its output
// named output (a list of objects), after verifying the run's chain.
func Of(ctx context.Context, s journal.Store, runID, output string) (*Document, error) {
	rep, err := journal.Verify(ctx, s, runID)
	if err != nil {
		return nil, err
	}
	if rep.Problem != nil {
		return nil, fmt.Errorf("%w in run %s: %s", ErrTampered, runID, rep.Problem.Error())
	}
	doc := &Document{Output: output, Approvals: []Approval{}, Run: Run{ID: runID}}
	var outputs any
	err = s.Records(ctx, runID, time.Time{}, func(r journal.Record) error {
		d, err := r.Decode()
		if err != nil {
			return err
		}
		switch r.Type {
		case string(engine.RunStarted):
			doc.Run.Runbook, doc.Run.Version, doc.Run.Actor, doc.Run.StartedAt = d.Runbook, d.Version, d.Actor, r.Time
		case journal.ApprovalDecided:
			if !d.Interrupted {
				doc.Approvals = append(doc.Approvals, Approval{Step: d.Step, By: d.By, Approved: d.Approved, Comment: d.Comment,
					Time: r.Time, Seq: r.Seq, Hash: r.Hash})
			}
		case string(engine.RunFinished):
			doc.Run.Status, doc.Run.FinishedAt, outputs = string(d.Status), r.Time, d.Outputs
			doc.Journal = Position{Record: r.Type, Seq: r.Seq, Hash: r.Hash, PrevHash: r.PrevHash, Verified: true,
				Verify: fmt.Sprintf("steward audit verify --head %d:%s", r.Seq, r.Hash)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch engine.Status(doc.Run.Status) {
	case engine.StatusSucceeded, engine.StatusFailed, engine.StatusCancelled:
	default:
		// A run that stopped to wait records run.finished as waiting.
		status := doc.Run.Status
		if status == "" {
			status = "running"
		}
		return nil, fmt.Errorf("%w: run %s is %s: decide or resume it first", ErrNotFinished, runID, status)
	}
	doc.Rows, err = rows(outputs, output)
	if err != nil {
		return nil, fmt.Errorf("run %s (%s): %w", runID, doc.Run.Runbook, err)
	}
	return doc, nil
}

// rows are the objects of the output named.
func rows(outputs any, name string) ([]map[string]any, error) {
	m, _ := outputs.(map[string]any)
	v, ok := m[name]
	if !ok {
		have := slices.Sorted(maps.Keys(m))
		return nil, fmt.Errorf("%w: the run has no output %q (outputs: %s)", ErrNoRows, name, strings.Join(have, ", "))
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: output %q is not a list of objects", ErrNoRows, name)
	}
	out := make([]map[string]any, 0, len(list))
	for i, e := range list {
		row, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: output %q: item %d is not an object", ErrNoRows, name, i)
		}
		out = append(out, row)
	}
	return out, nil
}

// WriteJSON writes the document, indented.
func (d *Document) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Leading columns of the CSV, before the rows' own fields.
var csvColumns = []string{"run_id", "runbook", "journal_seq", "journal_hash", "approved_by", "approved_at"}

// WriteCSV writes one line per row: the run's id, the run.finished
// record's seq and hash, who approved and when (several approvals joined
// with "; "), then the rows' fields in name order. A nested value is
// written as JSON; a value a spreadsheet would take for a formula (it
// starts with =, +, -, @, a tab or a carriage return) is prefixed with '.
func (d *Document) WriteCSV(w io.Writer) error {
	keys := map[string]bool{}
	for _, r := range d.Rows {
		for k := range r {
			keys[k] = true
		}
	}
	fields := slices.Sorted(maps.Keys(keys))
	var by, at []string
	for _, a := range d.Approvals {
		if a.Approved {
			by, at = append(by, a.By), append(at, a.Time.UTC().Format(time.RFC3339))
		}
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append(slices.Clone(csvColumns), fields...)); err != nil {
		return err
	}
	lead := []string{d.Run.ID, d.Run.Runbook, fmt.Sprint(d.Journal.Seq), d.Journal.Hash, strings.Join(by, "; "), strings.Join(at, "; ")}
	for _, r := range d.Rows {
		rec := slices.Clone(lead)
		for _, f := range fields {
			rec = append(rec, cell(r[f]))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell renders a value for CSV.
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case bool, float64, int, int64:
		return fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		s = string(b)
	}
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	return s
}
