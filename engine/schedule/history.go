package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Kinds of the changes the scheduler records (runs.RecordChange), all of
// the runbook steward.schedule.
const (
	KindSkipped = "schedule.skipped"
	KindPaused  = "schedule.paused"
	KindResumed = "schedule.resumed"
	// changeRunbook is the runbook RecordChange records them under.
	changeRunbook = "steward.schedule"
)

// Fired is a schedule's last fire.
type Fired struct {
	// Slot is the slot it fired or skipped; for a fire asked by a
	// person (Fire), when it started.
	Slot  time.Time `json:"slot"`
	RunID string    `json:"run_id"`
	// Outcome is the run's status, or "skipped: REASON".
	Outcome string `json:"outcome"`
	// Manual is set for a fire asked by a person (Fire).
	Manual bool `json:"manual,omitempty"`
}

// recorded is what the journal holds of one run: its start's trigger,
// and its change when it is one.
type recorded struct {
	run     journal.Run
	trigger *journal.Trigger
	change  *journal.Change
}

// errEnough stops a listing.
var errEnough = errors.New("schedule: enough")

// read returns what the journal holds of run r: its trigger and change.
func (s *Scheduler) read(ctx context.Context, r journal.Run) (recorded, error) {
	out := recorded{run: r}
	err := s.cfg.Store.Records(ctx, r.ID, time.Time{}, func(rec journal.Record) error {
		switch rec.Type {
		case string(engine.RunStarted):
			var d journal.Data
			if err := json.Unmarshal(rec.Data, &d); err != nil {
				return err
			}
			if d.Origin != nil {
				out.trigger = d.Origin.Trigger
			}
			if r.Runbook != changeRunbook {
				return errEnough // a runbook's run: its start is enough
			}
		case journal.ChangeRecorded:
			var d journal.Data
			if err := json.Unmarshal(rec.Data, &d); err != nil {
				return err
			}
			out.change = d.Change
			return errEnough
		}
		return nil
	})
	if err != nil && err != errEnough {
		return out, fmt.Errorf("schedule: reading run %s: %w", r.ID, err)
	}
	return out, nil
}

// history is what the journal says of one schedule: the latest slot
// recorded for it (fired or skipped), and its last fire of any kind.
type history struct {
	slot time.Time // zero: none
	last *Fired
}

// history reads the runs of the schedule's runbook and the scheduler's
// changes, newest first, up to the first run started before the latest
// slot found: no later run can hold a later slot, since a slot fires
// once its time has come.
func (s *Scheduler) history(ctx context.Context, e *entry) (history, error) {
	var h history
	var lastAt time.Time
	for _, rb := range []string{e.runbook, changeRunbook} {
		err := s.cfg.Store.Runs(ctx, journal.Filter{Runbook: rb}, func(r journal.Run) error {
			if !h.slot.IsZero() && r.StartedAt.Before(h.slot) && (h.last == nil || r.StartedAt.Before(lastAt)) {
				return errEnough
			}
			if rb == changeRunbook && r.Actor != schedulerActor+e.name {
				return nil // another schedule's skipped slot, or a pause: not read
			}
			rec, err := s.read(ctx, r)
			if err != nil {
				return err
			}
			t := rec.trigger
			if t == nil || t.Kind != "schedule" || t.Name != e.name {
				return nil
			}
			if rec.change != nil && rec.change.Kind != KindSkipped {
				return nil // a pause or a resume
			}
			keyed := t.Key != "" && !t.Slot.IsZero()
			if keyed && t.Slot.After(h.slot) {
				h.slot = t.Slot
			}
			if h.last == nil || r.StartedAt.After(lastAt) {
				f := &Fired{Slot: t.Slot, RunID: r.ID, Outcome: r.Status, Manual: t.Key == ""}
				if f.Manual || t.Slot.IsZero() {
					f.Slot = r.StartedAt
				}
				if rec.change != nil {
					f.Outcome = "skipped: " + reason(rec.change)
				}
				h.last, lastAt = f, r.StartedAt
			}
			return nil
		})
		if err != nil && err != errEnough {
			return h, fmt.Errorf("schedule: reading the history of %s: %w", e.name, err)
		}
	}
	return h, nil
}

// reason is the reason a skipped slot's change records.
func reason(c *journal.Change) string {
	if r, ok := c.Details["reason"].(string); ok {
		return r
	}
	return "skipped"
}

// pause is a schedule's recorded pause state.
type pause struct {
	Paused bool
	By     string
	At     time.Time
}

// pauseMargin: a refresh of the pause state reads again the changes of
// this long before the last one, so that a change recorded late (another
// replica's clock, a slow commit) is not missed.
const pauseMargin = 10 * time.Second

// refreshPauses reads the pauses and resumes recorded since the last
// refresh (all of them the first time): the newest of each schedule
// decides. Replicas agree since they read the same records.
//
// One refresh runs at a time; a fire that finds one under way goes on
// with the state read last (at most PauseRefresh old) rather than wait.
// The scheduler's own records (skipped slots, actor schedule:NAME) are
// not read: a pause is recorded by a person.
func (s *Scheduler) refreshPauses(ctx context.Context, wait bool) error {
	if wait {
		s.refreshing.Lock()
	} else if !s.refreshing.TryLock() {
		return nil
	}
	defer s.refreshing.Unlock()
	s.pmu.Lock()
	read, since := s.pausesRead, s.pausesAt
	s.pmu.Unlock()
	now := s.cfg.Clock.Now()
	f := journal.Filter{Runbook: changeRunbook}
	if read {
		if now.Sub(since) < s.cfg.PauseRefresh {
			return nil
		}
		f.Since = since.Add(-pauseMargin)
	}
	seen := map[string]bool{}
	found := map[string]pause{}
	err := s.cfg.Store.Runs(ctx, f, func(r journal.Run) error {
		if strings.HasPrefix(r.Actor, schedulerActor) {
			return nil
		}
		rec, err := s.read(ctx, r)
		if err != nil {
			return err
		}
		c := rec.change
		if c == nil || c.Kind != KindPaused && c.Kind != KindResumed || seen[c.Subject] {
			return nil
		}
		seen[c.Subject] = true
		found[c.Subject] = pause{Paused: c.Kind == KindPaused, By: r.Actor, At: r.StartedAt}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule: reading pauses: %w", err)
	}
	s.pmu.Lock()
	for name, p := range found {
		if cur, ok := s.pauses[name]; !ok || !p.At.Before(cur.At) {
			s.pauses[name] = p
		}
	}
	s.pausesRead, s.pausesAt = true, now
	s.pmu.Unlock()
	return nil
}

// schedulerActor prefixes the actor of what the scheduler records and
// fires: schedule:NAME.
const schedulerActor = "schedule:"

// paused returns the pause state of a schedule.
func (s *Scheduler) paused(name string) pause {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.pauses[name]
}

// active lists the runs of a runbook that are active: running (executed
// by a live lease) or waiting for an approval. An interrupted run (its
// execution died, nothing executes it) is not active: it waits for a
// person to resume it, and would otherwise block its schedule for good.
//
// The store is read for every runbook at once and the reading is shared:
// a fire uses a reading begun at most activeShare before it asked (or
// joins the one under way), so that 500 schedules firing at the same
// instant read the store once, not 1,000 times (the listing by status
// scans the runs). A run started by another process in that moment may
// be missed.
func (s *Scheduler) active(ctx context.Context, runbook string) ([]runs.Summary, error) {
	now := s.cfg.Clock.Now()
	s.amu.Lock()
	c := s.activeRead
	if c == nil || c.at.Before(now.Add(-activeShare)) {
		c = &activeReading{at: now, done: make(chan struct{})}
		s.activeRead = c
		go func() {
			defer close(c.done)
			c.runs, c.err = s.readActive(context.WithoutCancel(ctx))
		}()
	}
	s.amu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return c.runs[runbook], nil
}

// activeShare is how old a reading of the active runs a fire may use.
const activeShare = 250 * time.Millisecond

// activeReading is one reading of the active runs, by runbook.
type activeReading struct {
	at   time.Time
	done chan struct{}
	runs map[string][]runs.Summary
	err  error
}

func (s *Scheduler) readActive(ctx context.Context) (map[string][]runs.Summary, error) {
	out := map[string][]runs.Summary{}
	for _, st := range []engine.Status{engine.StatusRunning, engine.StatusWaiting} {
		err := s.cfg.Runs.List(ctx, runs.Filter{Status: string(st)}, func(r runs.Summary) error {
			if r.Parent == "" {
				out[r.Runbook] = append(out[r.Runbook], r)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("schedule: listing the active runs: %w", err)
		}
	}
	return out, nil
}
