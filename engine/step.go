package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/schema"
)

// Error codes the engine gives, beside the actions' own.
const (
	CodeExpression      = "expression"       // a template or expression failed at run time
	CodeDenied          = "denied"           // an approval was denied
	CodeApprovalTimeout = "approval_timeout" // nobody decided an approval in time
	CodeNoAction        = "unknown_action"   // the action is not in the registry
	CodeJournal         = "journal"          // the run could not be recorded: nothing more runs
)

// sinkFailed says why no action may run: the sink (a journal) failed.
func (r *runner) sinkFailed() *ErrorInfo {
	if fs, ok := r.sink.(FailingSink); ok {
		if err := fs.Err(); err != nil {
			return &ErrorInfo{Code: CodeJournal, Message: err.Error()}
		}
	}
	return nil
}

// step runs one step to its end and says how it ended.
func (r *runner) step(ctx context.Context, n *node, sc *scope, phase Phase) *outcome {
	st, rec := n.st, n.rec
	o := &outcome{n: n}
	prior := r.prior(phase, st.ID)
	if prior != nil && prior.Finished() {
		// Recorded before the run stopped: not run again.
		*rec = prior.Result
		rec.Phase = phase
		o.status, o.outputs, o.err = rec.Status, rec.Outputs, rec.Error
		if st.ForEach != nil {
			o.itemOK = make([]bool, rec.Items)
			for i := range o.itemOK {
				it := prior.Items[i]
				o.itemOK[i] = it != nil && it.Status == StatusSucceeded
			}
		}
		return o
	}
	failWith := func(info *ErrorInfo) *outcome {
		info.Step = st.ID
		o.status, o.err = StatusFailed, info
		r.emit(&Event{Type: StepFinished, Step: st.ID, Phase: phase, Action: st.Action, Index: -1, Status: StatusFailed, Error: info})
		return o
	}
	if st.If != nil {
		v, err := sc.expr(st.If)
		if err != nil {
			return failWith(exprError(err))
		}
		if u, ok := v.(Unknown); ok {
			return r.notRun(o, phase, "if", u)
		}
		if v != true {
			rec.Status, rec.Reason = StatusSkipped, "if was false"
			o.status = StatusSkipped
			r.emit(&Event{Type: StepSkipped, Step: st.ID, Phase: phase, Action: st.Action, Index: -1, Message: rec.Reason})
			return o
		}
	}
	if st.Name != nil {
		v, err := sc.value(st.Name)
		if err != nil {
			return failWith(exprError(err))
		}
		rec.Name = text(v)
	}
	action, ok := r.opts.Registry.Lookup(st.Action)
	if !ok {
		return failWith(&ErrorInfo{Code: CodeNoAction, Message: fmt.Sprintf("action %s is not available: is its plugin installed?", st.Action)})
	}
	var items []any
	if st.ForEach != nil {
		v, err := sc.expr(st.ForEach)
		if err != nil {
			return failWith(exprError(err))
		}
		if u, ok := v.(Unknown); ok {
			return r.notRun(o, phase, "for_each", u)
		}
		if items, ok = asList(v); !ok {
			return failWith(&ErrorInfo{Code: CodeExpression, Message: fmt.Sprintf("for_each must yield a list, got %s", kindOf(v))})
		}
		rec.Items = len(items)
	}
	start := r.clock.Now()
	rec.StartedAt = start
	r.emit(&Event{Type: StepStarted, Step: st.ID, Name: rec.Name, Phase: phase, Action: st.Action, Index: -1, Items: rec.Items})
	finish := func() *outcome {
		rec.FinishedAt = r.clock.Now()
		rec.Duration = Duration(rec.FinishedAt.Sub(start))
		r.emit(&Event{Type: StepFinished, Step: st.ID, Name: rec.Name, Phase: phase, Action: st.Action, Index: -1,
			Status: o.status, Outputs: o.outputs, Error: o.err, Duration: time.Duration(rec.Duration)})
		return o
	}

	if prior != nil {
		if i, it := prior.unsafe(); it != nil {
			req := ApprovalRequest{RunID: r.doc.ID, Step: st.ID, Action: st.Action, Actor: r.opts.Actor, Interrupted: true,
				Message: interruptedMessage(st.Action, i, it)}
			if !r.decide(ctx, n, req, o) {
				return finish()
			}
		}
	}
	if st.Approval != nil && !r.opts.DryRun {
		if !r.approve(ctx, n, sc, o) {
			return finish()
		}
	}
	if st.ForEach == nil {
		res := r.item(ctx, n, sc, action, -1, nil, prior)
		rec.Attempts = res.attempts
		o.status, o.outputs, o.err, o.unknown = res.status, res.outputs, res.err, res.unknown
		if res.unknown != "" && res.attempts == 0 {
			o.status = StatusSkipped
			rec.Reason = res.reason
		}
		return finish()
	}
	r.forEach(ctx, n, sc, action, items, o, prior)
	return finish()
}

// notRun ends a step a dry run cannot run because what it depends on is
// unknown.
func (r *runner) notRun(o *outcome, phase Phase, field string, u Unknown) *outcome {
	st := o.n.st
	o.status, o.unknown = StatusSkipped, st.ID
	o.n.rec.Reason = notRunReason(field, u)
	r.emit(&Event{Type: StepDryRun, Step: st.ID, Phase: phase, Action: st.Action, Index: -1, Message: o.n.rec.Reason})
	return o
}

func notRunReason(field string, u Unknown) string {
	return fmt.Sprintf("dry-run: not run: its %s reads steps.%s, which did not run", field, u.Step)
}

// approve asks for the step's approval and says whether it may go on. When
// it may not, it sets o.
func (r *runner) approve(ctx context.Context, n *node, sc *scope, o *outcome) bool {
	st := n.st
	msg := ""
	if st.Approval.Message != nil {
		v, err := sc.value(st.Approval.Message)
		if err != nil {
			info := exprError(err)
			info.Step = st.ID
			o.status, o.err = StatusFailed, info
			return false
		}
		msg = text(v)
	}
	approvers, err := r.approvers(sc, st)
	if err != nil {
		o.status, o.err = StatusFailed, &ErrorInfo{Code: CodeExpression, Message: err.Error(), Step: st.ID}
		return false
	}
	req := ApprovalRequest{RunID: r.doc.ID, Step: st.ID, Action: st.Action, Message: msg, Approvers: approvers,
		Actor: r.opts.Actor, Timeout: st.Approval.Timeout}
	return r.decide(ctx, n, req, o)
}

// approvers resolves the step's approval.approvers: each entry is a name,
// or a template giving a name or a list of names. Entries that resolve to
// nothing when some were written are an error, never "anyone may approve".
func (r *runner) approvers(sc *scope, st *schema.Step) ([]string, error) {
	a := st.Approval
	if a.ApproversValue == nil || !slices.ContainsFunc(a.Approvers, schema.HasTemplate) {
		return a.Approvers, nil
	}
	v, err := sc.value(a.ApproversValue)
	if err != nil {
		return nil, fmt.Errorf("approval.approvers: %s", exprError(err).Message)
	}
	var out []string
	var add func(v any) error
	add = func(v any) error {
		switch x := v.(type) {
		case string:
			if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				if err := add(e); err != nil {
					return err
				}
			}
		case nil:
		default:
			return fmt.Errorf("approval.approvers: an approver must be a name (a string), got %s", kindOf(x))
		}
		return nil
	}
	if err := add(v); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("approval.approvers resolved to no name (%s): nobody could approve, so the step does not run", strings.Join(a.Approvers, ", "))
	}
	return out, nil
}

// decide asks the Approver and says whether the step may go on. When it
// may not, it sets o.
func (r *runner) decide(ctx context.Context, n *node, req ApprovalRequest, o *outcome) bool {
	st := n.st
	var d Decision
	err := ErrPending
	if r.opts.Approver != nil {
		d, err = r.opts.Approver.Decide(ctx, req)
	}
	switch {
	case errors.Is(err, ErrPending):
		o.status = StatusWaiting
		n.rec.Reason = "waiting for approval"
		n.rec.Approvers = req.Approvers
		if req.Interrupted {
			n.rec.Reason = "waiting for a decision: interrupted"
		}
		r.emit(&Event{Type: StepWaiting, Step: st.ID, Name: n.rec.Name, Action: st.Action, Index: -1, Message: req.Message,
			Approvers: req.Approvers, Interrupted: req.Interrupted})
		return false
	case errors.Is(err, ErrApprovalExpired):
		o.status, o.err = StatusFailed, &ErrorInfo{Code: CodeApprovalTimeout, Message: "approval timed out after " + req.Timeout.String() + ": nobody decided", Step: st.ID}
		return false
	case err != nil:
		o.status, o.err = StatusFailed, &ErrorInfo{Code: actions.CodeFailed, Message: "approval: " + err.Error(), Step: st.ID}
		return false
	case !d.Approved:
		m := "approval denied by " + d.By
		if d.Comment != "" {
			m += ": " + d.Comment
		}
		o.status, o.err = StatusFailed, &ErrorInfo{Code: CodeDenied, Message: m, Step: st.ID}
		return false
	}
	m := "approved by " + d.By
	if d.Comment != "" {
		m += ": " + d.Comment
	}
	r.emit(&Event{Type: StepApproved, Step: st.ID, Name: n.rec.Name, Action: st.Action, Index: -1, Message: m})
	return true
}

// forEach runs the step once per item, at most max_parallel at once, and
// sets o: the outputs are the items' outputs in order. Without
// continue_on_error, the first failed item cancels the others.
func (r *runner) forEach(ctx context.Context, n *node, sc *scope, action actions.Action, items []any, o *outcome, prior *Prior) {
	st := n.st
	limit := st.MaxParallel
	if limit <= 0 {
		limit = cap(r.sem)
	}
	ictx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]itemResult, len(items))
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, it := range items {
		select {
		case slots <- struct{}{}:
		case <-ictx.Done():
		}
		if ictx.Err() != nil {
			results[i] = itemResult{status: StatusCancelled}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			isc := sc.with("item", it, "index", i)
			res := r.item(ictx, n, isc, action, i, it, prior)
			results[i] = res
			if (res.status == StatusSucceeded || res.status == StatusFailed) && !res.reused {
				r.emit(&Event{Type: ItemFinished, Step: st.ID, Action: st.Action, Index: i, Attempt: res.attempts,
					Status: res.status, Outputs: res.outputs, Error: res.err})
			}
			if res.status == StatusFailed && !st.ContinueOnError {
				cancel(errStopped)
			}
		}()
	}
	wg.Wait()
	outputs := make([]any, len(items))
	o.itemOK = make([]bool, len(items))
	o.status = StatusSucceeded
	for i, res := range results {
		outputs[i] = res.outputs
		o.itemOK[i] = res.status == StatusSucceeded && res.unknown == ""
		n.rec.Attempts = max(n.rec.Attempts, res.attempts)
		if res.unknown != "" {
			o.unknown = res.unknown
		}
		switch {
		case res.status == StatusFailed && o.err == nil:
			o.status = StatusFailed
			e := *res.err // a copy: a reused item's error is the caller's
			e.Message = fmt.Sprintf("item %d of %d: %s", i, len(items), res.err.Message)
			o.err = &e
		case res.status == StatusCancelled && o.status == StatusSucceeded:
			o.status = StatusCancelled
		}
	}
	if o.status == StatusCancelled && ctx.Err() == nil && o.err != nil {
		o.status = StatusFailed
	}
	o.outputs = outputs
	if o.unknown != "" {
		o.outputs = nil
		if n.rec.Attempts == 0 && o.status == StatusSucceeded {
			o.status = StatusSkipped
			n.rec.Reason = results[0].reason
		}
	}
}

// itemResult is how one item (or a step without for_each) ended.
type itemResult struct {
	status   Status
	outputs  any
	err      *ErrorInfo
	attempts int
	unknown  string // dry run: not executed, outputs unknown because
	reason   string
	reused   bool // finished before a resume: recorded already
}

// item resolves the step's with for one item, executes the action with
// retries, and reshapes its outputs.
func (r *runner) item(ctx context.Context, n *node, sc *scope, action actions.Action, index int, it any, prior *Prior) itemResult {
	st := n.st
	fail := func(info *ErrorInfo, attempts int) itemResult {
		info.Step = st.ID
		return itemResult{status: StatusFailed, err: info, attempts: attempts}
	}
	first := 1
	if prior != nil {
		if p := prior.Items[index]; p != nil {
			if p.Status != "" {
				// It finished before the run stopped.
				return itemResult{status: p.Status, outputs: p.Outputs, err: p.Error, attempts: p.Attempt, reused: true}
			}
			// An open attempt runs again (it was approved when unsafe);
			// after a failed one, the next.
			first = p.Attempt
			if !p.Open {
				first++
			}
		}
	}
	with, err := sc.mapping(st.With)
	if err != nil {
		return fail(exprError(err), 0)
	}
	if u, ok := findUnknown(with); ok && r.opts.DryRun {
		why := notRunReason("with", u)
		r.emit(&Event{Type: StepDryRun, Step: st.ID, Action: st.Action, Index: index, Message: why})
		return itemResult{status: StatusSucceeded, unknown: st.ID, reason: why}
	}
	spec := action.Spec()
	if err := spec.Input.Check(with); err != nil {
		return fail(&ErrorInfo{Code: actions.CodeInvalidInput, Message: st.Action + ": " + err.Error()}, 0)
	}
	if r.opts.DryRun && actions.Mutates(action, with) {
		why := "dry-run: would run " + st.Action + " with " + compactJSON(with)
		r.emit(&Event{Type: StepDryRun, Step: st.ID, Action: st.Action, Index: index, With: with, Message: why})
		return itemResult{status: StatusSucceeded, unknown: st.ID, reason: why}
	}
	attempts := 1
	if st.Retry != nil && st.Retry.Attempts > 0 {
		attempts = st.Retry.Attempts
	}
	attempts = max(attempts, first)
	for attempt := first; ; attempt++ {
		out, info := r.attempt(ctx, n, action, with, index, attempt)
		if info == nil {
			outputs, err := r.reshape(st, sc, out)
			if err != nil {
				return fail(exprError(err), attempt)
			}
			return itemResult{status: StatusSucceeded, outputs: outputs, attempts: attempt}
		}
		info.Step = st.ID
		if info.Code == actions.CodeCancelled && ctx.Err() != nil {
			r.emit(&Event{Type: AttemptFailed, Step: st.ID, Action: st.Action, Index: index, Attempt: attempt, Error: info})
			return itemResult{status: StatusCancelled, err: info, attempts: attempt}
		}
		var delay time.Duration
		retry := attempt < attempts && info.Code != CodeJournal
		if retry {
			retry, err = r.shouldRetry(st, sc, info)
			if err != nil {
				return fail(exprError(err), attempt)
			}
			delay = r.delay(st.Retry, attempt)
		}
		if !retry {
			r.emit(&Event{Type: AttemptFailed, Step: st.ID, Action: st.Action, Index: index, Attempt: attempt, Error: info})
			return itemResult{status: StatusFailed, err: info, attempts: attempt}
		}
		r.emit(&Event{Type: AttemptFailed, Step: st.ID, Action: st.Action, Index: index, Attempt: attempt, Error: info, RetryIn: delay})
		if !r.sleep(ctx, delay) {
			return itemResult{status: StatusCancelled, err: &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled while waiting to retry", Step: st.ID}, attempts: attempt}
		}
	}
}

// attempt executes the action once, within the step's timeout and the
// global bound on parallel actions.
func (r *runner) attempt(ctx context.Context, n *node, action actions.Action, with map[string]any, index, attempt int) (map[string]any, *ErrorInfo) {
	st := n.st
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled before it started"}
	}
	defer func() { <-r.sem }()
	timeout := &timeoutError{"the step", st.Timeout}
	actx, cancel := r.withTimeout(ctx, st.Timeout, timeout)
	defer cancel()
	key := idempotencyKey(r.doc.ID, st.ID, index)
	req := &actions.Request{Action: st.Action, With: with, RunID: r.doc.ID, StepID: st.ID, Index: index, Attempt: attempt,
		IdempotencyKey: key, DryRun: r.opts.DryRun, Files: r.opts.Files,
		Log: func(level, msg string) {
			r.emit(&Event{Type: StepLog, Step: st.ID, Action: st.Action, Index: index, Attempt: attempt, Level: level, Message: msg})
		}}
	if st.Timeout > 0 {
		req.Deadline = r.clock.Now().Add(st.Timeout)
	}
	r.emit(&Event{Type: AttemptStarted, Step: st.ID, Action: st.Action, Index: index, Attempt: attempt, With: with,
		Key: key, Mutates: actions.Mutates(action, with), Idempotent: actions.Idempotent(action, with), Provider: action.Spec().Provider})
	if info := r.sinkFailed(); info != nil {
		return nil, info
	}
	out, err := action.Execute(actx, req)
	if err == nil {
		r.learnSecrets(action.Spec(), out)
		return out, nil
	}
	switch {
	case context.Cause(actx) == timeout:
		return nil, &ErrorInfo{Code: actions.CodeTimeout, Message: timeout.Error(), Retryable: true}
	case ctx.Err() != nil:
		if c := context.Cause(ctx); c != nil && c != errStopped && !errors.Is(c, context.Canceled) {
			return nil, &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled: " + c.Error()}
		}
		return nil, &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled"}
	}
	return nil, actionError(err)
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

func actionError(err error) *ErrorInfo {
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

func exprError(err error) *ErrorInfo {
	return &ErrorInfo{Code: CodeExpression, Message: err.Error()}
}

// shouldRetry evaluates retry.when (default: error.retryable).
func (r *runner) shouldRetry(st *schema.Step, sc *scope, info *ErrorInfo) (bool, error) {
	if st.Retry == nil || st.Retry.When == nil {
		return info.Retryable, nil
	}
	v, err := sc.with("error", info.env()).expr(st.Retry.When)
	if err != nil {
		return false, err
	}
	return v == true, nil
}

// Retry defaults, as in AWS Step Functions.
const (
	DefaultRetryDelay   = time.Second
	DefaultRetryBackoff = 2.0
)

// delay is the wait after a failed attempt: delay × backoff^(attempt-1),
// at most max_delay, plus up to jitter × that at random.
func (r *runner) delay(rt *schema.Retry, attempt int) time.Duration {
	base, backoff := DefaultRetryDelay, DefaultRetryBackoff
	var maxDelay time.Duration
	var jitter float64
	if rt != nil {
		if rt.Delay > 0 {
			base = rt.Delay
		}
		if rt.Backoff > 0 {
			backoff = rt.Backoff
		}
		maxDelay, jitter = rt.MaxDelay, rt.Jitter
	}
	d := float64(base) * math.Pow(backoff, float64(attempt-1))
	if maxDelay > 0 && d > float64(maxDelay) {
		d = float64(maxDelay)
	}
	if jitter > 0 {
		d += d * jitter * r.jitter()
	}
	if d > float64(math.MaxInt64) {
		d = float64(math.MaxInt64)
	}
	return time.Duration(d)
}

// sleep waits d on the run's clock; false when ctx ended first.
func (r *runner) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := r.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return true
	case <-ctx.Done():
		return false
	}
}

// reshape applies the step's outputs templates over result.
func (r *runner) reshape(st *schema.Step, sc *scope, out map[string]any) (any, error) {
	if len(st.Outputs) == 0 {
		if out == nil {
			return map[string]any{}, nil
		}
		return out, nil
	}
	var result any = out
	if out == nil {
		result = map[string]any{}
	}
	rsc := sc.with("result", result)
	shaped := make(map[string]any, len(st.Outputs))
	for _, o := range st.Outputs {
		v, err := rsc.value(o.Value)
		if err != nil {
			return nil, err
		}
		shaped[o.Name] = v
	}
	return shaped, nil
}

func idempotencyKey(runID, stepID string, index int) string {
	if index < 0 {
		return runID + ":" + stepID
	}
	return fmt.Sprintf("%s:%s:%d", runID, stepID, index)
}

func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int64, float64:
		return "a number"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
