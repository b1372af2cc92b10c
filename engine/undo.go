package engine

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/schema"
)

// undo runs the undo of every succeeded main step, in reverse order of
// completion. A failed undo is recorded and does not stop the others.
func (r *runner) undo(ctx context.Context) {
	// Steps reused from before a resume come first: they finished first.
	sort.SliceStable(r.completed, func(i, j int) bool {
		return r.completed[i].rec.FinishedAt.Before(r.completed[j].rec.FinishedAt)
	})
	for i := len(r.completed) - 1; i >= 0; i-- {
		n := r.completed[i]
		st := n.st
		if st.Undo == nil {
			continue
		}
		if st.ForEach != nil {
			r.undoItems(ctx, n)
			continue
		}
		u := st.Undo
		ref := r.ref(st.ID, PhaseUndo, u.Action)
		rec := &StepResult{ID: st.ID, Action: u.Action, Phase: PhaseUndo, Status: StatusRunning}
		r.doc.Steps = append(r.doc.Steps, rec)
		if p := r.prior(PhaseUndo, st.ID); p != nil {
			if p.Finished() {
				*rec = p.Result
				continue
			}
			if _, it := p.unsafe(); it != nil {
				r.undoUnsafe(rec, ref)
				continue
			}
		}
		sc := r.scope(nil, nil)
		if skip, info := undoSkipped(sc, u); skip || info != nil {
			r.undoNotRun(rec, ref, info)
			continue
		}
		start := r.clock.Now()
		rec.StartedAt = start
		r.emit(ref.event(Event{Type: StepStarted}))
		outputs, why, info := r.undoOne(ctx, ref, u.Timeout, func() (map[string]any, error) {
			return sc.mapping(u.With)
		})
		rec.FinishedAt = r.clock.Now()
		rec.Duration = Duration(rec.FinishedAt.Sub(start))
		rec.Status, rec.Outputs, rec.Error = StatusSucceeded, outputs, info
		switch {
		case info != nil:
			rec.Status, rec.Attempts = StatusFailed, 1
		case why != "":
			rec.Status, rec.Reason = StatusSkipped, why
		default:
			rec.Attempts = 1
		}
		r.emit(ref.event(Event{Type: StepFinished, Status: rec.Status, Outputs: outputs, Error: info,
			Duration: time.Duration(rec.Duration)}))
	}
}

// undoSkipped evaluates the undo's if: skip when false.
func undoSkipped(sc *scope, u *schema.Undo) (bool, *ErrorInfo) {
	if u.If == nil {
		return false, nil
	}
	v, err := sc.expr(u.If)
	if err != nil {
		return false, exprError(err)
	}
	return v != true, nil
}

// undoNotRun records an undo skipped by its if (info nil) or whose if
// failed.
func (r *runner) undoNotRun(rec *StepResult, ref stepRef, info *ErrorInfo) {
	if info != nil {
		info.Step = ref.step
		rec.Status, rec.Error = StatusFailed, info
		r.emit(ref.event(Event{Type: StepFinished, Status: rec.Status, Error: info}))
		return
	}
	rec.Status, rec.Reason = StatusSkipped, "undo: if was false"
	r.emit(ref.event(Event{Type: StepSkipped, Message: rec.Reason}))
}

// undoUnsafe records an undo interrupted in an action that is not
// idempotent: nobody can approve an undo, so say so, do not guess. For
// an item (ref.index >= 0) it only returns the item's error.
func (r *runner) undoUnsafe(rec *StepResult, ref stepRef) *ErrorInfo {
	info := &ErrorInfo{Code: actions.CodeFailed, Step: ref.step,
		Message: "the undo was interrupted and " + ref.action + " is not idempotent: not run again; check by hand"}
	if ref.index >= 0 {
		info.Message = fmt.Sprintf("item %d: %s", ref.index, info.Message)
		return info
	}
	rec.Status, rec.Error = StatusFailed, info
	r.emit(ref.event(Event{Type: StepFinished, Status: rec.Status, Error: rec.Error}))
	return info
}

// undoItems runs the undo of a for_each step once per item that
// succeeded, last item first, with item and index in scope: the step may
// have failed, but what its succeeded items did is undone all the same.
// The items are the step's for_each evaluated again: it reads only what
// finished before the step, so it yields the same list.
func (r *runner) undoItems(ctx context.Context, n *node) {
	st, u := n.st, n.st.Undo
	ref := r.ref(st.ID, PhaseUndo, u.Action)
	rec := &StepResult{ID: st.ID, Action: u.Action, Phase: PhaseUndo, Status: StatusRunning}
	r.doc.Steps = append(r.doc.Steps, rec)
	p := r.prior(PhaseUndo, st.ID)
	if p != nil && p.Finished() {
		*rec = p.Result
		return
	}
	sc := r.scope(nil, nil)
	start := r.clock.Now()
	rec.StartedAt = start
	var items []any
	v, err := sc.expr(st.ForEach)
	if err == nil {
		var ok bool
		if items, ok = asList(v); !ok {
			err = fmt.Errorf("for_each must yield a list, got %s", kindOf(v))
		}
	}
	if err != nil {
		info := exprError(err)
		info.Step = st.ID
		info.Message = "undo: the items could not be listed again: " + info.Message
		rec.Status, rec.Error = StatusFailed, info
		r.emit(ref.event(Event{Type: StepFinished, Status: rec.Status, Error: info}))
		return
	}
	rec.Items = len(items)
	r.emit(ref.event(Event{Type: StepStarted, Items: len(items)}))
	outputs := make([]any, len(items))
	rec.Status = StatusSucceeded
	var first *ErrorInfo
	for i := len(items) - 1; i >= 0; i-- {
		if i >= len(n.itemOK) || !n.itemOK[i] {
			continue
		}
		var info *ErrorInfo
		status := StatusSucceeded
		var it *PriorItem
		if p != nil {
			it = p.Items[i]
		}
		switch {
		case it != nil && it.Status != "":
			// Undone before a resume: recorded already.
			outputs[i] = it.Outputs
			if it.Error != nil && first == nil {
				first = it.Error
			}
			continue
		case it != nil && it.Open && it.Mutates && !it.Idempotent:
			status, info = StatusFailed, r.undoUnsafe(rec, ref.item(i))
		default:
			isc := sc.with("item", items[i], "index", i)
			skip, bad := undoSkipped(isc, u)
			switch {
			case bad != nil:
				bad.Step = st.ID
				status, info = StatusFailed, bad
			case skip:
				status = StatusSkipped
			default:
				var why string
				outputs[i], why, info = r.undoOne(ctx, ref.item(i), u.Timeout, func() (map[string]any, error) {
					return isc.mapping(u.With)
				})
				switch {
				case info != nil:
					status, rec.Attempts = StatusFailed, 1
				case why != "":
					status = StatusSkipped
				default:
					rec.Attempts = 1
				}
			}
		}
		if info != nil {
			e := *info
			e.Message = fmt.Sprintf("item %d of %d: %s", i, len(items), info.Message)
			info = &e
			if first == nil {
				first = info
			}
		}
		r.emit(ref.item(i).event(Event{Type: ItemFinished, Attempt: 1, Status: status, Outputs: outputs[i], Error: info}))
	}
	if first != nil {
		rec.Status, rec.Error = StatusFailed, first
	}
	rec.Outputs = outputs
	rec.FinishedAt = r.clock.Now()
	rec.Duration = Duration(rec.FinishedAt.Sub(start))
	r.emit(ref.event(Event{Type: StepFinished, Status: rec.Status, Outputs: outputs, Error: rec.Error,
		Duration: time.Duration(rec.Duration)}))
}

// undoOne runs one undo (of the step, or of one item): it resolves the
// undo's with and executes its action once, unless a dry run must not
// (see admit): then it returns why.
func (r *runner) undoOne(ctx context.Context, ref stepRef, timeout time.Duration, with func() (map[string]any, error)) (map[string]any, string, *ErrorInfo) {
	action, ok := r.opts.Registry.Lookup(ref.action)
	if !ok {
		return nil, "", &ErrorInfo{Code: CodeNoAction, Message: "action " + ref.action + " is not available", Step: ref.step}
	}
	w, err := with()
	if err != nil {
		info := exprError(err)
		info.Step = ref.step
		return nil, "", info
	}
	if why, info := r.admit(ref, action, w); why != "" || info != nil {
		return nil, why, info
	}
	out, info := r.invoke(ctx, ref, action, w, 1, timeout)
	return out, "", info
}
