package runs_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

const holdRunbook = `version: 1
name: hold
steps:
  - id: first
    action: test.block
  - id: second
    action: core.set
    with: {done: true}
`

// Config.Hold stops executions gracefully (steward serve shutting down):
// the step running finishes, no new step starts, nothing ends the run; it
// is interrupted, and resuming it runs only what did not finish.
func TestHoldLeavesTheRunToResume(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	attempts := 0
	block := act("test.block", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		attempts++
		if attempts == 1 {
			close(started)
			<-release
		}
		return map[string]any{"ok": true}, nil
	})
	f := newFixture(t, nil, journal.Policy{}, block)
	hold := make(chan struct{})
	clock := clockwork.NewRealClock()
	held := runs.New(runs.Config{
		Store: f.store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(append(core.Actions(clock, sub), block)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Host: "test-host", PID: os.Getpid(), Hold: hold,
	})
	doc := f.runbook("hold", holdRunbook)
	plan := held.Prepare(doc, nil)
	done := make(chan error, 1)
	go func() {
		_, err := held.Start(context.Background(), plan, runs.StartRequest{Actor: "ana"})
		done <- err
	}()
	<-started
	close(hold)
	close(release)
	if err := <-done; !errors.Is(err, engine.ErrHeld) {
		t.Fatalf("Start: %v, want engine.ErrHeld", err)
	}
	list, err := listRuns(f.svc, runs.Filter{Status: runs.StatusInterrupted})
	if err != nil || len(list) != 1 {
		t.Fatalf("interrupted runs %+v, %v", list, err)
	}
	id := list[0].ID
	run, err := f.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range run.State.Records {
		if r.Type == string(engine.RunFinished) {
			t.Fatalf("a held run recorded its end: %s", r.Data)
		}
		if r.Type == string(engine.StepStarted) && strings.Contains(string(r.Data), `"step":"second"`) {
			t.Fatalf("a step started after the hold: %s", r.Data)
		}
	}
	// Two replicas resume it at once: both load it before either holds
	// it. The one that goes second finds it ended: nothing runs again.
	c, err := f.svc.Continue(context.Background(), runs.ContinueRequest{RunID: id, By: "serve"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Continue(context.Background(), runs.ContinueRequest{RunID: id, By: "serve"})
	if err != nil {
		t.Fatal(err)
	}
	end, err := c.Run(context.Background(), nil)
	if err != nil || end.Status != engine.StatusSucceeded || attempts != 1 {
		t.Fatalf("resumed: %v %v, first ran %d times", end, err, attempts)
	}
	var ended *runs.EndedError
	if _, err := other.Run(context.Background(), nil); !errors.As(err, &ended) || ended.Status != "succeeded" || attempts != 1 {
		t.Fatalf("resumed again: %v, first ran %d times; want an *EndedError (succeeded), once", err, attempts)
	}
}
