package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// ChangeRequest is a change to the service that is not a runbook's run,
// recorded in the journal: who made it and what it was.
type ChangeRequest struct {
	Actor  string
	Change journal.Change
	// Trigger, when set, is recorded in the origin; its Key is claimed
	// as a run's start claims it (a schedule's slot recorded as skipped
	// can then never fire).
	Trigger *journal.Trigger
}

// RecordChange records a change (a token created or revoked, a schedule
// paused, a slot skipped) as a run of its own that has ended: run.started
// of the runbook "steward.KIND" (KIND the change's first word),
// change.recorded, and run.finished, in one durable batch. It returns the
// run's id; a *journal.DuplicateError when the trigger's key is held.
func (s *Service) RecordChange(ctx context.Context, req ChangeRequest) (string, error) {
	kind, _, _ := strings.Cut(req.Change.Kind, ".")
	if kind == "" {
		return "", errors.New("runs: a change needs a kind")
	}
	now := s.cfg.Clock.Now()
	id := engine.NewRunID(now)
	runbook := "steward." + kind
	run := journal.Run{ID: id, Runbook: runbook, Actor: req.Actor, Status: string(engine.StatusSucceeded),
		StartedAt: now, UpdatedAt: now, FinishedAt: now, Host: s.cfg.Host, PID: s.cfg.PID}
	origin := &journal.Origin{Host: s.cfg.Host, PID: s.cfg.PID, Trigger: req.Trigger}
	change := req.Change
	entries := make([]journal.Entry, 0, 3)
	for _, d := range []struct {
		typ  string
		data journal.Data
	}{
		{string(engine.RunStarted), journal.Data{Runbook: runbook, Actor: req.Actor, Origin: origin}},
		{journal.ChangeRecorded, journal.Data{Change: &change}},
		{string(engine.RunFinished), journal.Data{Status: engine.StatusSucceeded}},
	} {
		b, err := json.Marshal(&d.data)
		if err != nil {
			return "", fmt.Errorf("runs: recording %s: %w", change.Kind, err)
		}
		entries = append(entries, journal.Entry{Type: d.typ, Time: now, Data: b})
	}
	b := journal.Batch{RunID: id, Entries: entries, Run: &run, Sync: true}
	if req.Trigger != nil {
		b.Key = req.Trigger.Key
	}
	if _, err := s.cfg.Store.Append(ctx, b); err != nil {
		var dup *journal.DuplicateError
		if errors.As(err, &dup) {
			return "", dup
		}
		return "", &RecordingError{Err: err}
	}
	return id, nil
}
