package schedule_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/schedule"
)

// TestStopWaitsThenCancels: Stop stops firing and waits for the runs it
// fired while its context lasts; when the context ends first, it cancels
// them, waits for them to stop, and returns the context's error.
func TestStopWaitsThenCancels(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("slow", "version: 1\nname: slow\nschedule:\n  - cron: \"* * * * *\"\nsteps:\n  - id: nap\n    action: core.sleep\n    with: {duration: 1h}\n")
	s := f.scheduler(nil)
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	id := runOf(t, f, "slow", "2027-01-04T09:00:00Z")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v; want the context's deadline", err)
	}
	if st := status(t, f, id); st != string(engine.StatusCancelled) {
		t.Errorf("the fired run is %s after Stop; want cancelled", st)
	}
	// Stopped: a later slot fires nothing.
	f.clock.Advance(time.Minute)
	if n := f.observed(); n != 1 {
		t.Errorf("%d slots handled after Stop; want 1", n)
	}
	if err := s.Start(context.Background()); !errors.Is(err, schedule.ErrStopped) {
		t.Errorf("a stopped scheduler started again: %v", err)
	}
	if _, err := s.Fire(context.Background(), "slow", "ana"); !errors.Is(err, schedule.ErrStopped) {
		t.Errorf("a stopped scheduler fired: %v", err)
	}
}

// TestCatchupManyMissed: after a long stop, the missed slots are recorded
// one by one up to a bound (the newest), and the older ones as one
// summary naming their count and range: never silent, and bounded.
func TestCatchupManyMissed(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	a := f.scheduler(nil)
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3*time.Hour + 30*time.Second) // 180 slots missed: 09:01 .. 12:00
	f.scheduler(nil)
	f.waitObserved(1 + 110) // 09:00, then the newest 110 missed slots: 109 skipped, 12:00 fired
	got := f.slots("tick")
	if fs := fired(got); len(fs) != 2 || fs[1] != "2027-01-04T12:00:00Z" {
		t.Errorf("fired %v; want 09:00 and the latest, 12:00", fs)
	}
	sk := skipped(got)
	delete(sk, "0001-01-01T00:00:00Z") // the summary, below
	if len(sk) != 109 {
		t.Errorf("%d slots skipped one by one; want 109 (the newest of the bound of 110, but the fired one)", len(sk))
	}
	if _, ok := sk["2027-01-04T10:11:00Z"]; !ok {
		t.Errorf("10:11 (the oldest recorded one by one) not skipped: %v", sk)
	}
	// The 70 older ones, 09:01 .. 10:10, as one record with no slot.
	summary := got["0001-01-01T00:00:00Z"]
	if len(summary) != 1 || summary[0].reason != "missed: 70 slots after 2027-01-04T09:00:00Z and before 2027-01-04T10:11:00Z, not caught up" {
		t.Errorf("summary %+v", summary)
	}
	list, err := a.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Last == nil || !list[0].Last.Slot.Equal(at("2027-01-04T12:00:00Z")) {
		t.Errorf("list %+v, %v; want the last fire at 12:00", list, err)
	}
}
