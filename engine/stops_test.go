package engine_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
)

// ledger records every execution of its actions.
type ledger struct {
	mu   sync.Mutex
	reqs []*actions.Request
}

// action returns an action that records its requests and returns its with
// as its outputs.
func (l *ledger) action(name string, mutates, idempotent bool) *testAction {
	a := act(name, mutates, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, req)
		l.mu.Unlock()
		return maps.Clone(req.With), nil
	})
	a.spec.Idempotent = idempotent
	return a
}

// calls renders the executions as "KEY attempt N", sorted.
func (l *ledger) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{}
	for _, r := range l.reqs {
		out = append(out, fmt.Sprintf("%s attempt %d", r.IdempotencyKey, r.Attempt))
	}
	slices.Sort(out)
	return out
}

// what returns the with.what of the executions, in order.
func (l *ledger) what() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []string{}
	for _, r := range l.reqs {
		out = append(out, fmt.Sprint(r.With["what"]))
	}
	return out
}

// stubApprover records the requests it gets and answers each the same.
type stubApprover struct {
	mu   sync.Mutex
	reqs []engine.ApprovalRequest
	d    engine.Decision
	err  error
}

func (a *stubApprover) Decide(ctx context.Context, req engine.ApprovalRequest) (engine.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, req)
	return a.d, a.err
}

func (a *stubApprover) requests() []engine.ApprovalRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

// TestApprovalExpired proves an approval nobody decided in time fails the
// step with code timeout, without executing it.
func TestApprovalExpired(t *testing.T) {
	l := &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.pay", true, false))
	rb := load(t, reg, `version: 1
name: expire
steps:
  - id: pay
    approval: {message: "pay?", approvers: [lead], timeout: 1h}
    action: test.pay
`)
	ap := &stubApprover{err: engine.ErrApprovalExpired}
	res := run(t, rb, reg, nil, engine.Options{Approver: ap})
	if res.Status != engine.StatusFailed || res.Error.Code != engine.CodeApprovalTimeout || res.Error.Step != "pay" ||
		res.Error.Message != "approval timed out after 1h0m0s: nobody decided" {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := l.calls(); len(got) != 0 {
		t.Errorf("executed %v", got)
	}
	if reqs := ap.requests(); len(reqs) != 1 || reqs[0].Timeout != time.Hour || !slices.Equal(reqs[0].Approvers, []string{"lead"}) || reqs[0].Interrupted {
		t.Errorf("requests %+v", reqs)
	}
}

// failingSink is a journal whose store goes away once it has recorded the
// end of step a.
type failingSink struct {
	recorder
	failed bool
}

var errStoreGone = errors.New("journal: database is locked")

func (s *failingSink) Event(e *engine.Event) {
	s.recorder.Event(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.Type == engine.StepFinished && e.Step == "a" {
		s.failed = true
	}
}

func (s *failingSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return errStoreGone
	}
	return nil
}

// TestFailingSinkStopsActions proves that once the sink fails, no action
// executes, not even an undo or an on_failure step: nothing runs
// unrecorded. The attempt fails with code journal. The sink fails alone or
// inside Sinks.
func TestFailingSinkStopsActions(t *testing.T) {
	for name, wrap := range map[string]func(s *failingSink) engine.Sink{
		"alone":       func(s *failingSink) engine.Sink { return s },
		"among sinks": func(s *failingSink) engine.Sink { return engine.Sinks{&recorder{}, s, nil} },
	} {
		t.Run(name, func(t *testing.T) {
			l, u := &ledger{}, &ledger{}
			reg := registry(t, clockwork.NewRealClock(), l.action("test.count", true, true), u.action("test.undo", true, false))
			rb := load(t, reg, `version: 1
name: journal
steps:
  - id: a
    action: test.count
    undo: {action: test.undo, with: {what: a}}
  - id: b
    action: test.count
    retry: {attempts: 3, delay: 1s}
  - id: c
    action: test.count
on_failure:
  - id: page
    action: test.count
`)
			sink := &failingSink{}
			res := run(t, rb, reg, nil, engine.Options{Sink: wrap(sink)})
			if got := l.calls(); len(got) != 1 || !strings.HasSuffix(got[0], ":a attempt 1") {
				t.Errorf("executed %v, want a only", got)
			}
			if got := u.what(); len(got) != 0 {
				t.Errorf("undone %v with a failed journal", got)
			}
			if res.Status != engine.StatusFailed || res.Error.Code != engine.CodeJournal || res.Error.Message != errStoreGone.Error() || res.Error.Step != "b" {
				t.Fatalf("status %s %+v", res.Status, res.Error)
			}
			if got := statuses(res); got != "a=succeeded b=failed c=skipped a/undo=failed page/on_failure=failed" {
				t.Error(got)
			}
			if e := res.Step("a", engine.PhaseUndo).Error; e == nil || e.Code != engine.CodeJournal {
				t.Errorf("a/undo error %+v", e)
			}
			var failed []string
			for _, e := range sink.events {
				if e.Type == engine.AttemptFailed {
					failed = append(failed, fmt.Sprintf("%s %d %s", e.Step, e.Attempt, e.Error.Code))
				}
			}
			if want := []string{"b 1 journal", "page 1 journal"}; !slices.Equal(failed, want) {
				t.Errorf("attempt.failed %v, want %v", failed, want)
			}
		})
	}
}
