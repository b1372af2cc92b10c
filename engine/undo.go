package engine

import (
	"context"
	"sort"
	"time"

	"github.com/stewardhq/steward/actions"
)

// undo runs the undo of every succeeded main step, in reverse order of
// completion. A failed undo is recorded and does not stop the others.
func (r *runner) undo(ctx context.Context) {
	// Steps reused from before a resume come first: they finished first.
	sort.SliceStable(r.completed, func(i, j int) bool {
		return r.completed[i].rec.FinishedAt.Before(r.completed[j].rec.FinishedAt)
	})
	for i := len(r.completed) - 1; i >= 0; i-- {
		st := r.completed[i].st
		if st.Undo == nil {
			continue
		}
		u := st.Undo
		rec := &StepResult{ID: st.ID, Action: u.Action, Phase: PhaseUndo, Status: StatusRunning}
		r.doc.Steps = append(r.doc.Steps, rec)
		if p := r.prior(PhaseUndo, st.ID); p != nil {
			if p.Finished() {
				*rec = p.Result
				continue
			}
			if _, it := p.unsafe(); it != nil {
				// Nobody can approve an undo: say so, do not guess.
				rec.Status = StatusFailed
				rec.Error = &ErrorInfo{Code: actions.CodeFailed, Step: st.ID,
					Message: "the undo was interrupted and " + u.Action + " is not idempotent: not run again; check by hand"}
				r.emit(&Event{Type: StepFinished, Step: st.ID, Phase: PhaseUndo, Action: u.Action, Index: -1, Status: rec.Status, Error: rec.Error})
				continue
			}
		}
		start := r.clock.Now()
		rec.StartedAt = start
		r.emit(&Event{Type: StepStarted, Step: st.ID, Phase: PhaseUndo, Action: u.Action, Index: -1})
		outputs, info := r.undoOne(ctx, st.ID, u.Action, u.Timeout, func() (map[string]any, error) {
			return r.scope(nil, nil).mapping(u.With)
		})
		rec.FinishedAt = r.clock.Now()
		rec.Duration = Duration(rec.FinishedAt.Sub(start))
		rec.Attempts = 1
		rec.Status, rec.Outputs, rec.Error = StatusSucceeded, outputs, info
		if info != nil {
			rec.Status = StatusFailed
		}
		r.emit(&Event{Type: StepFinished, Step: st.ID, Phase: PhaseUndo, Action: u.Action, Index: -1,
			Status: rec.Status, Outputs: outputs, Error: info, Duration: time.Duration(rec.Duration)})
	}
}

func (r *runner) undoOne(ctx context.Context, stepID, name string, timeout time.Duration, with func() (map[string]any, error)) (map[string]any, *ErrorInfo) {
	action, ok := r.opts.Registry.Lookup(name)
	if !ok {
		return nil, &ErrorInfo{Code: CodeNoAction, Message: "action " + name + " is not available", Step: stepID}
	}
	w, err := with()
	if err != nil {
		info := exprError(err)
		info.Step = stepID
		return nil, info
	}
	if err := action.Spec().Input.Check(w); err != nil {
		return nil, &ErrorInfo{Code: actions.CodeInvalidInput, Message: name + ": " + err.Error(), Step: stepID}
	}
	to := &timeoutError{"the undo", timeout}
	uctx, cancel := r.withTimeout(ctx, timeout, to)
	defer cancel()
	req := &actions.Request{Action: name, With: w, RunID: r.doc.ID, StepID: stepID, Index: -1, Attempt: 1,
		IdempotencyKey: r.doc.ID + ":" + stepID + ":undo", Undo: true,
		Log: func(level, msg string) {
			r.emit(&Event{Type: StepLog, Step: stepID, Phase: PhaseUndo, Action: name, Index: -1, Level: level, Message: msg})
		}}
	r.emit(&Event{Type: AttemptStarted, Step: stepID, Phase: PhaseUndo, Action: name, Index: -1, Attempt: 1, With: w,
		Key: req.IdempotencyKey, Mutates: actions.Mutates(action, w), Idempotent: actions.Idempotent(action, w), Provider: action.Spec().Provider})
	if info := r.sinkFailed(); info != nil {
		info.Step = stepID
		return nil, info
	}
	out, err := action.Execute(uctx, req)
	if err == nil {
		r.learnSecrets(action.Spec(), out)
	}
	if context.Cause(uctx) == to {
		return nil, &ErrorInfo{Code: actions.CodeTimeout, Message: to.Error(), Step: stepID}
	}
	if err != nil {
		info := actionError(err)
		info.Step = stepID
		return nil, info
	}
	return out, nil
}
