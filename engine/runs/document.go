package runs

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// Document is everything the journal recorded of one run, as steward
// show -o json prints it and the HTTP API returns it: secrets are "***",
// redacted before they were stored.
type Document struct {
	Run journal.Run `json:"run"`
	// SummaryMismatch lists the fields of the runs list that differ from
	// the run's records (Run is what the records say): the list was
	// changed.
	SummaryMismatch []journal.Mismatch   `json:"summary_mismatch,omitempty"`
	Origin          journal.Origin       `json:"origin"`
	Inputs          map[string]any       `json:"inputs"`
	Outputs         map[string]any       `json:"outputs,omitempty"`
	Error           *engine.ErrorInfo    `json:"error,omitempty"`
	Steps           []*engine.StepResult `json:"steps"`
	Approvals       []*journal.Decision  `json:"approvals"`
	Waiting         []*journal.Waiting   `json:"waiting"`
	Timeline        []TimelineEntry      `json:"timeline"`
}

// TimelineEntry is one record of a run's timeline.
type TimelineEntry struct {
	Seq  int64           `json:"seq"`
	Time time.Time       `json:"time"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	// Hash is the record's SHA-256 in the hash chain: with Seq, where a
	// review can check it (steward audit verify).
	Hash string `json:"hash,omitempty"`
}

// NewDocument returns the document of a run's state.
func NewDocument(st *journal.State) *Document {
	d := &Document{Run: st.Run, SummaryMismatch: st.Mismatches, Origin: st.Origin, Inputs: st.Inputs, Outputs: st.Outputs, Error: st.Error,
		Steps: st.Steps, Approvals: st.Decisions, Waiting: st.Waiting}
	if d.Approvals == nil {
		d.Approvals = []*journal.Decision{}
	}
	if d.Waiting == nil {
		d.Waiting = []*journal.Waiting{}
	}
	for _, r := range st.Records {
		d.Timeline = append(d.Timeline, TimelineEntry{Seq: r.Seq, Time: r.Time, Type: r.Type, Data: r.Data, Hash: r.Hash})
	}
	// In the order things happened: the journal's order (seq) is the
	// order records were written, and a record another process wrote (a
	// cancel request, a decision) may be written after records of things
	// that happened later, which the executing process had not written
	// yet.
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].Time.Before(d.Timeline[j].Time) })
	return d
}
