package journal_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/progress"
	"github.com/stewardhq/steward/schema"
)

// TestRecordEventsReplayProgress: the progress a run shows as it executes
// (the Recorder's Then) and the progress shown from its records
// (Record.Events, as steward --server run shows a run executing in the
// server) print the same lines: merged step.started records, retries,
// logs, items, skipped steps and a wait included.
func TestRecordEventsReplayProgress(t *testing.T) {
	const src = `version: 1
name: replay
steps:
  - id: hello
    action: core.log
    with: {message: hello}
  - id: each
    for_each: '${{ ["a", "b"] }}'
    action: test.read
    with: {v: '${{ item }}'}
  - id: flaky
    action: core.fail
    continue_on_error: true
    retry: {attempts: 2, delay: 1ms, when: 'true'}
    with: {message: boom}
  - id: never
    if: 'false'
    action: core.set
    with: {a: 1}
  - id: fix
    approval: {message: "fix it?"}
    action: test.write
    with: {v: 1}
`
	x := &executions{}
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(x.action("test.read", false, false), x.action("test.write", true, true)); err != nil {
		t.Fatal(err)
	}
	rb, diags := schema.Check("test.yaml", []byte(src), reg)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	s := openStore(t)
	var live bytes.Buffer
	shown := progress.New(&live, progress.Options{StepWidth: 5})
	run := journal.Run{ID: roundTripRun, Runbook: rb.Name, Actor: "ana", Status: string(engine.StatusRunning), StartedAt: time.Now()}
	rec := journal.NewRecorder(s, journal.RecorderOptions{Run: run, Then: shown})
	res, err := engine.Run(context.Background(), rb, nil, engine.Options{Registry: reg, RunID: roundTripRun, Actor: "ana",
		Clock: clockwork.NewRealClock(), Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	shown.Close()
	if res.Status != engine.StatusWaiting {
		t.Fatalf("status %s, want waiting", res.Status)
	}

	var replay bytes.Buffer
	again := progress.New(&replay, progress.Options{StepWidth: 5})
	err = s.Records(context.Background(), roundTripRun, time.Time{}, func(r journal.Record) error {
		events, err := r.Events()
		for _, e := range events {
			again.Event(e)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if live.String() != replay.String() {
		t.Fatalf("replayed progress differs\nlive:\n%s\nreplayed:\n%s", live.String(), replay.String())
	}
	for _, want := range []string{"hello  log", "flaky  retrying", "flaky  failed", "never  skipped", "fix    waiting"} {
		if !bytes.Contains(live.Bytes(), []byte(want)) {
			t.Fatalf("the run's progress lacks %q:\n%s", want, live.String())
		}
	}
}

// TestHeldStepStartsInOrder proves the step.started records the recorder
// holds (to merge each with its step's first attempt) are written in the
// order the steps started when no attempt came: the steps of a parallel
// group all waiting at once, say. Not in the order of a map, which changes
// from one run to the next.
func TestHeldStepStartsInOrder(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	s := openStore(t)
	run := journal.Run{ID: roundTripRun, Runbook: "parallel", Actor: "ana", Status: string(engine.StatusRunning), StartedAt: at}
	rec := journal.NewRecorder(s, journal.RecorderOptions{Run: run})
	rec.Event(&engine.Event{Type: engine.RunStarted, Time: at, RunID: roundTripRun, Runbook: "parallel", Actor: "ana", Index: -1})
	var want []string
	for i := 8; i > 0; i-- {
		step := fmt.Sprintf("check-%d", i)
		want = append(want, step)
		rec.Event(&engine.Event{Type: engine.StepStarted, Time: at, RunID: roundTripRun, Step: step, Phase: engine.PhaseMain,
			Action: "core.log", Index: -1})
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := s.Records(context.Background(), roundTripRun, time.Time{}, func(r journal.Record) error {
		d, err := r.Decode()
		if err == nil && r.Type == string(engine.StepStarted) {
			got = append(got, d.Step)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("step.started records %v, want %v", got, want)
	}
}
