package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/engine/schedule"
	"github.com/stewardhq/steward/runbooks"
)

// runOf returns the run a slot fired.
func runOf(t *testing.T, f *fixture, name, slot string) string {
	t.Helper()
	for _, r := range f.slots(name)[slot] {
		if r.reason == "" {
			return r.run.ID
		}
	}
	t.Fatalf("%s: slot %s fired no run", name, slot)
	return ""
}

// waitStatus waits until the run has the status (real time bounds the
// wait, never an assertion).
func waitStatus(t *testing.T, f *fixture, id, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for status(t, f, id) != want {
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s; want %s", id, status(t, f, id), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func status(t *testing.T, f *fixture, id string) string {
	t.Helper()
	r, err := f.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.State.Run.Status
}

// TestOverlap: while a run of the runbook waits for an approval (it is
// active), the next slot is skipped (skip, with the active run named),
// kept until the run ends (buffer_one: at most one; a third slot is
// skipped), started anyway (allow), or started after cancelling the
// active run (cancel_other).
func TestOverlap(t *testing.T) {
	const s1, s2, s3 = "2027-01-04T09:00:00Z", "2027-01-04T09:01:00Z", "2027-01-04T09:02:00Z"
	for _, overlap := range []string{"skip", "buffer_one", "allow", "cancel_other"} {
		t.Run(overlap, func(t *testing.T) {
			f := newFixture(t, at("2027-01-04T08:59:30Z"))
			f.runbook("review", waiting("review", "* * * * *", "    overlap: "+overlap+"\n"))
			f.scheduler(func(c *schedule.Config) { c.Poll = 10 * time.Second })
			f.advanceTo(at(s1), 1)
			first := runOf(t, f, "review", s1)
			waitStatus(t, f, first, string(engine.StatusWaiting))
			f.advanceTo(at(s2), 2)
			if overlap == "allow" || overlap == "cancel_other" {
				waitStatus(t, f, runOf(t, f, "review", s2), string(engine.StatusWaiting))
			}
			f.advanceTo(at(s3), 3)
			got := f.slots("review")
			switch overlap {
			case "skip":
				for _, s := range []string{s2, s3} {
					if why := skipped(got)[s]; why != "overlap: run "+first+" is still waiting" {
						t.Errorf("slot %s: skipped %q", s, why)
					}
				}
			case "allow":
				if n := len(fired(got)); n != 3 {
					t.Errorf("%d runs fired; want 3", n)
				}
			case "cancel_other":
				if n := len(fired(got)); n != 3 {
					t.Errorf("%d runs fired; want 3", n)
				}
				if st := status(t, f, first); st != string(engine.StatusCancelled) {
					t.Errorf("first run is %s; want cancelled", st)
				}
				if st := status(t, f, runOf(t, f, "review", s2)); st != string(engine.StatusCancelled) {
					t.Errorf("second run is %s; want cancelled by the third", st)
				}
			case "buffer_one":
				if len(got[s2]) != 0 {
					t.Errorf("slot %s recorded while buffered: %+v", s2, got[s2])
				}
				if why := skipped(got)[s3]; !strings.Contains(why, "is already buffered") {
					t.Errorf("slot %s: skipped %q; want already buffered", s3, why)
				}
				// The active run ends: the buffered slot starts at the next poll.
				_, err := f.svc.Cancel(context.Background(), runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: first, By: "ana"}})
				if err != nil {
					t.Fatal(err)
				}
				f.advanceTo(at(s3).Add(10*time.Second), 4)
				waitStatus(t, f, runOf(t, f, "review", s2), string(engine.StatusWaiting))
			}
		})
	}
}

// TestPauseResumeFire: a paused schedule records its slots as skipped,
// naming who paused it, and lists as paused, for every scheduler on the
// store; resumed, it fires again. Fire starts a run now, by who asked,
// claiming no slot. An unknown name is a *NotFoundError with a
// did-you-mean.
func TestPauseResumeFire(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	a := f.scheduler(nil)
	ctx := context.Background()
	if err := a.Pause(ctx, "tick", "ana"); err != nil {
		t.Fatal(err)
	}
	// Another scheduler on the store (not started: as steward schedules
	// reads it) sees the pause.
	other, err := schedule.New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	list, err := other.List(ctx)
	if err != nil || len(list) != 1 || !list[0].Paused || list[0].PausedBy != "ana" {
		t.Fatalf("list %+v, %v; want tick paused by ana", list, err)
	}
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	if why := skipped(f.slots("tick"))["2027-01-04T09:00:00Z"]; why != "paused by ana" {
		t.Errorf("09:00 skipped %q; want paused by ana", why)
	}
	if err := other.Resume(ctx, "tick", "bruno"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Second) // past the pause refresh of a
	f.advanceTo(at("2027-01-04T09:01:00Z"), 2)
	if fs := fired(f.slots("tick")); len(fs) != 1 || fs[0] != "2027-01-04T09:01:00Z" {
		t.Errorf("fired %v; want 09:01 after the resume", fs)
	}
	f.clock.Advance(time.Second)
	id, err := a.Fire(ctx, "tick", "carla")
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.svc.Get(ctx, id)
	if err != nil || r.State.Run.Actor != "carla" || r.State.Run.Runbook != "tick" {
		t.Fatalf("fired run %+v, %v; want tick by carla", r, err)
	}
	list, err = a.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	st := list[0]
	if st.Paused || st.Last == nil || st.Last.RunID != id || !st.Last.Manual || st.Next != at("2027-01-04T09:02:00Z") ||
		st.Cron != "* * * * *" || st.Timezone != "UTC" || st.Catchup != "latest" || st.Overlap != "allow" {
		t.Errorf("status %+v (last %+v)", st, st.Last)
	}
	var nf *schedule.NotFoundError
	for _, call := range []func() error{
		func() error { return a.Pause(ctx, "tock", "ana") },
		func() error { return a.Resume(ctx, "tock", "ana") },
		func() error { _, err := a.Fire(ctx, "tock", "ana"); return err },
	} {
		err := call()
		if !errors.As(err, &nf) || !errors.Is(err, schedule.ErrNotFound) || err.Error() != `schedule: no schedule named "tock"; did you mean "tick"?` {
			t.Errorf("unknown name: %v", err)
		}
	}
}

// TestScheduleWaitsForConcurrencyKey: a slot whose runbook's concurrency
// key is held by an active run (started by hand, waiting for an approval;
// overlap: allow lets the slot reach the key) waits to start, and starts
// once the holder ends.
func TestScheduleWaitsForConcurrencyKey(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	// Daily: the loops below move the clock a second at a time for as
	// long as the queued fire takes to look again and start (real time,
	// seconds on a loaded machine); a per-minute cron would fire 09:01
	// after 55 of them.
	f.runbook("review", waiting("review", "0 9 * * *", "    overlap: allow\n")+"concurrency:\n  key: '\"all\"'\n")
	ctx := context.Background()
	doc, err := runbooks.Resolve("review", []string{f.dir})
	if err != nil {
		t.Fatal(err)
	}
	holder, err := f.svc.Start(ctx, f.svc.Prepare(doc, nil), runs.StartRequest{Actor: "ana"})
	if err != nil || holder.Status != engine.StatusWaiting {
		t.Fatalf("holder: %v, %v", holder, err)
	}
	f.scheduler(nil)
	f.clock.Advance(30 * time.Second) // 09:00: the slot waits for the key
	for range 5 {
		f.clock.Advance(time.Second) // the key is looked at again: still held
		f.waitSeen()
	}
	if n, fs := f.observed(), f.slotsFired("review"); n != 0 || len(fs) != 0 {
		t.Fatalf("the slot started while the key was held: %d observed, fired %v", n, fs)
	}
	if _, err := f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: holder.ID, By: "ana"}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); f.observed() < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("the slot did not start once the holder ended (clock at %s)", f.clock.Now().UTC().Format(time.RFC3339))
		}
		f.clock.Advance(time.Second) // the key's next look
		f.waitSeen()
	}
	if fs := f.slotsFired("review"); len(fs) != 1 || fs[0] != "2027-01-04T09:00:00Z" {
		t.Errorf("fired %v (observed %v); want 09:00 once the holder ended", fs, f.fires)
	}
}
