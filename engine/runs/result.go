package runs

import (
	"encoding/json"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// Result is the run as an execution returns it (what steward run prints
// at its end, and as -o json), rebuilt from the document: for a process
// that followed a run executing elsewhere (steward --server run). The
// steps are those the journal recorded, in the order they started; a
// step that never started has none.
func (d *Document) Result() *engine.Result {
	r := d.Run
	res := &engine.Result{ID: r.ID, Runbook: r.Runbook, Version: r.Version, Actor: r.Actor, DryRun: r.DryRun,
		Status: engine.Status(r.Status), StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Inputs: d.Inputs,
		Outputs: d.Outputs, Error: d.Error, Steps: make([]*engine.StepResult, len(d.Steps))}
	if res.Outputs == nil {
		res.Outputs = map[string]any{}
	}
	for i, s := range d.Steps {
		c := *s
		res.Steps[i] = &c
	}
	// The last run.finished says when the execution ended (a waiting run
	// has no FinishedAt) and how long the run took, its waits included.
	for i := len(d.Timeline) - 1; i >= 0; i-- {
		e := d.Timeline[i]
		if e.Type != string(engine.RunFinished) {
			continue
		}
		res.FinishedAt = e.Time
		var data journal.Data
		if json.Unmarshal(e.Data, &data) == nil {
			if v, err := time.ParseDuration(data.Duration); err == nil {
				res.Duration = engine.Duration(v)
			}
		}
		break
	}
	// Who may decide a waiting step is the question's.
	for _, w := range d.Waiting {
		for _, s := range res.Steps {
			if s.ID == w.Step && s.Status == engine.StatusWaiting {
				s.Approvers, s.Subjects, s.Interrupted = w.Approvers, w.Subjects, w.Interrupted
			}
		}
	}
	return res
}
