package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
)

// The resumed runs of these tests started at resumeStart and resume an hour
// later, on a fake clock.
var resumeStart = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const resumedID = "20261121-090000-00c0ffee"

// priorSucceeded is a step recorded as succeeded at the given time.
func priorSucceeded(id, action string, at time.Time, outputs map[string]any) *engine.Prior {
	return &engine.Prior{
		Result: engine.StepResult{ID: id, Action: action, Status: engine.StatusSucceeded, Attempts: 1, Outputs: outputs,
			StartedAt: at.Add(-time.Second), FinishedAt: at, Duration: engine.Duration(time.Second)},
		Items: map[int]*engine.PriorItem{-1: {Status: engine.StatusSucceeded, Outputs: outputs, Attempt: 1}},
	}
}

// priorUnfinished is a step that started and did not end.
func priorUnfinished(id, action string, items map[int]*engine.PriorItem) *engine.Prior {
	return &engine.Prior{Result: engine.StepResult{ID: id, Action: action, Status: engine.StatusRunning, StartedAt: resumeStart}, Items: items}
}

func resumeOf(steps map[engine.StepKey]*engine.Prior) *engine.Resume {
	return &engine.Resume{StartedAt: resumeStart, By: "bob", Steps: steps}
}

func mainKey(id string) engine.StepKey { return engine.StepKey{ID: id} }

func undoKey(id string) engine.StepKey { return engine.StepKey{Phase: engine.PhaseUndo, ID: id} }

// resumeOpts are the options of a resumed run, as `steward resume` gives
// them.
func resumeOpts(rec engine.Sink, res *engine.Resume) engine.Options {
	return engine.Options{RunID: resumedID, Actor: "ana", Sink: rec, Resume: res,
		Clock: clockwork.NewFakeClockAt(resumeStart.Add(time.Hour))}
}

// TestResumeReusesFinishedSteps proves a step that finished before the run
// stopped is not executed again, emits nothing, and feeds later steps its
// recorded outputs (or status, when skipped); the stream starts with
// run.resumed by whoever resumed, and the run keeps its start time.
func TestResumeReusesFinishedSteps(t *testing.T) {
	l := &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false))
	rb := load(t, reg, `version: 1
name: reuse
steps:
  - id: a
    action: test.count
    with: {v: fresh}
  - id: s
    if: true
    action: test.count
  - id: b
    action: test.count
    with: {v: '${{ steps.a.outputs.v }}!', s: '${{ steps.s.status }}'}
outputs:
  v: ${{ steps.b.outputs.v }}
`)
	rec := &recorder{}
	skipped := &engine.Prior{Result: engine.StepResult{ID: "s", Action: "test.count", Status: engine.StatusSkipped, Reason: "if was false"}}
	res := run(t, rb, reg, nil, resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("a"): priorSucceeded("a", "test.count", resumeStart.Add(time.Minute), map[string]any{"v": "recorded"}),
		mainKey("s"): skipped,
	})))
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := l.calls(); !slices.Equal(got, []string{resumedID + ":b attempt 1"}) {
		t.Errorf("executed %v, want only b", got)
	}
	if res.Outputs["v"] != "recorded!" || res.Step("b", "").Outputs.(map[string]any)["s"] != "skipped" {
		t.Errorf("outputs %v, b %v", res.Outputs, res.Step("b", "").Outputs)
	}
	want := []string{"run.resumed", "step.started b", "attempt.started b", "step.finished b succeeded", "run.finished succeeded"}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e := rec.events[0]; e.Actor != "bob" || e.Inputs != nil {
		t.Errorf("run.resumed actor %q inputs %v", e.Actor, e.Inputs)
	}
	if got := statuses(res); got != "a=succeeded s=skipped b=succeeded" {
		t.Error(got)
	}
	if a := res.Step("a", ""); !a.FinishedAt.Equal(resumeStart.Add(time.Minute)) || a.Attempts != 1 {
		t.Errorf("a's record not kept: %+v", a)
	}
	if !res.StartedAt.Equal(resumeStart) || res.Duration != engine.Duration(time.Hour) {
		t.Errorf("started %s, lasted %s", res.StartedAt, time.Duration(res.Duration))
	}
}

// TestResumeRerunsSafeAttempts proves an unfinished step runs again, with
// no question asked, when that is safe: an interrupted attempt of an
// idempotent or read-only action runs again as the same attempt with the
// same idempotency key; after an attempt that failed, the next attempt.
func TestResumeRerunsSafeAttempts(t *testing.T) {
	cases := []struct {
		name                string
		mutates, idempotent bool
		prior               engine.PriorItem
		retry               string
		want                int
	}{
		{"interrupted idempotent", true, true, engine.PriorItem{Attempt: 2, Open: true, Mutates: true, Idempotent: true}, "", 2},
		{"interrupted read-only", false, false, engine.PriorItem{Attempt: 3, Open: true}, "", 3},
		{"after a failed attempt", true, false, engine.PriorItem{Attempt: 2, Mutates: true}, "retry: {attempts: 3}", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := &ledger{}
			reg := registry(t, clockwork.NewRealClock(), l.action("test.pay", c.mutates, c.idempotent))
			rb := load(t, reg, `version: 1
name: rerun
steps:
  - id: pay
    action: test.pay
    `+c.retry+`
`)
			rec := &recorder{}
			ap := &stubApprover{err: errors.New("nobody should be asked")}
			opts := resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
				mainKey("pay"): priorUnfinished("pay", "test.pay", map[int]*engine.PriorItem{-1: &c.prior}),
			}))
			opts.Approver = ap
			res := run(t, rb, reg, nil, opts)
			if res.Status != engine.StatusSucceeded {
				t.Fatalf("status %s %+v", res.Status, res.Error)
			}
			want := fmt.Sprintf("%s:pay attempt %d", resumedID, c.want)
			if got := l.calls(); !slices.Equal(got, []string{want}) {
				t.Errorf("executed %v, want [%s]", got, want)
			}
			if len(ap.requests()) > 0 {
				t.Errorf("asked %+v", ap.requests())
			}
			if e := firstEvent(rec, engine.AttemptStarted, "pay", ""); e.Attempt != c.want || e.Key != resumedID+":pay" {
				t.Errorf("attempt.started attempt %d key %q", e.Attempt, e.Key)
			}
			if a := res.Step("pay", "").Attempts; a != c.want {
				t.Errorf("attempts %d", a)
			}
		})
	}
}

// TestResumeInterruptedUnsafeAttempt proves an interrupted attempt of an
// action that mutates and is not idempotent is not run again without a
// person's decision: the step and the run wait on an Interrupted request;
// approved, the attempt runs again; denied, the step fails.
func TestResumeInterruptedUnsafeAttempt(t *testing.T) {
	const src = `version: 1
name: unsafe
steps:
  - id: pay
    action: test.pay
    with: {amount: 10}
  - id: after
    action: core.set
`
	prior := func() *engine.Resume {
		return resumeOf(map[engine.StepKey]*engine.Prior{
			mainKey("pay"): priorUnfinished("pay", "test.pay", map[int]*engine.PriorItem{-1: {Attempt: 1, Open: true, Mutates: true}}),
		})
	}

	t.Run("pending", func(t *testing.T) {
		l := &ledger{}
		reg := registry(t, clockwork.NewRealClock(), l.action("test.pay", true, false))
		rb := load(t, reg, src)
		rec := &recorder{}
		ap := &stubApprover{err: engine.ErrPending}
		opts := resumeOpts(rec, prior())
		opts.Approver = ap
		res := run(t, rb, reg, nil, opts)
		if res.Status != engine.StatusWaiting || statuses(res) != "pay=waiting after=pending" {
			t.Fatalf("%s %s", res.Status, statuses(res))
		}
		if got := l.calls(); len(got) != 0 {
			t.Errorf("executed %v without a decision", got)
		}
		reqs := ap.requests()
		if len(reqs) != 1 {
			t.Fatalf("requests %+v", reqs)
		}
		r := reqs[0]
		if !r.Interrupted || r.RunID != resumedID || r.Step != "pay" || r.Action != "test.pay" || r.Actor != "ana" ||
			!strings.HasPrefix(r.Message, "interrupted during attempt 1 of test.pay, which mutates and is not idempotent") {
			t.Errorf("request %+v", r)
		}
		if e := firstEvent(rec, engine.StepWaiting, "pay", ""); e == nil || !e.Interrupted || e.Message != r.Message {
			t.Errorf("step.waiting %+v", e)
		}
		if e := firstEvent(rec, engine.AttemptStarted, "pay", ""); e != nil {
			t.Errorf("attempt started: %+v", e)
		}
	})

	t.Run("approved", func(t *testing.T) {
		l := &ledger{}
		reg := registry(t, clockwork.NewRealClock(), l.action("test.pay", true, false))
		rb := load(t, reg, src)
		rec := &recorder{}
		opts := resumeOpts(rec, prior())
		opts.Approver = &stubApprover{d: engine.Decision{Approved: true, By: "lead", Comment: "checked: not charged"}}
		res := run(t, rb, reg, nil, opts)
		if res.Status != engine.StatusSucceeded {
			t.Fatalf("status %s %+v", res.Status, res.Error)
		}
		if got := l.calls(); !slices.Equal(got, []string{resumedID + ":pay attempt 1"}) {
			t.Errorf("executed %v", got)
		}
		if e := firstEvent(rec, engine.StepApproved, "pay", ""); e == nil || e.Message != "approved by lead: checked: not charged" {
			t.Errorf("step.approved %+v", e)
		}
	})

	t.Run("denied", func(t *testing.T) {
		l := &ledger{}
		reg := registry(t, clockwork.NewRealClock(), l.action("test.pay", true, false))
		rb := load(t, reg, src)
		opts := resumeOpts(&recorder{}, prior())
		opts.Approver = &stubApprover{d: engine.Decision{Approved: false, By: "lead", Comment: "it went through"}}
		res := run(t, rb, reg, nil, opts)
		if res.Status != engine.StatusFailed || res.Error.Code != engine.CodeDenied || res.Error.Step != "pay" ||
			res.Error.Message != "approval denied by lead: it went through" {
			t.Fatalf("status %s %+v", res.Status, res.Error)
		}
		if got := l.calls(); len(got) != 0 {
			t.Errorf("executed %v after a denial", got)
		}
		if got := statuses(res); got != "pay=failed after=skipped" {
			t.Error(got)
		}
	})
}

// TestResumeForEachKeepsFinishedItems proves the items of a for_each that
// finished are not run again and keep their recorded outputs, in order
// among the new ones; interrupted and unstarted items run, each with its
// own key.
func TestResumeForEachKeepsFinishedItems(t *testing.T) {
	l := &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false))
	rb := load(t, reg, `version: 1
name: each
steps:
  - id: each
    for_each: '${{ ["a", "b", "c", "d"] }}'
    max_parallel: 2
    action: test.count
    with: {v: '${{ item }}'}
    outputs:
      up: ${{ upper(result.v) }}
outputs:
  all: ${{ map(steps.each.outputs, .up) }}
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("each"): priorUnfinished("each", "test.count", map[int]*engine.PriorItem{
			0: {Status: engine.StatusSucceeded, Outputs: map[string]any{"up": "A (before)"}, Attempt: 1},
			1: {Attempt: 1, Open: true},
			2: {Status: engine.StatusSucceeded, Outputs: map[string]any{"up": "C (before)"}, Attempt: 2},
		}),
	})))
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	want := []string{resumedID + ":each:1 attempt 1", resumedID + ":each:3 attempt 1"}
	if got := l.calls(); !slices.Equal(got, want) {
		t.Errorf("executed %v, want %v", got, want)
	}
	if got := res.Outputs["all"]; !slices.Equal(got.([]any), []any{"A (before)", "B", "C (before)", "D"}) {
		t.Errorf("outputs %v", got)
	}
	// Items 0 and 2 are recorded already: nothing is said of them again.
	var said []string
	for _, e := range rec.events {
		if e.Type == engine.AttemptStarted || e.Type == engine.ItemFinished {
			said = append(said, fmt.Sprintf("%s %d", e.Type, e.Index))
		}
	}
	slices.Sort(said)
	if want := []string{"attempt.started 1", "attempt.started 3", "item.finished 1", "item.finished 3"}; !slices.Equal(said, want) {
		t.Errorf("item events %v, want %v", said, want)
	}
	if a := res.Step("each", "").Attempts; a != 2 {
		t.Errorf("attempts %d, want 2 (item 2's, recorded)", a)
	}
}

// TestResumeForEachFailedItem proves an item recorded as failed fails its
// step on resume, as it would have, and that the run leaves the recorded
// error as it was.
func TestResumeForEachFailedItem(t *testing.T) {
	l := &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false))
	rb := load(t, reg, `version: 1
name: each
steps:
  - id: each
    for_each: '${{ ["a", "b", "c"] }}'
    max_parallel: 1
    action: test.count
    with: {v: '${{ item }}'}
`)
	prior := resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("each"): priorUnfinished("each", "test.count", map[int]*engine.PriorItem{
			0: {Status: engine.StatusFailed, Error: &engine.ErrorInfo{Code: "nope", Message: "no a", Step: "each"}, Attempt: 1},
		}),
	})
	for range 2 { // the same state resumed twice gives the same run
		res := run(t, rb, reg, nil, resumeOpts(&recorder{}, prior))
		if res.Status != engine.StatusFailed || res.Error.Code != "nope" || res.Error.Message != "item 0 of 3: no a" {
			t.Fatalf("status %s %+v", res.Status, res.Error)
		}
	}
	if got := l.calls(); len(got) != 0 {
		t.Errorf("executed %v after a failed item", got)
	}
	if m := prior.Steps[mainKey("each")].Items[0].Error.Message; m != "no a" {
		t.Errorf("the run changed the recorded error to %q", m)
	}
}

const undoRunbook = `version: 1
name: undo
steps:
  - id: one
    action: test.count
    with: {v: r1}
    undo: {action: test.undo, with: {what: '${{ steps.one.outputs.v }}'}}
  - id: two
    needs: []
    action: test.count
    with: {v: r2}
    undo: {action: test.undo, with: {what: '${{ steps.two.outputs.v }}'}}
  - id: three
    needs: [one, two]
    action: test.count
    with: {v: r3}
    undo: {action: test.undo, with: {what: '${{ steps.three.outputs.v }}'}}
  - id: boom
    action: core.fail
    with: {message: boom}
`

// TestResumeUndoIncludesStepsBefore proves a run that fails after a resume
// undoes the steps that succeeded before the resume too, with their
// recorded outputs, in reverse order of completion: by when they finished,
// not by when they were declared or reused.
func TestResumeUndoIncludesStepsBefore(t *testing.T) {
	l, u := &ledger{}, &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false), u.action("test.undo", true, false))
	rb := load(t, reg, undoRunbook)
	rec := &recorder{}
	res := run(t, rb, reg, nil, resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		// two finished before one.
		mainKey("one"): priorSucceeded("one", "test.count", resumeStart.Add(2*time.Minute), map[string]any{"v": "r1 (before)"}),
		mainKey("two"): priorSucceeded("two", "test.count", resumeStart.Add(time.Minute), map[string]any{"v": "r2 (before)"}),
	})))
	if res.Status != engine.StatusFailed || res.Error.Message != "boom" {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := l.calls(); !slices.Equal(got, []string{resumedID + ":three attempt 1"}) {
		t.Errorf("executed %v", got)
	}
	if got := u.what(); !slices.Equal(got, []string{"r3", "r1 (before)", "r2 (before)"}) {
		t.Errorf("undo order %v, want [r3 r1 (before) r2 (before)]", got)
	}
	if got := statuses(res); got != "one=succeeded two=succeeded three=succeeded boom=failed three/undo=succeeded one/undo=succeeded two/undo=succeeded" {
		t.Error(got)
	}
}

// TestResumeDuringUndo proves a run stopped while undoing goes on with the
// undo: an undo recorded as finished is not run again, an interrupted undo
// of an action that is not idempotent is not guessed at (it fails, asking
// for a check by hand), and the others run.
func TestResumeDuringUndo(t *testing.T) {
	l, u := &ledger{}, &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false), u.action("test.undo", true, false))
	rb := load(t, reg, undoRunbook)
	boom := &engine.Prior{Result: engine.StepResult{ID: "boom", Action: "core.fail", Status: engine.StatusFailed,
		Error: &engine.ErrorInfo{Code: actions.CodeFailed, Message: "boom", Step: "boom"}, FinishedAt: resumeStart.Add(4 * time.Minute)}}
	undone := priorSucceeded("three", "test.undo", resumeStart.Add(5*time.Minute), map[string]any{"what": "r3"})
	undone.Result.Phase = engine.PhaseUndo
	interrupted := priorUnfinished("two", "test.undo", map[int]*engine.PriorItem{-1: {Attempt: 1, Open: true, Mutates: true}})
	interrupted.Result.Phase = engine.PhaseUndo
	rec := &recorder{}
	res := run(t, rb, reg, nil, resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("one"):   priorSucceeded("one", "test.count", resumeStart.Add(time.Minute), map[string]any{"v": "r1"}),
		mainKey("two"):   priorSucceeded("two", "test.count", resumeStart.Add(2*time.Minute), map[string]any{"v": "r2"}),
		mainKey("three"): priorSucceeded("three", "test.count", resumeStart.Add(3*time.Minute), map[string]any{"v": "r3"}),
		mainKey("boom"):  boom,
		undoKey("three"): undone,
		undoKey("two"):   interrupted,
	})))
	if res.Status != engine.StatusFailed || res.Error.Message != "boom" {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := l.calls(); len(got) != 0 {
		t.Errorf("main steps executed again: %v", got)
	}
	if got := u.what(); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("undone %v, want [r1]", got)
	}
	if got := statuses(res); got != "one=succeeded two=succeeded three=succeeded boom=failed three/undo=succeeded two/undo=failed one/undo=succeeded" {
		t.Error(got)
	}
	if e := res.Step("two", engine.PhaseUndo).Error; e == nil || !strings.Contains(e.Message, "not run again; check by hand") {
		t.Errorf("two/undo error %+v", e)
	}
	want := []string{"run.resumed", "step.finished two/undo failed", "step.started one/undo", "attempt.started one/undo",
		"step.finished one/undo succeeded", "run.finished failed"}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestResumeCancelled proves how `steward cancel` stops a waiting run: a
// resume with a cancelled context starts no step, undoes the steps that
// finished before, and ends cancelled without on_failure.
func TestResumeCancelled(t *testing.T) {
	l, u := &ledger{}, &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.count", false, false), u.action("test.undo", true, false))
	rb := load(t, reg, `version: 1
name: cancel
steps:
  - id: one
    action: test.count
    with: {v: r1}
    undo: {action: test.undo, with: {what: '${{ steps.one.outputs.v }}'}}
  - id: two
    approval: {message: "go?"}
    action: test.count
  - id: three
    action: test.count
on_failure:
  - id: page
    action: test.count
`)
	waiting := &engine.Prior{Result: engine.StepResult{ID: "two", Action: "test.count", Status: engine.StatusWaiting}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := &recorder{}
	opts := resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("one"): priorSucceeded("one", "test.count", resumeStart.Add(time.Minute), map[string]any{"v": "r1"}),
		mainKey("two"): waiting,
	}))
	opts.Registry = reg
	opts.Approver = &stubApprover{d: engine.Decision{Approved: true, By: "lead"}}
	res, err := engine.Run(ctx, rb, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusCancelled || res.Error.Code != actions.CodeCancelled {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := l.calls(); len(got) != 0 {
		t.Errorf("executed %v", got)
	}
	if got := u.what(); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("undone %v, want [r1]", got)
	}
	if got := statuses(res); got != "one=succeeded two=skipped three=skipped one/undo=succeeded" {
		t.Error(got)
	}
	want := []string{"run.resumed", "step.started one/undo", "attempt.started one/undo", "step.finished one/undo succeeded", "run.finished cancelled"}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
