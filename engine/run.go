package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/schema"
)

// InputsError lists every problem with a run's inputs; nothing ran.
type InputsError struct {
	Errors []*InputError
}

func (e *InputsError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, err := range e.Errors {
		msgs[i] = err.Error()
	}
	return "invalid inputs: " + strings.Join(msgs, "; ")
}

// Run executes a validated runbook with the given inputs and returns the
// run's document. It returns an *InputsError, and runs nothing, when the
// inputs do not fit the runbook. Cancelling ctx cancels the run: running
// actions are cancelled, the undo of finished steps runs, and the run ends
// cancelled.
func Run(ctx context.Context, rb *schema.Runbook, inputs map[string]any, opts Options) (*Result, error) {
	if opts.Registry == nil {
		return nil, errors.New("engine: Options.Registry is required")
	}
	in, errs := CheckInputs(rb, inputs)
	if len(errs) > 0 {
		return nil, &InputsError{Errors: errs}
	}
	r := newRunner(rb, in, opts)
	r.execute(withSubRunBudget(ctx))
	if r.held {
		return r.doc, ErrHeld
	}
	return r.doc, nil
}

// ErrHeld: Options.Hold stopped the run before its end; what it did is
// recorded, and it is resumed from there.
var ErrHeld = errors.New("engine: the run was held: its running steps finished, the others are left to resume")

// runner is one run in progress.
type runner struct {
	rb     *schema.Runbook
	opts   Options
	clock  clockwork.Clock
	sink   Sink
	doc    *Result
	base   map[string]any // inputs, vars, run, secret
	sem    chan struct{}
	jitter func() float64
	emitMu sync.Mutex

	// Written by the goroutine of execute only.
	steps     map[string]any    // finished step id → {outputs, status, error}
	unknown   map[string]string // dry run: steps whose outputs are unknown, and why
	completed []*node           // succeeded main steps, in order of completion
	held      bool              // Options.Hold stopped the main phase: the run ends nothing
}

func newRunner(rb *schema.Runbook, inputs map[string]any, opts Options) *runner {
	r := &runner{rb: rb, opts: opts, clock: opts.Clock, sink: opts.Sink, jitter: opts.Jitter,
		steps: map[string]any{}, unknown: map[string]string{}}
	if r.clock == nil {
		r.clock = clockwork.NewRealClock()
	}
	if r.jitter == nil {
		r.jitter = mrand.Float64
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	r.sem = make(chan struct{}, parallel)
	id := opts.RunID
	now := r.clock.Now()
	if id == "" {
		id = NewRunID(now)
	}
	if opts.Resume != nil && !opts.Resume.StartedAt.IsZero() {
		now = opts.Resume.StartedAt
	}
	if opts.Redact == nil {
		opts.Redact = &redact.Set{}
		r.opts.Redact = opts.Redact
	}
	r.doc = &Result{ID: id, Runbook: rb.Name, Version: opts.Version, Actor: opts.Actor, DryRun: opts.DryRun,
		Status: StatusRunning, StartedAt: now, Inputs: inputs, Outputs: map[string]any{}, redact: opts.Redact}
	for _, in := range rb.Inputs {
		if v, ok := inputs[in.Name]; ok && in.Secret {
			r.doc.secretInputs = append(r.doc.secretInputs, in.Name)
			addSecret(opts.Redact, v)
		}
	}
	secret := opts.Secret
	if secret == nil {
		secret = func(string) (string, bool) { return "", false }
	}
	r.base = map[string]any{
		"inputs": inputs,
		"vars":   map[string]any{},
		"run": map[string]any{"id": id, "runbook": rb.Name, "version": opts.Version, "actor": opts.Actor,
			"started_at": now, "dry_run": opts.DryRun},
		"secret": schema.SecretFunc(func(name string) string {
			v, ok := secret(name)
			if !ok {
				panic(fmt.Errorf("secret %q is not set", name))
			}
			opts.Redact.Add(v)
			return v
		}),
	}
	return r
}

// NewRunID returns a new run id: the UTC time it started, sortable, and
// random bits, e.g. 20261121-101502-3fa9c2d1.
func NewRunID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// emit delivers an event to the sink, one at a time, with every secret
// redacted.
func (r *runner) emit(e *Event) {
	if r.sink == nil {
		return
	}
	if set := r.opts.Redact; !set.Empty() {
		e.With = set.Map(e.With)
		e.Inputs = set.Map(e.Inputs)
		e.Outputs = set.Value(e.Outputs)
		e.Error = redactError(set, e.Error)
		e.Message = set.String(e.Message)
		e.Name = set.String(e.Name)
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	e.Time = r.clock.Now()
	e.RunID = r.doc.ID
	r.sink.Event(e)
}

// errStopped cancels the steps still running when the run stops.
var errStopped = errors.New("engine: the run is stopping")

type timeoutError struct {
	what string
	d    time.Duration
}

func (e *timeoutError) Error() string { return fmt.Sprintf("%s timed out after %s", e.what, e.d) }

// withTimeout returns a context cancelled with cause after d on the run's
// clock. d <= 0 means no timeout.
func (r *runner) withTimeout(ctx context.Context, d time.Duration, cause error) (context.Context, func()) {
	c, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		return c, func() { cancel(nil) }
	}
	t := r.clock.AfterFunc(d, func() { cancel(cause) })
	return c, func() { t.Stop(); cancel(nil) }
}

func (r *runner) execute(ctx context.Context) {
	start := runEvent(Event{Type: RunStarted, Runbook: r.rb.Name, Version: r.opts.Version, Actor: r.opts.Actor,
		DryRun: r.opts.DryRun, Inputs: redactInputs(nil, r.doc.Inputs, r.doc.secretInputs)})
	if r.opts.Resume != nil {
		start.Type, start.Actor, start.Inputs = RunResumed, r.opts.Resume.By, nil
	}
	r.emit(start)
	runCtx, cancel := r.withTimeout(ctx, r.rb.Timeout, &timeoutError{"the run", r.rb.Timeout})
	defer cancel()

	fail := r.evalVars()
	waiting := false
	if fail == nil {
		fail, waiting = r.graph(runCtx, r.rb.Steps, PhaseMain, nil)
	}
	cancelled := ctx.Err() != nil
	if r.held && fail == nil && !cancelled {
		// Stopped gracefully: no run.finished; resume goes on from the
		// steps that finished.
		return
	}
	r.held = false
	if fail == nil && !cancelled {
		if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			fail = &ErrorInfo{Message: cause.Error(), Code: actions.CodeTimeout}
		}
	}
	switch {
	case cancelled || fail != nil:
		// Clean up even though the run's context is done.
		cleanup := context.WithoutCancel(ctx)
		r.undo(cleanup)
		if cancelled {
			r.doc.Status = StatusCancelled
			r.doc.Error = &ErrorInfo{Message: "the run was cancelled", Code: actions.CodeCancelled}
		} else {
			r.doc.Status = StatusFailed
			r.doc.Error = fail
			if len(r.rb.OnFailure) > 0 {
				if _, asks := r.graph(cleanup, r.rb.OnFailure, PhaseOnFailure, fail.env()); asks {
					// An on_failure step waits for a person: the run
					// has failed but has not ended; it goes on, with
					// the decision, to end failed.
					r.doc.Status = StatusWaiting
				}
			}
		}
	case waiting:
		r.doc.Status = StatusWaiting
	default:
		r.doc.Status = StatusSucceeded
		r.evalOutputs()
	}
	r.doc.FinishedAt = r.clock.Now()
	r.doc.Duration = Duration(r.doc.FinishedAt.Sub(r.doc.StartedAt))
	r.emit(runEvent(Event{Type: RunFinished, Status: r.doc.Status, Outputs: r.doc.Outputs, Error: r.doc.Error,
		Duration: time.Duration(r.doc.Duration)}))
}

// evalVars evaluates vars once, in order.
func (r *runner) evalVars() *ErrorInfo {
	vars := r.base["vars"].(map[string]any)
	sc := &scope{r: r, env: r.base}
	for _, v := range r.rb.Vars {
		x, err := sc.value(v.Value)
		if err != nil {
			return &ErrorInfo{Message: err.Error(), Code: CodeExpression}
		}
		vars[v.Name] = x
	}
	return nil
}

// evalOutputs evaluates the run's outputs over every step.
func (r *runner) evalOutputs() {
	sc := r.scope(nil, nil)
	for _, o := range r.rb.Outputs {
		x, err := sc.value(o.Value)
		if err != nil {
			r.doc.Status = StatusFailed
			r.doc.Error = &ErrorInfo{Message: err.Error(), Code: CodeExpression}
			return
		}
		r.doc.Outputs[o.Name] = x
	}
}

// scope returns the environment for a step: the base values, the results
// of the steps it reads (all of them when st is nil or reads steps
// dynamically), and error in on_failure.
func (r *runner) scope(st *schema.Step, errEnv map[string]any) *scope {
	env := make(map[string]any, len(r.base)+2)
	for k, v := range r.base {
		env[k] = v
	}
	var steps map[string]any
	if st == nil || st.ReadsAllSteps || st.OnFailure {
		steps = make(map[string]any, len(r.steps))
		for k, v := range r.steps {
			steps[k] = v
		}
	} else {
		steps = make(map[string]any, len(st.Refs))
		for _, ref := range st.Refs {
			if v, ok := r.steps[ref.ID]; ok {
				steps[ref.ID] = v
			}
		}
	}
	env["steps"] = steps
	if errEnv != nil {
		env["error"] = errEnv
	}
	sc := &scope{r: r, env: env}
	if len(r.unknown) > 0 {
		sc.unknown = make(map[string]string, len(r.unknown))
		for k, v := range r.unknown {
			sc.unknown[k] = v
		}
	}
	return sc
}
