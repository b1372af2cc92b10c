package engine

import (
	"context"
	"slices"

	"github.com/stewardhq/steward/schema"
)

// node is one step of a graph being run.
type node struct {
	st  *schema.Step
	ref stepRef // the step in its phase: what its events are about
	rec *StepResult
	// itemOK says which items of a for_each step succeeded: their undo
	// is due even when the step failed.
	itemOK  []bool
	pending int     // steps it needs that have not finished
	next    []*node // steps that need it
	started bool
}

// outcome is how a step ended, sent from its goroutine to the graph loop.
type outcome struct {
	n       *node
	status  Status
	outputs any
	itemOK  []bool // for_each: which items succeeded
	err     *ErrorInfo
	unknown string // dry run: the step that did not run, making its outputs unknown
}

// graph runs steps in dependency order, independent ones in parallel, and
// returns the error that stopped it, or whether a step waits for an
// approval. A step starts once every step it needs has succeeded, was
// skipped, or failed with continue_on_error. When a step fails otherwise,
// or ctx is done, no new step starts and running ones are cancelled.
func (r *runner) graph(ctx context.Context, steps []*schema.Step, phase Phase, errEnv map[string]any) (fail *ErrorInfo, waiting bool) {
	nodes := make(map[string]*node, len(steps))
	order := make([]*node, len(steps))
	for i, st := range steps {
		n := &node{st: st, ref: r.ref(st.ID, phase, st.Action), pending: len(st.Deps),
			rec: &StepResult{ID: st.ID, Action: st.Action, Phase: phase, Status: StatusPending}}
		nodes[st.ID] = n
		order[i] = n
		r.doc.Steps = append(r.doc.Steps, n.rec)
	}
	var ready []*node
	for _, n := range order {
		for _, d := range n.st.Deps {
			if dep := nodes[d]; dep != nil {
				dep.next = append(dep.next, n)
			}
		}
		if n.pending == 0 {
			ready = append(ready, n)
		}
	}

	gctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	results := make(chan *outcome)
	running := 0
	stopping := false
	for {
		if ctx.Err() != nil {
			stopping = true
		}
		if phase == PhaseMain && !r.held && r.opts.Hold != nil {
			select {
			case <-r.opts.Hold:
				r.held = true
			default:
			}
		}
		for !stopping && !r.held && len(ready) > 0 {
			n := ready[0]
			ready = ready[1:]
			n.started = true
			sc := r.scope(n.st, errEnv)
			running++
			go func() { results <- r.step(gctx, n, sc) }()
		}
		if running == 0 {
			if len(ready) == 0 {
				r.held = false // nothing was held back: the run ends as it would
			}
			break
		}
		o := <-results
		running--
		r.record(o, phase)
		switch {
		case o.status == StatusFailed && !o.n.st.ContinueOnError:
			if fail == nil {
				fail = o.err
			}
			stopping = true
			stop(errStopped)
		case o.status == StatusWaiting:
			waiting = true
		case o.status == StatusCancelled:
			stopping = true
		default:
			for _, m := range o.n.next {
				if m.pending--; m.pending == 0 {
					ready = append(ready, m)
				}
			}
		}
	}
	if stopping {
		for _, n := range order {
			if !n.started {
				if p := r.prior(phase, n.st.ID); p != nil && p.Finished() {
					// Finished before a resume that stops at once (a
					// cancel): its undo is due all the same.
					r.record(r.step(ctx, n, nil), phase)
					continue
				}
				n.rec.Status = StatusSkipped
				n.rec.Reason = "not started: the run stopped"
				r.steps[n.st.ID] = stepEnv(StatusSkipped, map[string]any{}, nil)
			}
		}
	}
	return fail, waiting && !stopping
}

// record keeps a step's outcome for the steps after it and the document.
func (r *runner) record(o *outcome, phase Phase) {
	rec := o.n.rec
	rec.Status = o.status
	rec.Error = o.err
	rec.Outputs = o.outputs
	outputs := o.outputs
	if o.unknown != "" {
		r.unknown[o.n.st.ID] = o.unknown
		if outputs == nil {
			outputs = Unknown{Step: o.unknown}
			rec.Outputs = outputs
		}
	}
	if outputs == nil {
		outputs = map[string]any{}
	}
	r.steps[o.n.st.ID] = stepEnv(o.status, outputs, o.err)
	o.n.itemOK = o.itemOK
	if phase == PhaseMain && o.unknown == "" && (o.status == StatusSucceeded || o.n.st.Undo != nil && slices.Contains(o.itemOK, true)) {
		r.completed = append(r.completed, o.n)
	}
}

func stepEnv(status Status, outputs any, err *ErrorInfo) map[string]any {
	return map[string]any{"outputs": outputs, "status": string(status), "error": err.env()}
}
