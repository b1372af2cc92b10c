package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// written is a journal.Store that remembers every batch appended, with
// whether it was made durable (Sync).
type written struct {
	journal.Store
	mu      sync.Mutex
	batches []writtenBatch
}

type writtenBatch struct {
	sync    bool
	records []string // "TYPE STEP[/PHASE] STATUS"
}

func (w *written) Append(ctx context.Context, b journal.Batch) ([]journal.Record, error) {
	recs, err := w.Store.Append(ctx, b)
	if err != nil {
		return recs, err
	}
	wb := writtenBatch{sync: b.Sync}
	for _, e := range b.Entries {
		var d journal.Data
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, err
		}
		wb.records = append(wb.records, recordName(e.Type, d.Step, d.Phase, d.Status))
	}
	w.mu.Lock()
	w.batches = append(w.batches, wb)
	w.mu.Unlock()
	return recs, nil
}

func recordName(typ, step string, phase engine.Phase, status engine.Status) string {
	if phase != engine.PhaseMain {
		step += "/" + string(phase)
	}
	return fmt.Sprintf("%s %s %s", typ, step, status)
}

// find says whether record name was appended, and whether durably.
func (w *written) find(name string) (found, durable bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.batches {
		for _, r := range b.records {
			if r == name {
				return true, b.sync
			}
		}
	}
	return false, false
}

// count is how many records named name were appended.
func (w *written) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.batches {
		for _, r := range b.records {
			if r == name {
				n++
			}
		}
	}
	return n
}

// hook is a registered test action that calls do when it executes.
type hook struct {
	spec actions.Spec
	do   func(ctx context.Context) error
}

func (h hook) Spec() actions.Spec { return h.spec }

func (h hook) Execute(ctx context.Context, _ *actions.Request) (map[string]any, error) {
	return map[string]any{}, h.do(ctx)
}

func newHook(name string, mutates bool, do func(ctx context.Context) error) hook {
	return hook{spec: actions.Spec{Name: name, Mutates: mutates, Input: &schema.DataSchema{Type: schema.Types{"object"}}}, do: do}
}

// recorded runs src with a Recorder into w, showing progress to then.
func recorded(t *testing.T, w *written, src string, then engine.Sink, acts ...actions.Action) *engine.Result {
	t.Helper()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(acts...); err != nil {
		t.Fatal(err)
	}
	rb, diags := schema.Check("test.yaml", []byte(src), reg)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	run := journal.Run{ID: roundTripRun, Runbook: rb.Name, Actor: "ana", Status: string(engine.StatusRunning), StartedAt: time.Now()}
	rec := journal.NewRecorder(w, journal.RecorderOptions{Run: run, Then: then})
	res, err := engine.Run(context.Background(), rb, nil, engine.Options{Registry: reg, RunID: roundTripRun, Actor: "ana",
		Clock: clockwork.NewRealClock(), Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestRecorderMutatingEndDurableFirst: the end of an attempt of an action
// that mutates is written durably before the next step starts (its
// action runs) and before the progress shows it; every event the
// progress shows is written first.
func TestRecorderMutatingEndDurableFirst(t *testing.T) {
	w := &written{Store: openStore(t)}
	var problems []string
	finished := recordName(string(engine.StepFinished), "write", engine.PhaseMain, engine.StatusSucceeded)
	check := func(when string) {
		if found, durable := w.find(finished); !found || !durable {
			problems = append(problems, fmt.Sprintf("%s: the end of step write is written %v, durably %v", when, found, durable))
		}
	}
	shown := map[string]int{}
	then := engine.SinkFunc(func(e *engine.Event) {
		name := recordName(string(e.Type), e.Step, e.Phase, e.Status)
		if e.Type == engine.AttemptStarted && e.Attempt == 1 && e.Index < 0 {
			// Merged into the step.started record of its step.
			return
		}
		shown[name]++
		if w.count(name) < shown[name] {
			problems = append(problems, "the progress shows "+name+" before it is written")
		}
		if name == finished {
			check("when the progress shows it")
		}
	})
	res := recorded(t, w, `version: 1
name: durable
steps:
  - id: write
    action: test.write
  - id: read
    action: test.read
`, then,
		newHook("test.write", true, func(context.Context) error { return nil }),
		newHook("test.read", false, func(context.Context) error { check("when the next step runs"); return nil }))
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if shown[finished] != 1 {
		t.Errorf("the progress showed step write finished %d times, want 1", shown[finished])
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestRecorderTimerWritesReadOnlyWork: the records of read-only work are
// written by the recorder's timer (FlushEvery, within the 250 ms that
// docs/running.md promises), without an fsync, while the next step still
// runs and sends no event; the progress shows the finished step then.
func TestRecorderTimerWritesReadOnlyWork(t *testing.T) {
	if journal.FlushEvery > 250*time.Millisecond {
		t.Fatalf("FlushEvery is %s: docs/running.md promises at most 250 ms", journal.FlushEvery)
	}
	w := &written{Store: openStore(t)}
	finished := recordName(string(engine.StepFinished), "look", engine.PhaseMain, engine.StatusSucceeded)
	shownLook := make(chan struct{})
	var once sync.Once
	then := engine.SinkFunc(func(e *engine.Event) {
		if recordName(string(e.Type), e.Step, e.Phase, e.Status) == finished {
			once.Do(func() { close(shownLook) })
		}
	})
	var written, durable bool
	res := recorded(t, w, `version: 1
name: timer
steps:
  - id: look
    action: test.read
  - id: wait
    action: test.block
`, then,
		newHook("test.read", false, func(context.Context) error { return nil }),
		newHook("test.block", false, func(ctx context.Context) error {
			// Nothing happens in the run while this step waits: only the
			// timer can write the records of look, and show it.
			select {
			case <-shownLook:
			case <-time.After(time.Minute): // a guard against a hang, not a measure
				return fmt.Errorf("the progress never showed step look while the next step ran")
			}
			written, durable = w.find(finished)
			return nil
		}))
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if !written || durable {
		t.Errorf("the end of step look: written %v, durably %v; want written, not durably", written, durable)
	}
}
