package core

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
)

func byName(t *testing.T, clock clockwork.Clock, run RunFunc) map[string]actions.Action {
	t.Helper()
	out := map[string]actions.Action{}
	for _, a := range Actions(clock, run) {
		out[a.Spec().Name] = a
	}
	return out
}

func TestLogSetFail(t *testing.T) {
	acts := byName(t, clockwork.NewRealClock(), nil)
	var logged []string
	req := &actions.Request{With: map[string]any{"message": "hi", "level": "warn"}, Log: func(l, m string) { logged = append(logged, l+":"+m) }}
	out, err := acts["core.log"].Execute(context.Background(), req)
	if err != nil || out["message"] != "hi" || len(logged) != 1 || logged[0] != "warn:hi" {
		t.Errorf("core.log: %v %v %v", out, err, logged)
	}
	in := map[string]any{"a": 1, "b": []any{"x"}}
	out, err = acts["core.set"].Execute(context.Background(), &actions.Request{With: in})
	if err != nil || out["a"] != 1 || len(out) != 2 {
		t.Errorf("core.set: %v %v", out, err)
	}
	out["a"] = 2
	if in["a"] != 1 {
		t.Error("core.set returned its input map, not a copy")
	}
	_, err = acts["core.fail"].Execute(context.Background(), &actions.Request{With: map[string]any{"message": "no", "code": "x", "retryable": true}})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Message != "no" || ae.Code != "x" || !ae.Retryable {
		t.Errorf("core.fail: %#v", err)
	}
}

func TestSleepUsesTheClock(t *testing.T) {
	fc := clockwork.NewFakeClock()
	sleep := byName(t, fc, nil)["core.sleep"]
	done := make(chan map[string]any)
	go func() {
		out, _ := sleep.Execute(context.Background(), &actions.Request{With: map[string]any{"duration": "1h"}})
		done <- out
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Hour)
	if out := <-done; out["slept"] != "1h0m0s" {
		t.Errorf("slept %v", out)
	}
	// Cancelling ends the wait.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := sleep.Execute(cctx, &actions.Request{With: map[string]any{"duration": "1h"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sleep: %v", err)
	}
	if _, err := sleep.Execute(context.Background(), &actions.Request{With: map[string]any{"duration": "-1s"}}); err == nil {
		t.Error("a negative duration was accepted")
	}
}

func TestRunbookCallsRunFunc(t *testing.T) {
	var gotName string
	run := func(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
		gotName = name
		return map[string]any{"n": inputs["n"]}, nil
	}
	act := byName(t, clockwork.NewRealClock(), run)["core.runbook"]
	out, err := act.Execute(context.Background(), &actions.Request{With: map[string]any{"name": "child", "inputs": map[string]any{"n": 1}}})
	if err != nil || gotName != "child" || out["n"] != 1 {
		t.Errorf("%v %v %q", out, err, gotName)
	}
	if actions.Mutates(act, nil) {
		t.Error("core.runbook must run in a dry run (its sub-run is a dry run)")
	}
	if _, err := byName(t, clockwork.NewRealClock(), nil)["core.runbook"].Execute(context.Background(), &actions.Request{With: map[string]any{"name": "x"}}); err == nil {
		t.Error("core.runbook without a RunFunc succeeded")
	}
}
