package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
)

func TestChainPassesOutputs(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: chain
inputs:
  n: {type: integer, default: 2}
vars:
  double: ${{ inputs.n * 2 }}
steps:
  - id: a
    action: core.set
    with: {v: '${{ vars.double }}'}
  - id: b
    action: core.set
    with:
      v: ${{ steps.a.outputs.v + 1 }}
      text: "a=${{ steps.a.outputs.v }} ok=${{ true }} list=${{ [1, 2] }}"
    outputs:
      sum: ${{ result.v * 10 }}
      text: ${{ result.text }}
outputs:
  sum: ${{ steps.b.outputs.sum }}
  text: ${{ steps.b.outputs.text }}
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, engine.Options{Sink: rec})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, res.Error)
	}
	want := []string{"run.started", "step.started a", "attempt.started a", "step.finished a succeeded",
		"step.started b", "attempt.started b", "step.finished b succeeded", "run.finished succeeded"}
	if got := rec.lines(); !slices.Equal(got, want) {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Outputs["sum"] != 50 || res.Outputs["text"] != "a=4 ok=true list=[1,2]" {
		t.Errorf("outputs = %#v", res.Outputs)
	}
}

func TestSkippedStepStillRunsDependents(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: skip
steps:
  - id: a
    if: 1 > 2
    action: core.set
    with: {x: 1}
  - id: b
    action: core.set
    with: {a: '${{ steps.a.status }}', out: '${{ steps.a.outputs.x ?? "none" }}'}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if got := statuses(res); got != "a=skipped b=succeeded" {
		t.Fatal(got)
	}
	if out := res.Step("b", "").Outputs.(map[string]any); out["a"] != "skipped" || out["out"] != "none" {
		t.Errorf("b outputs = %v", out)
	}
}

// TestParallelStepsOverlap proves independent steps run at once: each
// waits until the other has started, which would never happen one by one.
func TestParallelStepsOverlap(t *testing.T) {
	var started sync.WaitGroup
	started.Add(2)
	meet := act("test.meet", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		started.Done()
		done := make(chan struct{})
		go func() { started.Wait(); close(done) }()
		select {
		case <-done:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	reg := registry(t, clockwork.NewRealClock(), meet)
	rb := load(t, reg, `version: 1
name: par
timeout: 30s
steps:
  - id: a
    action: test.meet
  - id: b
    needs: []
    action: test.meet
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("status %s: %+v", res.Status, res.Error)
	}
}

func TestParallelBound(t *testing.T) {
	var now, peak atomic.Int32
	probe := act("test.probe", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		now.Add(-1)
		return nil, nil
	})
	reg := registry(t, clockwork.NewRealClock(), probe)
	rb := load(t, reg, `version: 1
name: bound
steps:
  - id: many
    for_each: ${{ 0..19 }}
    action: test.probe
`)
	res := run(t, rb, reg, nil, engine.Options{Parallel: 3})
	if res.Status != engine.StatusSucceeded {
		t.Fatal(res.Error)
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("%d actions ran at once with --parallel 3", p)
	}
}

func TestFailureStopsUndoesInReverseAndRunsOnFailure(t *testing.T) {
	var mu sync.Mutex
	var undone []string
	undo := act("test.undo", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		undone = append(undone, req.With["what"].(string))
		return nil, nil
	})
	boom := act("test.boom", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		return nil, errf("card_declined", false, "card declined")
	})
	hang := act("test.hang", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	reg := registry(t, clockwork.NewRealClock(), undo, boom, hang)
	rb := load(t, reg, `version: 1
name: fail
steps:
  - id: one
    action: core.set
    with: {id: r1}
    undo: {action: test.undo, with: {what: '${{ steps.one.outputs.id }}'}}
  - id: two
    action: core.set
    undo: {action: test.undo, with: {what: two}}
  - id: slow
    needs: [two]
    action: test.hang
    undo: {action: test.undo, with: {what: slow}}
  - id: three
    needs: [two]
    action: test.boom
  - id: never
    needs: [three]
    action: core.set
on_failure:
  - id: escalate
    action: core.set
    with: {msg: '${{ error.message }}', step: '${{ error.step }}', code: '${{ error.code }}'}
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, engine.Options{Sink: rec})
	if res.Status != engine.StatusFailed || res.Error.Message != "card declined" || res.Error.Step != "three" {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
	if got := statuses(res); got != "one=succeeded two=succeeded slow=cancelled three=failed never=skipped two/undo=succeeded one/undo=succeeded escalate/on_failure=succeeded" {
		t.Error(got)
	}
	if !slices.Equal(undone, []string{"two", "r1"}) {
		t.Errorf("undo order %v, want [two r1]", undone)
	}
	esc := res.Step("escalate", engine.PhaseOnFailure).Outputs.(map[string]any)
	if esc["msg"] != "card declined" || esc["step"] != "three" || esc["code"] != "card_declined" {
		t.Errorf("on_failure saw %v", esc)
	}
}

func TestContinueOnError(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: coe
steps:
  - id: a
    action: core.fail
    with: {message: nope}
    continue_on_error: true
  - id: b
    action: core.set
    with: {saw: '${{ steps.a.error.message }}', status: '${{ steps.a.status }}'}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusSucceeded || statuses(res) != "a=failed b=succeeded" {
		t.Fatalf("%s %s", res.Status, statuses(res))
	}
	if out := res.Step("b", "").Outputs.(map[string]any); out["saw"] != "nope" || out["status"] != "failed" {
		t.Errorf("b saw %v", out)
	}
}

// TestErrorOfASucceededStep: steps.ID.error is nil when the step did not
// fail, and reading its fields through ?. compares as nil, not as a string
// (expr would otherwise compile a string comparison that panics on nil).
func TestErrorOfASucceededStep(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: nilerr
steps:
  - id: a
    action: core.set
    with: {x: 1}
  - id: b
    action: core.set
    with:
      is_x: ${{ steps.a.error?.code == "x" }}
      not_found: ${{ steps.a.error?.code not in ["not_found"] }}
      retryable: ${{ steps.a.error?.retryable ?? false }}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("%s: %v", res.Status, res.Error)
	}
	if out := res.Step("b", "").Outputs.(map[string]any); out["is_x"] != false || out["not_found"] != true || out["retryable"] != false {
		t.Errorf("b = %v", out)
	}
}

// advance moves a fake clock each time the run waits on it, by the waits
// given, and returns when the run ends.
func runWithFakeClock(t *testing.T, fc *clockwork.FakeClock, waits []time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, d := range waits {
		if err := fc.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("the run never waited for %s", d)
		}
		fc.Advance(d)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the run did not finish")
	}
}

func TestRetryBacksOffAsDeclared(t *testing.T) {
	fc := clockwork.NewFakeClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	var calls []time.Time
	flaky := act("test.flaky", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		calls = append(calls, fc.Now())
		if req.Attempt < 5 {
			return nil, errf("unavailable", true, "try again")
		}
		return map[string]any{"attempt": req.Attempt}, nil
	})
	reg := registry(t, fc, flaky)
	rb := load(t, reg, `version: 1
name: retry
steps:
  - id: call
    action: test.flaky
    retry: {attempts: 5, delay: 1s, backoff: 3, max_delay: 5s}
`)
	rec := &recorder{}
	var res *engine.Result
	runWithFakeClock(t, fc, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}, func() {
		res = run(t, rb, reg, nil, engine.Options{Clock: fc, Sink: rec})
	})
	if res.Status != engine.StatusSucceeded || res.Step("call", "").Attempts != 5 {
		t.Fatalf("status %s attempts %d", res.Status, res.Step("call", "").Attempts)
	}
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	if want := []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}; !slices.Equal(gaps, want) {
		t.Errorf("waits between attempts %v, want %v", gaps, want)
	}
	var retryIn []time.Duration
	for _, e := range rec.events {
		if e.Type == engine.AttemptFailed {
			retryIn = append(retryIn, e.RetryIn)
		}
	}
	if len(retryIn) != 4 || retryIn[0] != time.Second || retryIn[3] != 5*time.Second {
		t.Errorf("attempt.failed retry_in %v", retryIn)
	}
}

func TestRetryJitterAndWhen(t *testing.T) {
	fc := clockwork.NewFakeClock()
	var attempts atomic.Int32
	flaky := act("test.flaky", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		attempts.Add(1)
		return nil, errf("rate_limited", false, "slow down")
	})
	reg := registry(t, fc, flaky)
	rb := load(t, reg, `version: 1
name: retry
steps:
  - id: call
    action: test.flaky
    retry: {attempts: 3, delay: 2s, backoff: 1, jitter: 0.5, when: 'error.code == "rate_limited"'}
`)
	var res *engine.Result
	// jitter 0.5 × 0.5 of 2s adds 0.5s to each wait.
	runWithFakeClock(t, fc, []time.Duration{2500 * time.Millisecond, 2500 * time.Millisecond}, func() {
		res = run(t, rb, reg, nil, engine.Options{Clock: fc, Jitter: func() float64 { return 0.5 }})
	})
	if res.Status != engine.StatusFailed || attempts.Load() != 3 || res.Error.Code != "rate_limited" {
		t.Fatalf("status %s attempts %d error %+v", res.Status, attempts.Load(), res.Error)
	}
}

func TestNotRetryableStopsAtOnce(t *testing.T) {
	var attempts atomic.Int32
	bad := act("test.bad", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		attempts.Add(1)
		return nil, errors.New("plain failure")
	})
	reg := registry(t, clockwork.NewRealClock(), bad)
	rb := load(t, reg, `version: 1
name: noretry
steps:
  - id: call
    action: test.bad
    retry: {attempts: 5}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if attempts.Load() != 1 || res.Error.Message != "plain failure" || res.Error.Code != actions.CodeFailed {
		t.Fatalf("attempts %d error %+v", attempts.Load(), res.Error)
	}
}

func TestStepTimeoutCancelsAction(t *testing.T) {
	fc := clockwork.NewFakeClock()
	var sawDeadline atomic.Bool
	hang := act("test.hang", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		sawDeadline.Store(!req.Deadline.IsZero())
		<-ctx.Done()
		return nil, ctx.Err()
	})
	reg := registry(t, fc, hang)
	rb := load(t, reg, `version: 1
name: timeout
steps:
  - id: wait
    action: test.hang
    timeout: 30s
`)
	var res *engine.Result
	runWithFakeClock(t, fc, []time.Duration{30 * time.Second}, func() {
		res = run(t, rb, reg, nil, engine.Options{Clock: fc})
	})
	if res.Status != engine.StatusFailed || res.Error.Code != actions.CodeTimeout || res.Error.Message != "the step timed out after 30s" {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
	if !sawDeadline.Load() {
		t.Error("the action was not given its deadline")
	}
}

func TestRunTimeoutFailsTheRun(t *testing.T) {
	fc := clockwork.NewFakeClock()
	started := make(chan struct{})
	hang := act("test.hang", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	reg := registry(t, fc, hang)
	rb := load(t, reg, `version: 1
name: runtimeout
timeout: 1m
steps:
  - id: wait
    action: test.hang
on_failure:
  - id: report
    action: core.set
    with: {why: '${{ error.message }}'}
`)
	var res *engine.Result
	done := make(chan struct{})
	go func() { defer close(done); res = run(t, rb, reg, nil, engine.Options{Clock: fc}) }()
	// The run's timer exists before the step starts: advance only once
	// the step is running, so that it is the one the timeout cancels.
	<-started
	fc.Advance(time.Minute)
	<-done
	if res.Status != engine.StatusFailed || res.Error.Code != actions.CodeTimeout {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
	if got := statuses(res); got != "wait=cancelled report/on_failure=succeeded" {
		t.Error(got)
	}
	if why := res.Step("report", engine.PhaseOnFailure).Outputs.(map[string]any)["why"]; why != "the run timed out after 1m0s" {
		t.Errorf("on_failure saw %q", why)
	}
}

func TestForEach(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: each
steps:
  - id: each
    for_each: '${{ ["a", "b", "c"] }}'
    max_parallel: 2
    action: core.set
    with: {v: '${{ item }}${{ index }}'}
    outputs:
      up: ${{ upper(result.v) }}
outputs:
  all: ${{ map(steps.each.outputs, .up) }}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusSucceeded {
		t.Fatal(res.Error)
	}
	if got := res.Outputs["all"]; !slices.Equal(got.([]any), []any{"A0", "B1", "C2"}) {
		t.Errorf("outputs %v", got)
	}
}

func TestForEachFailingItem(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: each
steps:
  - id: each
    for_each: '${{ [1, 2, 3] }}'
    max_parallel: 1
    action: core.fail
    with: {message: 'item ${{ item }} failed'}
    if: true
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusFailed || res.Error.Message != "item 0 of 3: item 1 failed" {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
}

func TestForEachOverNonList(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: each
inputs:
  things: {type: object, default: {a: 1}}
steps:
  - id: each
    for_each: ${{ inputs.things.a }}
    action: core.set
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusFailed || res.Error.Message != "for_each must yield a list, got a number" {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
}

func TestTemplateErrorPointsAtTheYAML(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: tmpl
steps:
  - id: a
    action: core.set
    with: {missing: null}
  - id: b
    action: core.set
    with:
      v: ${{ steps.a.outputs.missing.deeper }}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	want := "test.yaml:10:38: steps[1].with.v: ${{ steps.a.outputs.missing.deeper }}: cannot fetch deeper from <nil>"
	if res.Status != engine.StatusFailed || res.Error.Message != want || res.Error.Code != engine.CodeExpression {
		t.Fatalf("status %s error %q", res.Status, res.Error.Message)
	}
}

func TestExpressionBounded(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: big
steps:
  - id: a
    action: core.set
    with: {n: '${{ len(map(0..10000000, # * 2)) }}'}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusFailed || !strings.Contains(res.Error.Message, "memory budget exceeded") {
		t.Fatalf("status %s error %+v", res.Status, res.Error)
	}
}

func TestDryRunSkipsMutatingActions(t *testing.T) {
	var mutated, read atomic.Int32
	write := act("test.write", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		mutated.Add(1)
		return map[string]any{"id": "x"}, nil
	})
	look := act("test.read", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		read.Add(1)
		return map[string]any{"status": "captured"}, nil
	})
	reg := registry(t, clockwork.NewRealClock(), write, look)
	rb := load(t, reg, `version: 1
name: dry
steps:
  - id: lookup
    action: test.read
  - id: refund
    action: test.write
    with: {status: '${{ steps.lookup.outputs.status }}'}
  - id: after
    action: test.read
    with: {id: '${{ steps.refund.outputs.id }}'}
outputs:
  status: ${{ steps.lookup.outputs.status }}
  refund: ${{ steps.refund.outputs.id }}
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, engine.Options{DryRun: true, Sink: rec})
	if mutated.Load() != 0 || read.Load() != 1 {
		t.Fatalf("mutating ran %d times, read-only %d", mutated.Load(), read.Load())
	}
	if res.Status != engine.StatusSucceeded || statuses(res) != "lookup=succeeded refund=skipped after=skipped" {
		t.Fatalf("%s %s", res.Status, statuses(res))
	}
	if r := res.Step("refund", "").Reason; r != `dry-run: would run test.write with {"status":"captured"}` {
		t.Errorf("refund reason %q", r)
	}
	if res.Outputs["status"] != "captured" || res.Outputs["refund"] != (engine.Unknown{Step: "refund"}) {
		t.Errorf("outputs %#v", res.Outputs)
	}
}

func TestCancelRunsUndoAndEndsCancelled(t *testing.T) {
	started := make(chan struct{})
	hang := act("test.hang", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	var undone atomic.Int32
	undo := act("test.undo", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		undone.Add(1)
		return nil, nil
	})
	reg := registry(t, clockwork.NewRealClock(), hang, undo)
	rb := load(t, reg, `version: 1
name: cancel
steps:
  - id: grant
    action: core.set
    undo: {action: test.undo}
  - id: wait
    action: test.hang
on_failure:
  - id: never
    action: core.set
`)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	res, err := engine.Run(ctx, rb, nil, engine.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusCancelled || undone.Load() != 1 {
		t.Fatalf("status %s, undone %d", res.Status, undone.Load())
	}
	if got := statuses(res); got != "grant=succeeded wait=cancelled grant/undo=succeeded" {
		t.Error(got)
	}
}

func TestInputsAreCheckedFirst(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: inputs
inputs:
  id: {type: string, required: true, pattern: '^pay_'}
  n: {type: integer, min: 1}
  channel: {type: string, enum: [email, chat]}
steps:
  - id: a
    action: core.set
`)
	_, err := engine.Run(context.Background(), rb, map[string]any{"n": 0, "channel": "fax", "chanel": "x"}, engine.Options{Registry: reg})
	var ie *engine.InputsError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, e := range ie.Errors {
		got = append(got, e.Error())
	}
	want := []string{
		`input chanel: is not an input of inputs`,
		`input channel: "fax" is not one of ["email", "chat"]`,
		`input id: is required`,
		`input n: 0 is less than min 1`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s", strings.Join(got, "\n"))
	}
}

func TestApprovals(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	src := `version: 1
name: approve
steps:
  - id: a
    action: core.set
  - id: refund
    approval: {message: 'Refund ${{ 10 }}?'}
    action: core.set
  - id: after
    action: core.set
`
	rb := load(t, reg, src)
	res := run(t, rb, reg, nil, engine.Options{})
	if res.Status != engine.StatusWaiting || statuses(res) != "a=succeeded refund=waiting after=pending" {
		t.Fatalf("%s %s", res.Status, statuses(res))
	}
	res = run(t, rb, reg, nil, engine.Options{Approver: approver{engine.Decision{Approved: false, By: "lead", Comment: "no"}}})
	if res.Status != engine.StatusFailed || res.Error.Code != engine.CodeDenied || res.Error.Message != "approval denied by lead: no" {
		t.Fatalf("%s %+v", res.Status, res.Error)
	}
	res = run(t, rb, reg, nil, engine.Options{Approver: approver{engine.Decision{Approved: true, By: "lead"}}})
	if res.Status != engine.StatusSucceeded {
		t.Fatalf("%s %+v", res.Status, res.Error)
	}
}

type approver struct{ d engine.Decision }

func (a approver) Decide(ctx context.Context, req engine.ApprovalRequest) (engine.Decision, error) {
	if req.Message != "Refund 10?" {
		return engine.Decision{}, errors.New("unexpected message " + req.Message)
	}
	return a.d, nil
}

func TestSecretsAndRun(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: sec
steps:
  - id: a
    action: core.set
    with: {token: '${{ secret("api") }}', who: '${{ run.actor }}', dry: '${{ run.dry_run }}'}
  - id: b
    action: core.set
    with: {missing: '${{ secret("nope") }}'}
`)
	res := run(t, rb, reg, nil, engine.Options{Actor: "ana", Secret: func(n string) (string, bool) {
		return "s3cret", n == "api"
	}})
	out := res.Step("a", "").Outputs.(map[string]any)
	if out["token"] != "s3cret" || out["who"] != "ana" || out["dry"] != false {
		t.Errorf("a = %v", out)
	}
	if res.Status != engine.StatusFailed || !strings.Contains(res.Error.Message, `secret "nope" is not set`) {
		t.Errorf("%s %+v", res.Status, res.Error)
	}
}
