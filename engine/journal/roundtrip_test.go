package journal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/schema"
)

// tally is a registered test action that keeps each execution as
// "KEY attempt N" and returns its with as its outputs.
type tally struct {
	spec  actions.Spec
	calls *[]string
	mu    *sync.Mutex
}

func (a tally) Spec() actions.Spec { return a.spec }

func (a tally) Execute(_ context.Context, req *actions.Request) (map[string]any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	*a.calls = append(*a.calls, fmt.Sprintf("%s attempt %d", req.IdempotencyKey, req.Attempt))
	return maps.Clone(req.With), nil
}

// executions counts what the test actions execute.
type executions struct {
	mu    sync.Mutex
	calls []string
}

func (x *executions) action(name string, mutates, idempotent bool) tally {
	return tally{spec: actions.Spec{Name: name, Mutates: mutates, Idempotent: idempotent,
		Input: &schema.DataSchema{Type: schema.Types{"object"}}}, calls: &x.calls, mu: &x.mu}
}

// take returns the executions so far, sorted, and forgets them.
func (x *executions) take() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := slices.Clone(x.calls)
	slices.Sort(out)
	x.calls = nil
	return out
}

const roundTripRun = "20261121-101502-0dd5ba11"

// journaled runs rb (resuming st when it is not nil) with a real
// journal.Recorder into s, as steward run and steward resume do.
func journaled(t *testing.T, s journal.Store, rb *schema.Runbook, reg *actions.Registry, st *journal.State) *engine.Result {
	t.Helper()
	opts := engine.Options{Registry: reg, RunID: roundTripRun, Actor: "ana", Clock: clockwork.NewRealClock()}
	run := journal.Run{ID: roundTripRun, Runbook: rb.Name, Actor: "ana", Status: string(engine.StatusRunning), StartedAt: time.Now()}
	if st != nil {
		resume := *st.Resume
		resume.By = "bob"
		opts.Resume = &resume
		opts.Approver = st.Approver(time.Now)
		run = st.Run
		run.Status, run.FinishedAt = string(engine.StatusRunning), time.Time{}
	}
	rec := journal.NewRecorder(s, journal.RecorderOptions{Run: run})
	opts.Sink = rec
	res, err := engine.Run(context.Background(), rb, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return res
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// crashAfter returns a new store holding the run's records of from up to
// and including the first for which last is true: the journal a crash
// right after that record leaves.
func crashAfter(t *testing.T, from journal.Store, last func(typ string, d *journal.Data) bool) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	var kept []journal.Entry
	found := false
	err := from.Records(ctx, roundTripRun, time.Time{}, func(r journal.Record) error {
		if found {
			return nil
		}
		d, err := r.Decode()
		if err != nil {
			return err
		}
		kept = append(kept, journal.Entry{Type: r.Type, Time: r.Time, Data: r.Data})
		found = last(r.Type, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatal("crashAfter: no such record in the journal")
	}
	run, err := from.Run(ctx, roundTripRun)
	if err != nil {
		t.Fatal(err)
	}
	run.Status, run.FinishedAt = string(engine.StatusRunning), time.Time{}
	to := openStore(t)
	if _, err := to.Append(ctx, journal.Batch{RunID: roundTripRun, Entries: kept, Run: &run, Sync: true}); err != nil {
		t.Fatal(err)
	}
	return to
}

// record matches the first record of typ about step in phase (and item
// index, when index >= 0).
func record(typ engine.EventType, step string, phase engine.Phase, index int) func(string, *journal.Data) bool {
	return func(got string, d *journal.Data) bool {
		if got != string(typ) || d.Step != step || d.Phase != phase {
			return false
		}
		return index < 0 || d.Index != nil && *d.Index == index
	}
}

func loadState(t *testing.T, s journal.Store) *journal.State {
	t.Helper()
	st, err := journal.Load(context.Background(), s, roundTripRun)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// inPhase says whether the runbook has step k.ID in phase k.Phase.
func inPhase(rb *schema.Runbook, k engine.StepKey) bool {
	switch k.Phase {
	case engine.PhaseOnFailure:
		return slices.ContainsFunc(rb.OnFailure, func(s *schema.Step) bool { return s.ID == k.ID })
	case engine.PhaseMain:
		return slices.ContainsFunc(rb.Steps, func(s *schema.Step) bool { return s.ID == k.ID })
	case engine.PhaseUndo:
		return slices.ContainsFunc(rb.Steps, func(s *schema.Step) bool { return s.ID == k.ID && s.Undo != nil })
	}
	return false
}

// stepsOf renders the steps Load rebuilt as "id[/phase]=status", in the
// order they started.
func stepsOf(st *journal.State) string {
	var parts []string
	for _, s := range st.Steps {
		p := s.ID
		if s.Phase != engine.PhaseMain {
			p += "/" + string(s.Phase)
		}
		parts = append(parts, p+"="+string(s.Status))
	}
	return strings.Join(parts, " ")
}

// TestRoundTripResume runs a runbook through the whole chain, engine →
// journal.Recorder → SQLite store → journal.Load → engine resume, for a
// run stopped in each phase: in the main phase (waiting for an approval),
// inside a for_each, during the undo, and during on_failure (a crash, made
// by cutting the journal after a record). Load must rebuild exactly the
// steps of each phase with their statuses, and no step that did not run;
// the resumed run must not execute again what finished, must run the rest
// with the same idempotency keys, and end as the run would have.
func TestRoundTripResume(t *testing.T) {
	const K = roundTripRun
	cases := []struct {
		name string
		src  string
		// crash cuts the journal after the first matching record; nil:
		// the run stopped by itself (it waits).
		crash func(string, *journal.Data) bool
		// approve is a step approved in the journal before the resume.
		approve string
		// stopped is what Load rebuilds of the stopped run.
		stopped string
		// executed is what the resumed run executes.
		executed []string
		status   engine.Status
		// end is what Load rebuilds of the run after the resume.
		end string
	}{
		{
			name: "main",
			src: `version: 1
name: roundtrip-main
steps:
  - id: look
    action: test.read
    with: {v: looked}
  - id: fix
    approval: {message: "fix it?"}
    action: test.write
    with: {v: '${{ steps.look.outputs.v }}'}
  - id: tell
    action: test.read
    with: {v: told}
`,
			approve:  "fix",
			stopped:  "look=succeeded fix=waiting",
			executed: []string{K + ":fix attempt 1", K + ":tell attempt 1"},
			status:   engine.StatusSucceeded,
			end:      "look=succeeded fix=succeeded tell=succeeded",
		},
		{
			name: "for_each",
			src: `version: 1
name: roundtrip-each
steps:
  - id: each
    for_each: '${{ ["a", "b", "c"] }}'
    max_parallel: 1
    action: test.write
    with: {v: '${{ item }}'}
  - id: after
    action: test.read
    with: {all: '${{ steps.each.outputs }}'}
`,
			// Item 1's attempt started (an idempotent action: it runs
			// again with the same key); item 0 finished.
			crash:    record(engine.AttemptStarted, "each", engine.PhaseMain, 1),
			stopped:  "each=running",
			executed: []string{K + ":after attempt 1", K + ":each:1 attempt 1", K + ":each:2 attempt 1"},
			status:   engine.StatusSucceeded,
			end:      "each=succeeded after=succeeded",
		},
		{
			name: "undo",
			src: `version: 1
name: roundtrip-undo
steps:
  - id: one
    action: test.write
    with: {v: r1}
    undo: {action: test.unwrite, with: {v: '${{ steps.one.outputs.v }}'}}
  - id: two
    action: test.write
    with: {v: r2}
    undo: {action: test.unwrite, with: {v: '${{ steps.two.outputs.v }}'}}
  - id: boom
    action: core.fail
    with: {message: boom}
`,
			crash:    record(engine.StepFinished, "two", engine.PhaseUndo, -1),
			stopped:  "one=succeeded two=succeeded boom=failed two/undo=succeeded",
			executed: []string{K + ":one:undo attempt 1"},
			status:   engine.StatusFailed,
			end:      "one=succeeded two=succeeded boom=failed two/undo=succeeded one/undo=succeeded",
		},
		{
			name: "on_failure",
			src: `version: 1
name: roundtrip-on-failure
steps:
  - id: one
    action: test.write
    with: {v: r1}
  - id: boom
    action: core.fail
    with: {message: boom}
on_failure:
  - id: page
    action: test.notify
    with: {v: page}
  - id: ticket
    action: test.notify
    with: {v: '${{ steps.page.outputs.v }} then ticket'}
`,
			crash:    record(engine.StepFinished, "page", engine.PhaseOnFailure, -1),
			stopped:  "one=succeeded boom=failed page/on_failure=succeeded",
			executed: []string{K + ":ticket attempt 1"},
			status:   engine.StatusFailed,
			end:      "one=succeeded boom=failed page/on_failure=succeeded ticket/on_failure=succeeded",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := &executions{}
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
				t.Fatal(err)
			}
			err := reg.Register(x.action("test.read", false, false), x.action("test.write", true, true),
				x.action("test.unwrite", true, true), x.action("test.notify", true, false))
			if err != nil {
				t.Fatal(err)
			}
			rb, diags := schema.Check("test.yaml", []byte(c.src), reg)
			if len(diags) > 0 {
				t.Fatal(diags.Render())
			}

			s := openStore(t)
			first := journaled(t, s, rb, reg, nil)
			if c.crash == nil && first.Status != engine.StatusWaiting {
				t.Fatalf("first run %s %+v, want it waiting", first.Status, first.Error)
			}
			if c.crash != nil {
				s = crashAfter(t, s, c.crash)
			}
			x.take()

			st := loadState(t, s)
			if got := stepsOf(st); got != c.stopped {
				t.Errorf("Load after the stop:\n got %s\nwant %s", got, c.stopped)
			}
			for k, p := range st.Resume.Steps {
				if !inPhase(rb, k) {
					t.Errorf("Resume holds %s in phase %q, where the runbook has no such step", k.ID, k.Phase)
				}
				if p.Result.Phase != k.Phase {
					t.Errorf("Resume's %s in phase %q says phase %q", k.ID, k.Phase, p.Result.Phase)
				}
			}
			if c.approve != "" {
				data, err := json.Marshal(&journal.Data{Step: c.approve, Approved: true, By: "lead", Comment: "go"})
				if err != nil {
					t.Fatal(err)
				}
				_, err = s.Append(context.Background(), journal.Batch{RunID: roundTripRun, Sync: true,
					Entries: []journal.Entry{{Type: journal.ApprovalDecided, Time: time.Now(), Data: data}}})
				if err != nil {
					t.Fatal(err)
				}
				st = loadState(t, s)
			}

			res := journaled(t, s, rb, reg, st)
			if res.Status != c.status {
				t.Errorf("resumed run %s %+v, want %s", res.Status, res.Error, c.status)
			}
			if got := x.take(); !slices.Equal(got, c.executed) {
				t.Errorf("the resumed run executed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.executed, "\n"))
			}
			end := loadState(t, s)
			if got := stepsOf(end); got != c.end {
				t.Errorf("Load after the resume:\n got %s\nwant %s", got, c.end)
			}
			if end.Run.Status != string(c.status) || end.Resumed != 1 {
				t.Errorf("run %s, resumed %d times", end.Run.Status, end.Resumed)
			}
		})
	}
}

// TestRoundTripInterruptedOnFailure proves an on_failure step interrupted
// in an action that mutates and is not idempotent goes through the journal
// as a main step does: resumed, it waits for a decision instead of running
// again; approved, it runs again; interrupted again, it waits for a new
// decision, the first one answering only the first interruption.
func TestRoundTripInterruptedOnFailure(t *testing.T) {
	const K = roundTripRun
	x := &executions{}
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(x.action("test.notify", true, false)); err != nil {
		t.Fatal(err)
	}
	rb, diags := schema.Check("test.yaml", []byte(`version: 1
name: roundtrip-interrupted
steps:
  - id: boom
    action: core.fail
    with: {message: boom}
on_failure:
  - id: page
    action: test.notify
    with: {v: page}
`), reg)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	attempts := 0
	nthAttempt := func(n int) func(string, *journal.Data) bool {
		attempts = 0
		return func(typ string, d *journal.Data) bool {
			if record(engine.AttemptStarted, "page", engine.PhaseOnFailure, -1)(typ, d) ||
				typ == string(engine.StepStarted) && d.Step == "page" && d.Attempt > 0 { // merged with its first attempt
				attempts++
			}
			return attempts == n
		}
	}
	waits := func(s journal.Store) {
		t.Helper()
		st := loadState(t, s)
		journaled(t, s, rb, reg, st)
		if got := x.take(); len(got) != 0 {
			t.Fatalf("executed %v without a decision", got)
		}
		st = loadState(t, s)
		if len(st.Waiting) != 1 || st.Waiting[0].Step != "page" || !st.Waiting[0].Interrupted {
			t.Fatalf("waiting %+v, want page's interrupted attempt", st.Waiting)
		}
		if got := stepsOf(st); got != "boom=failed page/on_failure=waiting" {
			t.Fatalf("steps %s", got)
		}
		// It has failed, but not ended: it goes on with the decision.
		if st.Run.Status != string(engine.StatusWaiting) || st.Error == nil || st.Error.Message != "boom" {
			t.Fatalf("status %s, error %+v; want waiting, with the failure", st.Run.Status, st.Error)
		}
	}

	first := openStore(t)
	journaled(t, first, rb, reg, nil)
	s := crashAfter(t, first, nthAttempt(1))
	x.take()
	waits(s)

	data, err := json.Marshal(&journal.Data{Step: "page", Approved: true, By: "lead", Comment: "not paged", Interrupted: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), journal.Batch{RunID: roundTripRun, Sync: true,
		Entries: []journal.Entry{{Type: journal.ApprovalDecided, Time: time.Now(), Data: data}}}); err != nil {
		t.Fatal(err)
	}
	journaled(t, s, rb, reg, loadState(t, s))
	if got := x.take(); !slices.Equal(got, []string{K + ":page attempt 1"}) {
		t.Fatalf("after the approval, executed %v", got)
	}
	// Interrupted again: the approval answered the first interruption.
	waits(crashAfter(t, s, nthAttempt(2)))
}
