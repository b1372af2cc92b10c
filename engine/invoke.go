package engine

import (
	"context"
	"errors"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
)

// invoke executes an action once: an attempt of a step or of one of its
// items, or an undo (ref's phase says which). It is the one path from the
// engine to an action: it waits for the bound on actions running at once,
// records attempt.started (with the idempotency key) before the action
// runs, runs nothing when the sink cannot record, executes within timeout
// (none when 0), learns the action's sensitive outputs, and turns a
// failure into an ErrorInfo naming the step.
func (r *runner) invoke(ctx context.Context, ref stepRef, action actions.Action, with map[string]any, attempt int,
	timeout time.Duration) (map[string]any, *ErrorInfo) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled before it started", Step: ref.step}
	}
	defer func() { <-r.sem }()
	undo := ref.phase == PhaseUndo
	what := "the step"
	if undo {
		what = "the undo"
	}
	expired := &timeoutError{what, timeout}
	actx, cancel := r.withTimeout(ctx, timeout, expired)
	defer cancel()
	spec := action.Spec()
	key := ref.key()
	req := &actions.Request{Action: ref.action, With: with, RunID: ref.run, StepID: ref.step, Index: ref.index, Attempt: attempt,
		IdempotencyKey: key, DryRun: r.opts.DryRun, Undo: undo, Files: r.opts.Files, Redact: r.opts.Redact,
		Log: func(level, msg string) {
			r.emit(ref.event(Event{Type: StepLog, Attempt: attempt, Level: level, Message: msg}))
		}}
	if timeout > 0 {
		req.Deadline = r.clock.Now().Add(timeout)
	}
	r.emit(ref.event(Event{Type: AttemptStarted, Attempt: attempt, With: with, Key: key,
		Mutates: actions.Mutates(action, with), Idempotent: actions.Idempotent(action, with), Provider: spec.Provider}))
	if info := r.sinkFailed(); info != nil {
		info.Step = ref.step
		return nil, info
	}
	out, err := action.Execute(actx, req)
	if err == nil {
		r.learnSecrets(spec, out)
		return out, nil
	}
	info := callError(ctx, actx, expired, err)
	info.Step = ref.step
	return nil, info
}

// admit checks what an action is about to be invoked with: the input
// fits the action's schema, and a dry run executes it only when it knows
// every value of the input and the action does not mutate. It returns why
// a dry run does not execute it, having said so in a step.dry_run event,
// or the error of an input that does not fit.
func (r *runner) admit(ref stepRef, action actions.Action, with map[string]any) (dryRun string, info *ErrorInfo) {
	if u, ok := findUnknown(with); ok && r.opts.DryRun {
		why := notRunReason("with", u)
		r.emit(ref.event(Event{Type: StepDryRun, Message: why}))
		return why, nil
	}
	if err := action.Spec().Input.Check(with); err != nil {
		return "", &ErrorInfo{Code: actions.CodeInvalidInput, Message: ref.action + ": " + err.Error(), Step: ref.step}
	}
	if r.opts.DryRun && actions.Mutates(action, with) {
		why := "dry-run: would run " + ref.action + " with " + compactJSON(with)
		r.emit(ref.event(Event{Type: StepDryRun, With: with, Message: why}))
		return why, nil
	}
	return "", nil
}

// callError says why an action called with actx, derived from ctx, failed
// with err: its timeout expired, the run was cancelled or is stopping, or
// the action's own error.
func callError(ctx, actx context.Context, expired, err error) *ErrorInfo {
	switch {
	case context.Cause(actx) == expired:
		return &ErrorInfo{Code: actions.CodeTimeout, Message: expired.Error(), Retryable: true}
	case ctx.Err() != nil:
		if c := context.Cause(ctx); c != nil && c != errStopped && !errors.Is(c, context.Canceled) {
			return &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled: " + c.Error()}
		}
		return &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled"}
	}
	return actionError(err)
}

// sinkFailed says why no action may run: the sink (a journal) failed.
func (r *runner) sinkFailed() *ErrorInfo {
	if fs, ok := r.sink.(FailingSink); ok {
		if err := fs.Err(); err != nil {
			return &ErrorInfo{Code: CodeJournal, Message: err.Error()}
		}
	}
	return nil
}

// learnSecrets adds the values of the action's sensitive outputs to the
// run's secrets, so that they are redacted wherever they go next.
func (r *runner) learnSecrets(spec actions.Spec, out map[string]any) {
	for _, f := range spec.Sensitive {
		if v, ok := out[f]; ok && v != nil {
			addSecret(r.opts.Redact, v)
		}
	}
}

// addSecret makes v a secret, and each string inside it when it is an
// object or a list (not its numbers and booleans: too common to be told
// from other values).
func addSecret(set *redact.Set, v any) {
	set.Add(text(v))
	eachString(v, set.Add)
}

// eachString calls f with every string in v, nested ones included.
func eachString(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case map[string]any:
		for _, e := range x {
			eachString(e, f)
		}
	case []any:
		for _, e := range x {
			eachString(e, f)
		}
	}
}

// actionError is the ErrorInfo of an action's own error: its code
// (default failed), message and retryable.
func actionError(err error) *ErrorInfo {
	var w *SubRunWaiting
	if errors.As(err, &w) {
		return &ErrorInfo{Code: actions.CodeFailed, Message: err.Error(), waiting: w}
	}
	var ae *actions.Error
	if errors.As(err, &ae) {
		code := ae.Code
		if code == "" {
			code = actions.CodeFailed
		}
		return &ErrorInfo{Code: code, Message: ae.Message, Retryable: ae.Retryable}
	}
	return &ErrorInfo{Code: actions.CodeFailed, Message: err.Error()}
}
