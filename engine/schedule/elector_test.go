package schedule_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/schedule"
)

// elector is a gocron.Elector the test switches.
type elector struct {
	leader atomic.Bool
	asked  chan struct{}
}

func (e *elector) IsLeader(context.Context) error {
	defer func() { e.asked <- struct{}{} }()
	if e.leader.Load() {
		return nil
	}
	return errors.New("not the leader")
}

// TestElector: a scheduler that is not the leader fires nothing; once
// leader, it handles the slots since the last it handled: those another
// leader did not record are caught up per the schedule's policy (here
// latest: the missed one is recorded as skipped).
func TestElector(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	el := &elector{asked: make(chan struct{}, 10)}
	clock := newTimerClock(f.clock)
	f.scheduler(func(c *schedule.Config) { c.Elector, c.Clock = el, clock })
	clock.waitSet(t) // 09:00's, at the start
	f.clock.Advance(30 * time.Second)
	<-el.asked       // 09:00: not the leader, gocron runs nothing
	clock.waitSet(t) // 09:01's: set after it asked
	if n := f.observed(); n != 0 {
		t.Fatalf("a scheduler that is not the leader handled %d slots", n)
	}
	el.leader.Store(true)
	f.advanceTo(at("2027-01-04T09:01:00Z"), 2)
	got := f.slots("tick")
	if fs := fired(got); len(fs) != 1 || fs[0] != "2027-01-04T09:01:00Z" {
		t.Errorf("fired %v; want 09:01", fs)
	}
	if why := skipped(got)["2027-01-04T09:00:00Z"]; why != "missed: catchup is latest, a later slot fires" {
		t.Errorf("09:00 skipped %q", why)
	}
}
