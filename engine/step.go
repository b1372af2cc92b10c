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
	"github.com/stewardhq/steward/schema"
)

// Error codes the engine gives, beside the actions' own.
const (
	CodeExpression      actions.Code = "expression"       // a template or expression failed at run time
	CodeDenied          actions.Code = "denied"           // an approval was denied
	CodeApprovalTimeout actions.Code = "approval_timeout" // nobody decided an approval in time
	// CodeInvalidApprovers: the step's approvers name a group that the
	// configuration does not define; nobody could decide it.
	CodeInvalidApprovers actions.Code = "invalid_approvers"
	CodeNoAction         actions.Code = "unknown_action" // the action is not in the registry
	CodeJournal          actions.Code = "journal"        // the run could not be recorded: nothing more runs
)

// step runs one step to its end and says how it ended.
func (r *runner) step(ctx context.Context, n *node, sc *scope) *outcome {
	st, rec := n.st, n.rec
	o := &outcome{n: n}
	prior := r.prior(n.ref.phase, st.ID)
	if prior != nil && prior.Finished() {
		// Recorded before the run stopped: not run again.
		*rec = prior.Result
		rec.Phase = n.ref.phase
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
		r.emit(n.ref.event(Event{Type: StepFinished, Status: StatusFailed, Error: info}))
		return o
	}
	if st.If != nil {
		v, err := sc.expr(st.If)
		if err != nil {
			return failWith(exprError(err))
		}
		if u, ok := v.(Unknown); ok {
			return r.notRun(o, "if", u)
		}
		if v != true {
			rec.Status, rec.Reason = StatusSkipped, "if was false"
			o.status = StatusSkipped
			r.emit(n.ref.event(Event{Type: StepSkipped, Message: rec.Reason}))
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
			return r.notRun(o, "for_each", u)
		}
		if items, ok = asList(v); !ok {
			return failWith(&ErrorInfo{Code: CodeExpression, Message: fmt.Sprintf("for_each must yield a list, got %s", kindOf(v))})
		}
		rec.Items = len(items)
	}
	start := r.clock.Now()
	rec.StartedAt = start
	r.emit(n.ref.event(Event{Type: StepStarted, Name: rec.Name, Items: rec.Items}))
	finish := func() *outcome {
		rec.FinishedAt = r.clock.Now()
		rec.Duration = Duration(rec.FinishedAt.Sub(start))
		r.emit(n.ref.event(Event{Type: StepFinished, Name: rec.Name, Status: o.status, Outputs: o.outputs, Error: o.err,
			Duration: time.Duration(rec.Duration)}))
		return o
	}

	if prior != nil {
		if i, it := prior.unsafe(); it != nil {
			req := ApprovalRequest{RunID: r.doc.ID, Step: st.ID, Phase: n.ref.phase, Action: st.Action, Actor: r.opts.Actor, Interrupted: true,
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
		if res.waiting != nil {
			r.waitOn(n, res.waiting)
		}
		return finish()
	}
	r.forEach(ctx, n, sc, action, items, o, prior)
	return finish()
}

// waitOn makes a core.runbook step wait for what its sub-runs wait for:
// one step.waiting per question, named by its path from this run, so that
// the journal and steward approve RUN PATH find it.
func (r *runner) waitOn(n *node, subs ...*SubRunWaiting) {
	var ids []string
	for _, w := range subs {
		ids = append(ids, w.ID)
		rel := strings.TrimPrefix(w.ID, r.doc.ID+".")
		for _, q := range w.Questions {
			q.Step = rel + "." + q.Step
			n.rec.Nested = append(n.rec.Nested, q)
			r.emit(n.ref.event(Event{Type: StepWaiting, Name: n.rec.Name, Message: q.Message, Approvers: q.Approvers,
				Interrupted: q.Interrupted, Nested: q.Step}))
		}
	}
	n.rec.Reason = "waiting for sub-run " + strings.Join(ids, ", ")
}

// notRun ends a step a dry run cannot run because what it depends on is
// unknown.
func (r *runner) notRun(o *outcome, field string, u Unknown) *outcome {
	st := o.n.st
	o.status, o.unknown = StatusSkipped, st.ID
	o.n.rec.Reason = notRunReason(field, u)
	r.emit(o.n.ref.event(Event{Type: StepDryRun, Message: o.n.rec.Reason}))
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
	subjects, err := r.subjects(sc, st)
	if err != nil {
		o.status, o.err = StatusFailed, &ErrorInfo{Code: CodeExpression, Message: err.Error(), Step: st.ID}
		return false
	}
	req := ApprovalRequest{RunID: r.doc.ID, Step: st.ID, Phase: n.ref.phase, Action: st.Action, Message: msg, Approvers: approvers,
		Subjects: subjects, Actor: r.opts.Actor, Timeout: st.Approval.Timeout}
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
	out, err := names(v, "approval.approvers", "an approver")
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("approval.approvers resolved to no name (%s): nobody could approve, so the step does not run", strings.Join(a.Approvers, ", "))
	}
	return out, nil
}

// subjects resolves the step's approval.subjects, as approvers are
// resolved; an entry that resolves to nothing (an input not given) names
// nobody.
func (r *runner) subjects(sc *scope, st *schema.Step) ([]string, error) {
	a := st.Approval
	if a.SubjectsValue == nil {
		return nil, nil
	}
	v, err := sc.value(a.SubjectsValue)
	if err != nil {
		return nil, fmt.Errorf("approval.subjects: %s", exprError(err).Message)
	}
	return names(v, "approval.subjects", "a subject")
}

// names flattens v, a name or a list of names (nested lists and nils
// allowed), into distinct trimmed names.
func names(v any, field, what string) ([]string, error) {
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
			return fmt.Errorf("%s: %s must be a name (a string), got %s", field, what, kindOf(x))
		}
		return nil
	}
	err := add(v)
	return out, err
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
		n.rec.Subjects = req.Subjects
		if req.Interrupted {
			n.rec.Reason = "waiting for a decision: interrupted"
			n.rec.Interrupted = true
		}
		r.emit(n.ref.event(Event{Type: StepWaiting, Name: n.rec.Name, Message: req.Message, Approvers: req.Approvers,
			Subjects: req.Subjects, Interrupted: req.Interrupted}))
		return false
	case errors.Is(err, ErrApprovalExpired):
		o.status, o.err = StatusFailed, &ErrorInfo{Code: CodeApprovalTimeout, Message: "approval timed out after " + req.Timeout.String() + ": nobody decided", Step: st.ID}
		return false
	case err != nil:
		info := &ErrorInfo{Code: actions.CodeFailed, Message: "approval: " + err.Error(), Step: st.ID}
		var ae *actions.Error
		if errors.As(err, &ae) && ae.Code != "" {
			// The Approver's own code and message: invalid_approvers...
			info.Code, info.Message = ae.Code, ae.Message
		}
		o.status, o.err = StatusFailed, info
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
	r.emit(n.ref.event(Event{Type: StepApproved, Name: n.rec.Name, Message: m}))
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
				r.emit(n.ref.item(i).event(Event{Type: ItemFinished, Attempt: res.attempts, Status: res.status,
					Outputs: res.outputs, Error: res.err}))
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
	var waits []*SubRunWaiting
	for i, res := range results {
		outputs[i] = res.outputs
		o.itemOK[i] = res.status == StatusSucceeded && res.unknown == ""
		n.rec.Attempts = max(n.rec.Attempts, res.attempts)
		if res.unknown != "" {
			o.unknown = res.unknown
		}
		if res.waiting != nil {
			waits = append(waits, res.waiting)
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
	if len(waits) > 0 && o.status == StatusSucceeded {
		// Items whose sub-runs wait for a person: the step waits; the
		// items that finished are not run again when the run goes on.
		o.status = StatusWaiting
		r.waitOn(n, waits...)
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
	// waiting: the item's sub-run waits for a person (status waiting).
	waiting *SubRunWaiting
}

// item resolves the step's with for one item, executes the action with
// retries, and reshapes its outputs.
func (r *runner) item(ctx context.Context, n *node, sc *scope, action actions.Action, index int, it any, prior *Prior) itemResult {
	st, ref := n.st, n.ref.item(index)
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
	why, info := r.admit(ref, action, with)
	if info != nil {
		return fail(info, 0)
	}
	if why != "" {
		return itemResult{status: StatusSucceeded, unknown: st.ID, reason: why}
	}
	attempts := 1
	if st.Retry != nil && st.Retry.Attempts > 0 {
		attempts = st.Retry.Attempts
	}
	attempts = max(attempts, first)
	for attempt := first; ; attempt++ {
		out, info := r.invoke(ctx, ref, action, with, attempt, st.Timeout)
		if info == nil {
			outputs, err := r.reshape(st, sc, out)
			if err != nil {
				return fail(exprError(err), attempt)
			}
			return itemResult{status: StatusSucceeded, outputs: outputs, attempts: attempt}
		}
		info.Step = st.ID
		if info.waiting != nil {
			// core.runbook's sub-run waits for a person. The attempt stays
			// open (no attempt.failed): when the run goes on it runs again,
			// and the sub-run goes on from its records.
			return itemResult{status: StatusWaiting, attempts: attempt, waiting: info.waiting}
		}
		if info.Code == actions.CodeCancelled && ctx.Err() != nil {
			r.emit(ref.event(Event{Type: AttemptFailed, Attempt: attempt, Error: info}))
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
			r.emit(ref.event(Event{Type: AttemptFailed, Attempt: attempt, Error: info}))
			return itemResult{status: StatusFailed, err: info, attempts: attempt}
		}
		r.emit(ref.event(Event{Type: AttemptFailed, Attempt: attempt, Error: info, RetryIn: delay}))
		if !r.sleep(ctx, delay) {
			return itemResult{status: StatusCancelled, err: &ErrorInfo{Code: actions.CodeCancelled, Message: "cancelled while waiting to retry", Step: st.ID}, attempts: attempt}
		}
	}
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
