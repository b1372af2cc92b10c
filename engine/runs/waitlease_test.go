package runs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// A run recorded as waiting whose lease is still held (its execution
// recorded that it waits and has not released the lease yet, as another
// replica sees it for a moment): Continue and Cancel wait for the lease's
// release, then go on (found by cmd/steward's TestReplicasLoad, where an
// approval sent as soon as a run read waiting was refused as busy). A
// lease still held after LeaseTTL is reported busy.
func TestWaitingRunsLeaseIsWaitedFor(t *testing.T) {
	ctx := context.Background()
	policy := journal.Policy{Groups: map[string][]string{"leads": {"carla"}}}
	clock := clockwork.NewFakeClock()
	f := newFixture(t, clock, policy)
	doc := f.runbook("refund", approvalRunbook)
	hold := func(id string) {
		t.Helper()
		now := clock.Now()
		l := journal.Lease{RunID: id, Holder: "other", Host: "other-host", PID: 1, Acquired: now, Heartbeat: now, Expires: now.Add(time.Hour)}
		if err := f.store.AcquireLease(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	// waits: the call sleeps on the clock (bounded: without the wait,
	// it returns busy at once and nothing sleeps).
	waits := func() {
		t.Helper()
		bctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := clock.BlockUntilContext(bctx, 1); err != nil {
			t.Fatalf("the call does not wait for the lease: %v", err)
		}
	}
	release := func(id string) {
		t.Helper()
		waits()
		if err := f.store.ReleaseLease(ctx, id, "other"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(10 * time.Millisecond)
	}
	start := func() string {
		t.Helper()
		res, err := f.start(doc, "ana", nil)
		if err != nil || res.Status != engine.StatusWaiting {
			t.Fatalf("start: %v, %v", res, err)
		}
		hold(res.ID)
		return res.ID
	}

	approved := start()
	done := make(chan error, 1)
	go func() {
		c, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: approved, By: "carla", Deciding: "refund"})
		if err == nil {
			_, err = c.Decide(ctx, runs.DecideRequest{Step: "refund", Approved: true, By: "carla"})
		}
		if err == nil {
			_, err = c.Run(ctx, nil)
		}
		done <- err
	}()
	release(approved)
	if err := <-done; err != nil {
		t.Fatalf("approve once the lease is released: %v", err)
	}
	if run, err := f.store.Run(ctx, approved); err != nil || run.Status != "succeeded" {
		t.Fatalf("approved run: %+v, %v; want succeeded", run, err)
	}

	cancelled := start()
	got := make(chan *runs.Cancelled, 1)
	go func() {
		c, err := f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: cancelled, By: "ana"}})
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	release(cancelled)
	if c := <-got; c == nil || c.Status != "cancelled" {
		t.Fatalf("cancel once the lease is released: %+v; want cancelled here", c)
	}

	busy := start()
	go func() {
		_, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: busy, By: "carla", Deciding: "refund"})
		done <- err
	}()
	for range int(runs.DefaultLeaseTTL / (10 * time.Millisecond)) {
		waits()
		clock.Advance(10 * time.Millisecond)
	}
	var be *journal.BusyError
	if err := <-done; !errors.As(err, &be) || be.Lease.Holder != "other" {
		t.Fatalf("a lease held past LeaseTTL: %v; want *journal.BusyError", err)
	}
}
