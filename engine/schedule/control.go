package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Status is one schedule as listed.
type Status struct {
	Name     string `json:"name"`
	Runbook  string `json:"runbook"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
	Catchup  string `json:"catchup"`
	Overlap  string `json:"overlap"`
	Paused   bool   `json:"paused"`
	// PausedBy is who paused it, when it is paused.
	PausedBy string `json:"paused_by,omitempty"`
	// Next is its next slot (whether it fires then depends on the pause
	// and overlap).
	Next time.Time `json:"next,omitzero"`
	// Last is its last fire or skipped slot; nil when it never fired.
	Last *Fired `json:"last,omitempty"`
}

// entriesNow returns the schedules, read from the folders when they were
// not yet.
func (s *Scheduler) entriesNow(ctx context.Context) (map[string]*entry, error) {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		if err := s.Reload(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries, nil
}

// lookup returns the schedule with the name, or a *NotFoundError.
func (s *Scheduler) lookup(ctx context.Context, name string) (*entry, error) {
	m, err := s.entriesNow(ctx)
	if err != nil {
		return nil, err
	}
	e, ok := m[name]
	if !ok {
		return nil, notFound(name, names(m))
	}
	return e, nil
}

// List returns every schedule, sorted by name, with its next slot, its
// last fire as the journal records it, and its pause state.
func (s *Scheduler) List(ctx context.Context) ([]Status, error) {
	m, err := s.entriesNow(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.refreshPauses(ctx, true); err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	out := make([]Status, 0, len(m))
	for _, name := range names(m) {
		e := m[name]
		h, err := s.history(ctx, e)
		if err != nil {
			return nil, err
		}
		if h.last != nil && h.last.Outcome == string(engine.StatusRunning) {
			// Running in the journal: say whether anything executes it.
			if r, err := s.cfg.Runs.Get(ctx, h.last.RunID); err == nil && r.Interrupted {
				h.last.Outcome = runs.StatusInterrupted
			}
		}
		p := s.paused(name)
		st := Status{Name: name, Runbook: e.runbook, Cron: e.sc.Cron, Timezone: e.sc.Timezone, Catchup: e.sc.Catchup,
			Overlap: e.sc.Overlap, Paused: p.Paused, Next: e.slots.Next(now).UTC(), Last: h.last}
		if p.Paused {
			st.PausedBy = p.By
		}
		out = append(out, st)
	}
	return out, nil
}

// Pause pauses a schedule, recorded as a change by who asked: its slots are
// recorded as skipped until Resume. Every replica reads the pause from the
// journal. Pausing a paused schedule records nothing.
func (s *Scheduler) Pause(ctx context.Context, name, by string) error {
	return s.setPaused(ctx, name, by, true)
}

// Resume resumes a paused schedule, recorded as a change by who asked.
// Resuming a schedule that is not paused records nothing.
func (s *Scheduler) Resume(ctx context.Context, name, by string) error {
	return s.setPaused(ctx, name, by, false)
}

func (s *Scheduler) setPaused(ctx context.Context, name, by string, paused bool) error {
	e, err := s.lookup(ctx, name)
	if err != nil {
		return err
	}
	if by == "" || strings.HasPrefix(by, schedulerActor) {
		return fmt.Errorf("schedule: who pauses or resumes a schedule is required (a person, not %q)", by)
	}
	s.pmu.Lock()
	s.pausesAt = time.Time{}.Add(pauseMargin) // read every change again now
	s.pmu.Unlock()
	if err := s.refreshPauses(ctx, true); err != nil {
		return err
	}
	if s.paused(name).Paused == paused {
		return nil
	}
	kind := KindResumed
	if paused {
		kind = KindPaused
	}
	if _, err := s.cfg.Runs.RecordChange(ctx, runs.ChangeRequest{Actor: by,
		Change: journal.Change{Kind: kind, Subject: name, Details: map[string]any{"runbook": e.runbook}}}); err != nil {
		return err
	}
	s.pmu.Lock()
	s.pauses[name] = pause{Paused: paused, By: by, At: s.cfg.Clock.Now()}
	s.pmu.Unlock()
	s.log.Info("schedule: "+kind[len("schedule."):], "schedule", name, "by", by)
	return nil
}

// Fire starts a run of a schedule now, asked by a person: with the
// schedule's inputs, by them, for no slot (no key is claimed, the pause
// and overlap policy do not apply; the runbook's concurrency key does).
// It returns the run's id once run.started is recorded; the run goes on
// in the background, tracked by Stop.
func (s *Scheduler) Fire(ctx context.Context, name, by string) (string, error) {
	e, err := s.lookup(ctx, name)
	if err != nil {
		return "", err
	}
	if by == "" {
		return "", errors.New("schedule: who fires a schedule is required")
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return "", ErrStopped
	}
	id, err := s.start(ctx, e, &journal.Trigger{Kind: "schedule", Name: name}, by)
	if err != nil {
		return "", err
	}
	s.log.Info("schedule: fired by hand", "schedule", name, "by", by, "run", id)
	return id, nil
}
