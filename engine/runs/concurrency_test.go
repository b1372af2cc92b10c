package runs_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

const keyedRunbook = `version: 1
name: keyed
inputs:
  account: {type: string, required: true}
  note: {type: string, default: x}
vars:
  who: '${{ "acct-" + inputs.account }}'
concurrency:
  key: ${{ vars.who }}
steps:
  - id: ask
    approval: {message: "Go?"}
    action: core.log
    with: {message: go}
`

// TestConcurrencyKeyQueues: runs of a runbook sharing a concurrency key
// never overlap: while a run with the key waits for an approval (it is
// active), a new run with the same key waits before it starts, and is
// told which run holds the key; one with another key starts at once; once
// the holder ends, the queued run starts. The key is recorded in
// run.started's origin. A queued start whose context ends records nothing.
func TestConcurrencyKeyQueues(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	doc := f.runbook("keyed", keyedRunbook)
	ctx := context.Background()
	start := func(ctx context.Context, account string, queued func(holder, key string)) (*engine.Result, error) {
		return f.svc.Start(ctx, f.svc.Prepare(doc, nil), runs.StartRequest{Actor: "ana",
			Inputs: map[string]any{"account": account}, Queued: queued})
	}
	first, err := start(ctx, "a1", nil)
	if err != nil || first.Status != engine.StatusWaiting {
		t.Fatalf("first: %v, %v", first, err)
	}
	if other, err := start(ctx, "b2", nil); err != nil || other.Status != engine.StatusWaiting {
		t.Fatalf("another key: %v, %v", other, err)
	}

	// A start with the same key whose context ends while queued.
	short, cancel := context.WithCancel(ctx)
	_, err = start(short, "a1", func(holder, key string) { cancel() })
	if !errors.Is(err, runs.ErrQueueCancelled) {
		t.Fatalf("cancelled while queued: %v", err)
	}

	var mu sync.Mutex
	var told []string
	done := make(chan *engine.Result, 1)
	queued := make(chan struct{})
	go func() {
		res, err := start(ctx, "a1", func(holder, key string) {
			mu.Lock()
			told = append(told, holder+" "+key)
			mu.Unlock()
			close(queued)
		})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-queued
	if _, err := f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: first.ID, By: "ana"}}); err != nil {
		t.Fatal(err)
	}
	var second *engine.Result
	select {
	case second = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the queued run did not start once the holder ended")
	}
	if second == nil || second.Status != engine.StatusWaiting {
		t.Fatalf("queued run: %+v", second)
	}
	if len(told) != 1 || told[0] != first.ID+" acct-a1" {
		t.Errorf("queued was told %v; want the holder %s and key acct-a1", told, first.ID)
	}
	var list []runs.Summary
	err = f.svc.List(ctx, runs.Filter{Runbook: "keyed"}, func(s runs.Summary) error { list = append(list, s); return nil })
	if err != nil || len(list) != 3 {
		t.Fatalf("runs %v, %v; want 3 (nothing of the cancelled start)", list, err)
	}
	if origin := startedOrigin(t, f, second.ID); origin == nil || origin.Concurrency != "acct-a1" {
		t.Errorf("origin %+v; want concurrency acct-a1", origin)
	}
}

func startedOrigin(t *testing.T, f *fixture, id string) *journal.Origin {
	t.Helper()
	var origin *journal.Origin
	err := f.store.Records(context.Background(), id, time.Time{}, func(r journal.Record) error {
		if r.Type == "run.started" {
			var d journal.Data
			if err := json.Unmarshal(r.Data, &d); err != nil {
				return err
			}
			origin = d.Origin
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return origin
}

// TestConcurrencyKeyNull: a key that evaluates to null (an optional
// input not given) makes the run wait for no one, and none is recorded.
func TestConcurrencyKeyNull(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	ctx := context.Background()
	none := f.runbook("none", "version: 1\nname: none\ninputs:\n  who: {type: string}\nconcurrency:\n  key: ${{ inputs.who }}\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n")
	res, err := f.svc.Start(ctx, f.svc.Prepare(none, nil), runs.StartRequest{Actor: "ana"})
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("null key: %v, %v", res, err)
	}
	if origin := startedOrigin(t, f, res.ID); origin == nil || origin.Concurrency != "" {
		t.Errorf("origin %+v; want no key", origin)
	}
	var n int
	if err := f.svc.List(ctx, runs.Filter{}, func(runs.Summary) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("%d runs, %v; want one", n, err)
	}
}
