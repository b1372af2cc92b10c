package schedule

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// leaderWatch is Config.Elector as gocron asks it, before each fire. When
// this process becomes the leader (at its first fire, or when the
// leader it followed died), each schedule's next wake handles the slots
// after the latest one recorded, by whichever process: those the old
// leader did not handle are caught up per the schedule's policy, and
// those it handled are not handled again (they would only be found
// duplicates).
type leaderWatch struct {
	gocron.Elector
	s       *Scheduler
	leading atomic.Bool
}

func (w *leaderWatch) IsLeader(ctx context.Context) error {
	if err := w.Elector.IsLeader(ctx); err != nil {
		w.leading.Store(false)
		return err
	}
	if !w.leading.Swap(true) {
		w.s.mu.Lock()
		for name := range w.s.jobs {
			w.s.resync[name] = true
		}
		w.s.mu.Unlock()
		w.s.log.Info("schedule: this process leads: each schedule goes on from its latest recorded slot")
	}
	return nil
}

// since is where a wake of e that follows a change of leader starts:
// after the latest slot recorded, by any process (the history is the
// truth: this process's own last wake may be long past, or later than
// slots nobody handled); from when none is recorded or it cannot be read.
func (s *Scheduler) since(ctx context.Context, e *entry, from time.Time) time.Time {
	h, err := s.history(ctx, e)
	if err != nil {
		s.log.Warn("schedule: reading the latest recorded slot", "schedule", e.name, "error", err)
		return from
	}
	if h.slot.IsZero() {
		return from
	}
	return h.slot
}
