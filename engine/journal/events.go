package journal

import (
	"time"

	"github.com/stewardhq/steward/engine"
)

// Events returns the engine events a record of a run records, the inverse
// of what a Recorder writes: what a progress display shows of a run it
// follows from the journal (steward --server run) as it would show the
// run executing in its own process.
//
// A step.started record that holds its step's first attempt (the
// Recorder merges the two) gives back both events. A record that is not
// an engine event (approval.decided, run.cancel_requested,
// change.recorded) gives none.
func (r Record) Events() ([]*engine.Event, error) {
	switch r.Type {
	case ApprovalDecided, CancelRequested, ChangeRecorded:
		return nil, nil
	}
	d, err := r.Decode()
	if err != nil {
		return nil, err
	}
	e := &engine.Event{Type: engine.EventType(r.Type), Time: r.Time, RunID: r.RunID, Step: d.Step, Name: d.Name, Phase: d.Phase,
		Action: d.Action, Runbook: d.Runbook, Version: d.Version, Actor: d.Actor, DryRun: d.DryRun, Inputs: d.Inputs,
		Index: d.index(), Items: d.Items, Attempt: d.Attempt, With: d.With, Key: d.Key, Mutates: d.Mutates,
		Idempotent: d.Idempotent, Provider: d.Provider, Outputs: d.Outputs, Status: d.Status, Error: d.Error,
		Level: d.Level, Message: d.Message, Interrupted: d.Interrupted, Approvers: d.Approvers, Subjects: d.Subjects,
		Duration: d.duration()}
	if d.RetryIn != "" {
		e.RetryIn, _ = time.ParseDuration(d.RetryIn)
	}
	if r.Type == string(engine.RunStarted) && e.Version == "" {
		e.Version = startedVersion(d)
	}
	if e.Type != engine.StepStarted || e.Attempt == 0 || e.Items > 0 {
		return []*engine.Event{e}, nil
	}
	// The step started, and its first attempt with it.
	started := *e
	started.Attempt, started.With, started.Key = 0, nil, ""
	started.Mutates, started.Idempotent, started.Provider = false, false, ""
	attempt := *e
	attempt.Type, attempt.Name = engine.AttemptStarted, ""
	return []*engine.Event{&started, &attempt}, nil
}
