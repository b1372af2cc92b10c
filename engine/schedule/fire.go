package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Bounds of one catch-up: the slots enumerated, and the skipped slots
// recorded one by one (older ones are recorded as one summary).
const (
	maxSlots       = 1_000_000
	maxSkipRecords = 100
)

// Outcomes told to Config.Observe.
const (
	OutcomeStarted   = "started"
	OutcomeSkipped   = "skipped"
	OutcomeBuffered  = "buffered"
	OutcomeDuplicate = "duplicate"
	OutcomeError     = "error"
)

// key is the journal key of a schedule's slot.
func key(name string, slot time.Time) string {
	return "schedule/" + name + "/" + slot.UTC().Format(time.RFC3339)
}

// catchUp handles the slots of e missed since its latest recorded slot,
// up to now. A schedule with no recorded slot is new: nothing is missed.
func (s *Scheduler) catchUp(ctx context.Context, e *entry, now time.Time) {
	h, err := s.history(ctx, e)
	if err != nil {
		s.log.Error("schedule: catching up", "schedule", e.name, "error", err)
		return
	}
	if h.slot.IsZero() {
		return
	}
	due, total := e.slots.Between(h.slot, now, maxSkipRecords+s.cfg.CatchupMax, maxSlots)
	if total > 0 {
		s.log.Info("schedule: catching up", "schedule", e.name, "since", h.slot.UTC(), "missed", total, "catchup", e.sc.Catchup)
	}
	s.handle(ctx, e, due, total, h.slot, now, true)
}

// handle fires or skips due, the newest of total slots of e after from,
// up to now. A wake with one slot due fires it; slots missed while the
// scheduler was down (catchUp), or several due at one wake (it woke
// late), are missed: the schedule's catchup policy, window and cap decide
// which fire. Every slot that does not fire is recorded as skipped, with
// its reason.
func (s *Scheduler) handle(ctx context.Context, e *entry, due []time.Time, total int, from, now time.Time, catchUp bool) {
	if len(due) == 0 {
		return
	}
	fire := map[time.Time]bool{}
	why := map[time.Time]string{}
	if total == 1 && !catchUp && now.Sub(due[0]) < s.cfg.CatchupWindow {
		fire[due[0]] = true
	} else {
		var inWindow []time.Time
		for _, t := range due {
			if now.Sub(t) > s.cfg.CatchupWindow {
				why[t] = fmt.Sprintf("missed: older than the catch-up window (%s)", s.cfg.CatchupWindow)
				continue
			}
			inWindow = append(inWindow, t)
		}
		keep := 0
		switch e.sc.Catchup {
		case "latest":
			keep = 1
		case "all":
			keep = s.cfg.CatchupMax
		}
		for i, t := range inWindow {
			switch {
			case i >= len(inWindow)-keep:
				fire[t] = true
			case e.sc.Catchup == "none":
				why[t] = "missed: catchup is none"
			case e.sc.Catchup == "latest":
				why[t] = "missed: catchup is latest, a later slot fires"
			default:
				why[t] = fmt.Sprintf("missed: catchup fires at most %d slots (schedules.catchup_max)", s.cfg.CatchupMax)
			}
		}
	}
	if n := total - len(due); n > 0 {
		// Too many to record one by one: one record says which.
		s.skipMany(ctx, e, from, due[0], n)
	}
	for _, t := range due {
		if fire[t] {
			s.fire(ctx, e, t)
		} else {
			s.skip(ctx, e, t, why[t])
		}
	}
}

// fire fires one slot: unless the schedule is paused, or its overlap
// policy says otherwise while a run of the runbook is active.
func (s *Scheduler) fire(ctx context.Context, e *entry, slot time.Time) {
	if err := s.refreshPauses(ctx, false); err != nil {
		s.log.Warn("schedule: reading pauses", "error", err)
	}
	if p := s.paused(e.name); p.Paused {
		s.skip(ctx, e, slot, fmt.Sprintf("paused by %s", p.By))
		return
	}
	if e.sc.Overlap != "allow" {
		if q, ok := s.queuedSlot(e.name); ok {
			// A start of this schedule waits for its runbook's
			// concurrency key (runs.Service.Start): it is active too.
			s.skip(ctx, e, slot, fmt.Sprintf("overlap: slot %s still waits for its concurrency key", q.UTC().Format(time.RFC3339)))
			return
		}
		act, err := s.active(ctx, e.runbook)
		if err != nil {
			s.observe(e, slot, OutcomeError)
			s.log.Error("schedule: not fired", "schedule", e.name, "slot", slot.UTC(), "error", err)
			return
		}
		if len(act) > 0 {
			switch e.sc.Overlap {
			case "skip":
				s.skip(ctx, e, slot, fmt.Sprintf("overlap: run %s is still %s", act[0].ID, act[0].Status))
				return
			case "buffer_one":
				s.buffer(e, slot, act[0])
				return
			case "cancel_other":
				s.cancelActive(ctx, e, slot, act)
			}
		}
	}
	s.startSlot(ctx, e, slot)
}

// startSlot starts the run of a slot, claiming its key.
func (s *Scheduler) startSlot(ctx context.Context, e *entry, slot time.Time) {
	trigger := &journal.Trigger{Kind: "schedule", Name: e.name, Slot: slot.UTC(), Key: key(e.name, slot)}
	s.mu.Lock()
	s.queued[e.name] = slot
	s.mu.Unlock()
	id, err := s.start(ctx, e, trigger, schedulerActor+e.name)
	s.mu.Lock()
	if s.queued[e.name].Equal(slot) {
		delete(s.queued, e.name)
	}
	s.mu.Unlock()
	var dup *journal.DuplicateError
	switch {
	case errors.As(err, &dup):
		s.observe(e, slot, OutcomeDuplicate)
		s.log.Debug("schedule: slot already handled", "schedule", e.name, "slot", slot.UTC(), "run", dup.RunID)
	case err != nil:
		s.observe(e, slot, OutcomeError)
		s.log.Error("schedule: not fired", "schedule", e.name, "slot", slot.UTC(), "error", err)
	default:
		s.observe(e, slot, OutcomeStarted)
		s.log.Info("schedule: fired", "schedule", e.name, "slot", slot.UTC(), "run", id)
	}
}

// queuedSlot returns the slot of e whose start this scheduler is making,
// when there is one: it may wait long for a concurrency key.
func (s *Scheduler) queuedSlot(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.queued[name]
	return t, ok
}

// cancelActive cancels the active runs (overlap: cancel_other).
func (s *Scheduler) cancelActive(ctx context.Context, e *entry, slot time.Time, act []runs.Summary) {
	for _, r := range act {
		req := runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: r.ID, By: schedulerActor + e.name},
			Comment: fmt.Sprintf("overlap: cancel_other, for slot %s", slot.UTC().Format(time.RFC3339))}
		var ended *runs.EndedError
		if _, err := s.cfg.Runs.Cancel(ctx, req); err != nil && !errors.As(err, &ended) {
			s.log.Warn("schedule: cancelling the active run", "schedule", e.name, "run", r.ID, "error", err)
		}
	}
}

// skip records a slot as skipped, claiming its key: it never fires.
func (s *Scheduler) skip(ctx context.Context, e *entry, slot time.Time, why string) {
	trigger := &journal.Trigger{Kind: "schedule", Name: e.name, Slot: slot.UTC(), Key: key(e.name, slot)}
	_, err := s.cfg.Runs.RecordChange(ctx, runs.ChangeRequest{Actor: schedulerActor + e.name, Trigger: trigger,
		Change: journal.Change{Kind: KindSkipped, Subject: e.name, Details: map[string]any{
			"runbook": e.runbook, "slot": slot.UTC().Format(time.RFC3339), "reason": why}}})
	var dup *journal.DuplicateError
	switch {
	case errors.As(err, &dup):
		s.observe(e, slot, OutcomeDuplicate)
		s.log.Debug("schedule: slot already handled", "schedule", e.name, "slot", slot.UTC(), "run", dup.RunID)
	case err != nil:
		s.observe(e, slot, OutcomeError)
		s.log.Error("schedule: recording a skipped slot", "schedule", e.name, "slot", slot.UTC(), "error", err)
	default:
		s.observe(e, slot, OutcomeSkipped)
		s.log.Info("schedule: skipped", "schedule", e.name, "slot", slot.UTC(), "reason", why)
	}
}

// skipMany records n missed slots after from and before until as one
// change: too many to record one by one. Its key names the range, so
// that replicas record it once; it claims no slot, but later slots are
// recorded, so these can never fire.
func (s *Scheduler) skipMany(ctx context.Context, e *entry, from, until time.Time, n int) {
	trigger := &journal.Trigger{Kind: "schedule", Name: e.name,
		Key: "schedule/" + e.name + "/missed/" + from.UTC().Format(time.RFC3339) + "/" + until.UTC().Format(time.RFC3339)}
	why := fmt.Sprintf("missed: %d slots after %s and before %s, not caught up", n, from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	_, err := s.cfg.Runs.RecordChange(ctx, runs.ChangeRequest{Actor: schedulerActor + e.name, Trigger: trigger,
		Change: journal.Change{Kind: KindSkipped, Subject: e.name, Details: map[string]any{
			"runbook": e.runbook, "slots": n, "reason": why}}})
	if err != nil && !errors.Is(err, journal.ErrDuplicate) {
		s.log.Error("schedule: recording skipped slots", "schedule", e.name, "error", err)
		return
	}
	s.log.Info("schedule: skipped", "schedule", e.name, "reason", why)
}

// start starts a run of e in the background, under the scheduler's run
// context, and returns its id once run.started is recorded.
func (s *Scheduler) start(ctx context.Context, e *entry, trigger *journal.Trigger, actor string) (string, error) {
	plan := s.cfg.Runs.Prepare(e.doc, nil)
	if err := plan.Err(); err != nil {
		return "", err
	}
	started := make(chan string, 1)
	ended := make(chan error, 1)
	var once sync.Once
	progress := engine.SinkFunc(func(ev *engine.Event) {
		if ev.Type == engine.RunStarted {
			once.Do(func() { started <- ev.RunID })
		}
	})
	req := runs.StartRequest{Inputs: maps.Clone(e.inputs), Actor: actor, Trigger: trigger, Progress: progress}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		res, err := s.cfg.Runs.Start(s.runCtx, plan, req)
		if err == nil && res != nil {
			s.log.Info("schedule: run ended", "schedule", e.name, "run", res.ID, "status", res.Status)
		}
		ended <- err
	}()
	select {
	case id := <-started:
		return id, nil
	case err := <-ended:
		select {
		case id := <-started:
			return id, err
		default:
		}
		if err == nil {
			err = errors.New("schedule: the run ended without starting")
		}
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (s *Scheduler) observe(e *entry, slot time.Time, outcome string) {
	if s.cfg.Observe != nil {
		s.cfg.Observe(e.name, slot, s.cfg.Clock.Now(), outcome)
	}
}

// buffered is a fire kept until the active run ends (overlap:
// buffer_one).
type buffered struct {
	slot   time.Time
	cancel context.CancelFunc
}

// buffer keeps one fire of slot until no run of e's runbook is active;
// while one is kept, a later slot is skipped.
func (s *Scheduler) buffer(e *entry, slot time.Time, act runs.Summary) {
	s.mu.Lock()
	if p, ok := s.pending[e.name]; ok {
		s.mu.Unlock()
		s.skip(s.runCtx, e, slot, fmt.Sprintf("overlap: run %s is still %s and slot %s is already buffered",
			act.ID, act.Status, p.slot.UTC().Format(time.RFC3339)))
		return
	}
	ctx, cancel := context.WithCancel(s.runCtx)
	s.pending[e.name] = &buffered{slot: slot, cancel: cancel}
	s.wg.Add(1)
	s.mu.Unlock()
	// The polls are on the clock before the slot is said to be buffered,
	// every Poll from now whenever the goroutine gets to run: a timer
	// set at each turn of the loop would count from whenever the turn
	// came (late on a loaded machine), and a clock moved by Poll just
	// before it would not reach it.
	poll := s.cfg.Clock.NewTicker(s.cfg.Poll)
	s.observe(e, slot, OutcomeBuffered)
	s.log.Info("schedule: buffered until the active run ends", "schedule", e.name, "slot", slot.UTC(), "active", act.ID)
	go func() {
		defer s.wg.Done()
		defer cancel()
		defer poll.Stop()
		for {
			select {
			case <-ctx.Done():
				// Stopped while kept: never silent.
				s.skip(context.WithoutCancel(ctx), e, slot, "overlap: the scheduler stopped while the fire was buffered")
				return
			case <-poll.Chan():
			}
			act, err := s.active(ctx, e.runbook)
			if err != nil || len(act) > 0 {
				continue
			}
			s.mu.Lock()
			delete(s.pending, e.name)
			s.mu.Unlock()
			s.startSlot(ctx, e, slot)
			return
		}
	}()
}
