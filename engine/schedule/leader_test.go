package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/engine/schedule"
)

// switchElector is a gocron.Elector the test switches; asked is told of
// each question, without blocking.
type switchElector struct {
	leader atomic.Bool
	asked  chan struct{}
}

func (e *switchElector) IsLeader(context.Context) error {
	defer func() {
		select {
		case e.asked <- struct{}{}:
		default:
		}
	}()
	if e.leader.Load() {
		return nil
	}
	return errors.New("not the leader")
}

// TestLeaderHandover: two replicas, A leading; A dies after firing 09:02,
// B leads from 09:03. B goes on from the latest slot A recorded: 09:03
// is one slot due, and fires, even with catchup: none (were B to start
// from its own start, 09:00 to 09:03 would all look missed, and none
// would fire); every slot is fired once, none is skipped.
func TestLeaderHandover(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    catchup: none\n    overlap: allow\n"))
	ea := &switchElector{asked: make(chan struct{}, 100)}
	eb := &switchElector{asked: make(chan struct{}, 100)}
	ea.leader.Store(true)
	a := f.scheduler(func(c *schedule.Config) { c.Elector = ea })
	clock := newTimerClock(f.clock) // B's
	f.scheduler(func(c *schedule.Config) { c.Elector, c.Clock = eb, clock })
	clock.waitSet(t) // 09:00's, at the start
	for i, slot := range []string{"09:00", "09:01", "09:02"} {
		f.advanceTo(at("2027-01-04T"+slot+":00Z"), i+1)
		<-eb.asked       // B was asked, and did not lead
		clock.waitSet(t) // B's next slot's: set after it asked
	}
	ea.leader.Store(false)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	eb.leader.Store(true)
	f.advanceTo(at("2027-01-04T09:03:00Z"), 4)

	got := f.slots("tick")
	if fs := fmt.Sprint(fired(got)); fs != "[2027-01-04T09:00:00Z 2027-01-04T09:01:00Z 2027-01-04T09:02:00Z 2027-01-04T09:03:00Z]" {
		t.Errorf("fired %s; want each of 09:00 to 09:03 once", fs)
	}
	if s := skipped(got); len(s) != 0 {
		t.Errorf("skipped %v; want none", s)
	}
}
