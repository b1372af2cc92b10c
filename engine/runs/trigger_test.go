package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// A run started by a trigger records it in run.started's origin, and its
// key is claimed with that record: a second start with the same key (a
// slot that fired, an event delivered twice) returns the
// *journal.DuplicateError naming the first run, and neither records nor
// executes anything.
func TestTriggerKeyStartsOneRun(t *testing.T) {
	var calls atomic.Int32
	count := act("test.count", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		calls.Add(1)
		return map[string]any{}, nil
	})
	f := newFixture(t, nil, journal.Policy{}, count)
	doc := f.runbook("review", "version: 1\nname: review\nsteps:\n  - id: count\n    action: test.count\n")
	slot := time.Date(2027, 3, 28, 9, 0, 0, 0, time.UTC)
	trigger := &journal.Trigger{Kind: "schedule", Name: "review/0", Slot: slot, Key: "schedule/review/0/" + slot.Format(time.RFC3339)}
	start := func() (string, error) {
		res, err := f.svc.Start(context.Background(), f.svc.Prepare(doc, nil), runs.StartRequest{Actor: "schedule", Trigger: trigger})
		if res != nil {
			return res.ID, err
		}
		return "", err
	}
	first, err := start()
	if err != nil {
		t.Fatal(err)
	}
	_, err = start()
	var dup *journal.DuplicateError
	if !errors.As(err, &dup) || !errors.Is(err, journal.ErrDuplicate) || dup.RunID != first || dup.Key != trigger.Key {
		t.Fatalf("second start: %v; want the key held by run %s", err, first)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the action ran %d times; want 1", n)
	}
	list, err := listRuns(f.svc, runs.Filter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("runs %v, %v; want one", list, err)
	}
	run, err := f.svc.Get(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	var origin *journal.Origin
	err = f.store.Records(context.Background(), first, time.Time{}, func(r journal.Record) error {
		if r.Type == "run.started" {
			var d journal.Data
			if err := json.Unmarshal(r.Data, &d); err != nil {
				return err
			}
			origin = d.Origin
		}
		return nil
	})
	if err != nil || origin == nil || origin.Trigger == nil || *origin.Trigger != *trigger {
		t.Fatalf("run.started's origin %+v (%v); want trigger %+v", origin, err, trigger)
	}
	if run.State == nil {
		t.Fatal("no state")
	}
}

// A change that is not a run (a token created, a slot skipped) is a run
// of its own that has ended, which audit verify accepts; its trigger's key
// is claimed like a run's.
func TestRecordChange(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	slot := time.Date(2027, 10, 31, 1, 30, 0, 0, time.UTC)
	trigger := &journal.Trigger{Kind: "schedule", Name: "review/0", Slot: slot, Key: "schedule/review/0/" + slot.Format(time.RFC3339)}
	id, err := f.svc.RecordChange(context.Background(), runs.ChangeRequest{Actor: "schedule", Trigger: trigger,
		Change: journal.Change{Kind: "schedule.skipped", Subject: "review/0", Details: map[string]any{"reason": "outside the catch-up window"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.RecordChange(context.Background(), runs.ChangeRequest{Actor: "schedule", Trigger: trigger,
		Change: journal.Change{Kind: "schedule.skipped", Subject: "review/0"}})
	var dup *journal.DuplicateError
	if !errors.As(err, &dup) || dup.RunID != id {
		t.Fatalf("the same slot again: %v; want the key held by %s", err, id)
	}
	run, err := f.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r := run.State.Run; r.Runbook != "steward.schedule" || r.Status != "succeeded" || r.Actor != "schedule" || len(run.State.Mismatches) > 0 {
		t.Fatalf("summary %+v, mismatches %v", r, run.State.Mismatches)
	}
	var changes []journal.Change
	err = f.store.Records(context.Background(), id, time.Time{}, func(r journal.Record) error {
		if r.Type == journal.ChangeRecorded {
			var d journal.Data
			if err := json.Unmarshal(r.Data, &d); err != nil {
				return err
			}
			changes = append(changes, *d.Change)
		}
		return nil
	})
	if err != nil || len(changes) != 1 || changes[0].Kind != "schedule.skipped" || changes[0].Details["reason"] != "outside the catch-up window" {
		t.Fatalf("changes %+v, %v", changes, err)
	}
	rep, err := journal.Verify(context.Background(), f.store, "")
	if err != nil || rep.Problem != nil || rep.Runs != 1 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
