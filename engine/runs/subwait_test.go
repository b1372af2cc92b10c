package runs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// subWait is a parent runbook whose core.runbook step starts a child
// that waits for a refund's approval, with counters on every action, so
// that a test sees what ran and how often.
type subWait struct {
	f                            *fixture
	parent                       string // its id once started
	befores, looks, pays, afters atomic.Int64
}

const subWaitChild = `version: 1
name: child
inputs:
  amount: {type: integer, required: true}
steps:
  - id: look
    action: test.look
  - id: refund
    approval:
      message: Refund ${{ inputs.amount }}?
      approvers: [leads]
    action: test.pay
    with: {amount: '${{ inputs.amount }}'}
outputs:
  refunded: ${{ steps.refund.outputs.paid }}
`

const subWaitParent = `version: 1
name: parent
steps:
  - id: before
    action: test.before
  - id: diagnose
    action: core.runbook
    with: {name: child, inputs: {amount: 42}}
  - id: after
    action: test.after
    with: {refunded: '${{ steps.diagnose.outputs.refunded }}'}
outputs:
  refunded: ${{ steps.after.outputs.refunded }}
`

func newSubWait(t *testing.T) *subWait {
	w := &subWait{}
	count := func(name string, n *atomic.Int64, mutates bool, out func(req *actions.Request) map[string]any) actions.Action {
		return act(name, mutates, func(_ context.Context, req *actions.Request) (map[string]any, error) {
			n.Add(1)
			return out(req), nil
		})
	}
	none := func(*actions.Request) map[string]any { return map[string]any{} }
	w.f = newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga"}}},
		count("test.before", &w.befores, false, none),
		count("test.look", &w.looks, false, none),
		count("test.pay", &w.pays, true, func(req *actions.Request) map[string]any { return map[string]any{"paid": req.With["amount"]} }),
		count("test.after", &w.afters, false, func(req *actions.Request) map[string]any { return map[string]any{"refunded": req.With["refunded"]} }))
	w.f.runbook("child", subWaitChild)
	res, err := w.f.start(w.f.runbook("parent", subWaitParent), "ana", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.parent = res.ID
	// The sub-run waits for its refund: the parent's step waits (it does
	// not fail), and so does the parent.
	if res.Status != engine.StatusWaiting || res.Error != nil {
		t.Fatalf("parent: status %s, error %+v; want waiting", res.Status, res.Error)
	}
	st := res.Step("diagnose", engine.PhaseMain)
	if st.Status != engine.StatusWaiting || st.Error != nil || len(st.Nested) != 1 || st.Nested[0].Step != "diagnose.refund" ||
		st.Nested[0].Message != "Refund 42?" || fmt.Sprint(st.Nested[0].Approvers) != "[leads]" {
		t.Fatalf("step diagnose: %+v, nested %+v", st, st.Nested)
	}
	if s := res.Step("after", engine.PhaseMain); s.Status != engine.StatusPending {
		t.Fatalf("step after: %s, want pending", s.Status)
	}
	return w
}

// states loads the parent's and the sub-run's journal states.
func (w *subWait) states(t *testing.T) (parent, sub *journal.State) {
	t.Helper()
	ctx := context.Background()
	parent, err := journal.Load(ctx, w.f.store, w.parent)
	if err != nil {
		t.Fatal(err)
	}
	sub, err = journal.Load(ctx, w.f.store, w.parent+".diagnose")
	if err != nil {
		t.Fatal(err)
	}
	return parent, sub
}

// ran checks how many times each action ran.
func (w *subWait) ran(t *testing.T, before, look, pay, after int64) {
	t.Helper()
	if got := [4]int64{w.befores.Load(), w.looks.Load(), w.pays.Load(), w.afters.Load()}; got != [4]int64{before, look, pay, after} {
		t.Fatalf("before, look, pay, after ran %v times, want %v", got, [4]int64{before, look, pay, after})
	}
}

// verify checks the whole journal's hash chain: both runs.
func (w *subWait) verify(t *testing.T) {
	t.Helper()
	rep, err := journal.Verify(context.Background(), w.f.store, "")
	if err != nil || rep.Problem != nil || rep.Runs != 2 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// TestSubRunWaitsParentWaits: a sub-run that waits for an approval makes
// its parent's step, and its parent, wait; the journal of the parent
// names the sub-run's question by its path (diagnose.refund); a decision
// through the parent's id and that path is recorded in the sub-run;
// continuing the parent runs the sub-run to its end, then the parent from
// its waiting step, without running again a finished step of either.
func TestSubRunWaitsParentWaits(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	w.ran(t, 1, 1, 0, 0)
	parent, sub := w.states(t)
	if parent.Run.Status != "waiting" || sub.Run.Status != "waiting" || sub.Run.Parent != w.parent {
		t.Fatalf("statuses: parent %s, sub-run %s (parent %q)", parent.Run.Status, sub.Run.Status, sub.Run.Parent)
	}
	if len(parent.Waiting) != 1 || parent.Waiting[0].Step != "diagnose.refund" || !parent.Waiting[0].SubRun || parent.Waiting[0].Message != "Refund 42?" {
		t.Fatalf("the parent waits for %+v", parent.Waiting)
	}
	if len(sub.Waiting) != 1 || sub.Waiting[0].Step != "refund" {
		t.Fatalf("the sub-run waits for %+v", sub.Waiting)
	}

	// Deciding the parent's step itself is refused, naming the path.
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "diagnose", Approved: true, By: "olga"}); !errors.Is(err, runs.ErrNotWaiting) ||
		!strings.Contains(err.Error(), "it waits for diagnose.refund") {
		t.Fatalf("a decision on the core.runbook step: %v", err)
	}
	// The sub-run's rules hold: the requester may not decide, nor a
	// person who is not among its approvers.
	var refused *runs.RefusedError
	for _, by := range []string{"ana", "bruno"} {
		if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "diagnose.refund", Approved: true, By: by}); !errors.As(err, &refused) {
			t.Fatalf("%s decides: %v, want a *RefusedError", by, err)
		}
	}
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "nope.refund", Approved: true, By: "olga"}); !errors.Is(err, runs.ErrNotWaiting) {
		t.Fatalf("a path naming no sub-run: %v", err)
	}

	c, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: w.parent, By: "olga", Deciding: "diagnose.refund"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Decide(ctx, runs.DecideRequest{Step: "diagnose.refund", Approved: true, By: "olga", Comment: "ticket 4711"})
	if err != nil || d.RunID != w.parent+".diagnose" || d.Step != "refund" || !d.Approved {
		t.Fatalf("Decide = %+v, %v", d, err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusSucceeded || fmt.Sprint(res.Outputs["refunded"]) != "42" {
		t.Fatalf("parent: status %s, outputs %v, error %+v", res.Status, res.Outputs, res.Error)
	}
	w.ran(t, 1, 1, 1, 1)
	parent, sub = w.states(t)
	if parent.Run.Status != "succeeded" || sub.Run.Status != "succeeded" || len(parent.Waiting) != 0 || len(sub.Waiting) != 0 {
		t.Fatalf("after: parent %s waiting %+v, sub-run %s waiting %+v", parent.Run.Status, parent.Waiting, sub.Run.Status, sub.Waiting)
	}
	if len(sub.Decisions) != 1 || sub.Decisions[0].By != "olga" || sub.Decisions[0].Comment != "ticket 4711" || len(parent.Decisions) != 0 {
		t.Fatalf("decisions: sub-run %+v, parent %+v", sub.Decisions, parent.Decisions)
	}
	// The core.runbook step's attempt stayed open while it waited: the
	// same attempt went on with the sub-run.
	if s := res.Step("diagnose", engine.PhaseMain); s.Attempts != 1 || s.Status != engine.StatusSucceeded || len(s.Nested) != 0 {
		t.Fatalf("step diagnose: %+v", s)
	}
	w.verify(t)

	// Decided again: already decided, by whom, through either id.
	var already *runs.AlreadyDecidedError
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "diagnose.refund", Approved: false, By: "olga"}); !errors.As(err, &already) || already.By != "olga" {
		t.Fatalf("decided again: %v", err)
	}
}

// TestSubRunDecidedByItsOwnID: steward approve PARENT.STEP SUBSTEP (the
// sub-run's own id) continues the top run with the decision recorded in
// the sub-run; resume of the sub-run alone is still refused.
func TestSubRunDecidedByItsOwnID(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	subID := w.parent + ".diagnose"
	var sub *runs.SubRunError
	if _, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: subID, By: "olga"}); !errors.As(err, &sub) || sub.Root != w.parent {
		t.Fatalf("Continue of the sub-run without a decision: %v", err)
	}
	c, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: subID, By: "olga", Deciding: "refund"})
	if err != nil {
		t.Fatal(err)
	}
	if c.State().Run.ID != w.parent {
		t.Fatalf("the continuation is of %s, want the top run %s", c.State().Run.ID, w.parent)
	}
	d, err := c.Decide(ctx, runs.DecideRequest{Step: "refund", Approved: true, By: "olga"})
	if err != nil || d.RunID != subID || d.Step != "refund" {
		t.Fatalf("Decide = %+v, %v", d, err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	w.ran(t, 1, 1, 1, 1)
	w.verify(t)
}

// TestSubRunDeniedFailsParent: a denial fails the sub-run's step, the
// sub-run, and then the parent's step, as any failed sub-run does.
func TestSubRunDeniedFailsParent(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	c, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: w.parent, By: "olga", Deciding: "diagnose.refund"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decide(ctx, runs.DecideRequest{Step: "diagnose.refund", Approved: false, By: "olga", Comment: "wrong card"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusFailed || res.Error == nil || res.Error.Step != "diagnose" ||
		!strings.Contains(res.Error.Message, "approval denied by olga: wrong card") {
		t.Fatalf("parent: %s, %+v", res.Status, res.Error)
	}
	w.ran(t, 1, 1, 0, 0)
	w.verify(t)
}

// TestSubRunWaitsThenDecidedBeforeContinue: Service.Decide (the server's
// path) records the decision without running; a plain Continue of the
// parent afterwards goes on with it.
func TestSubRunWaitsThenDecidedBeforeContinue(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "diagnose.refund", Approved: true, By: "olga"}); err != nil {
		t.Fatal(err)
	}
	c, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: w.parent, By: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("Run: %+v, %v", res, err)
	}
	w.ran(t, 1, 1, 1, 1)
	w.verify(t)
}

// TestSubRunWaitingCancelled: cancelling a run that waits through a
// sub-run cancels the sub-run too, before the run itself, so that no
// sub-run is left waiting for a decision nobody will use.
func TestSubRunWaitingCancelled(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	res, err := w.f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: w.parent, By: "olga"}, Comment: "duplicate ticket"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "cancelled" {
		t.Fatalf("parent: %s", res.Status)
	}
	parent, sub := w.states(t)
	if parent.Run.Status != "cancelled" || sub.Run.Status != "cancelled" {
		t.Fatalf("after the cancel: parent %s, sub-run %s", parent.Run.Status, sub.Run.Status)
	}
	w.ran(t, 1, 1, 0, 0)
	var ended *runs.EndedError
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent + ".diagnose", Step: "refund", Approved: true, By: "olga"}); !errors.As(err, &ended) {
		t.Fatalf("a decision on the cancelled sub-run: %v", err)
	}
	w.verify(t)
}

// TestSubRunWaitsForEach: a for_each core.runbook step whose items'
// sub-runs wait asks each question by its item's path (each.0.refund,
// each.1.refund); deciding one and going on finishes that item only, and
// the step still waits for the other; then the run ends, each sub-run
// having run its refund once.
func TestSubRunWaitsForEach(t *testing.T) {
	ctx := context.Background()
	var pays atomic.Int64
	pay := act("test.pay", true, func(_ context.Context, req *actions.Request) (map[string]any, error) {
		pays.Add(1)
		return map[string]any{"paid": req.With["amount"]}, nil
	})
	look := act("test.look", false, func(context.Context, *actions.Request) (map[string]any, error) { return map[string]any{}, nil })
	f := newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga"}}}, pay, look)
	f.runbook("child", subWaitChild)
	res, err := f.start(f.runbook("parent", `version: 1
name: parent
steps:
  - id: each
    for_each: ${{ [10, 20] }}
    action: core.runbook
    with: {name: child, inputs: {amount: '${{ item }}'}}
outputs:
  paid: '${{ map(steps.each.outputs, #.refunded) }}'
`), "ana", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Step("each", engine.PhaseMain)
	if res.Status != engine.StatusWaiting || st.Status != engine.StatusWaiting || len(st.Nested) != 2 {
		t.Fatalf("run %s, step %+v", res.Status, st)
	}
	paths := []string{st.Nested[0].Step, st.Nested[1].Step}
	if fmt.Sprint(paths) != "[each.0.refund each.1.refund]" && fmt.Sprint(paths) != "[each.1.refund each.0.refund]" {
		t.Fatalf("questions %v", paths)
	}
	decideAndGo := func(path string) *engine.Result {
		t.Helper()
		c, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: res.ID, By: "olga", Deciding: path})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Decide(ctx, runs.DecideRequest{Step: path, Approved: true, By: "olga"}); err != nil {
			t.Fatal(err)
		}
		out, err := c.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	mid := decideAndGo("each.1.refund")
	if st := mid.Step("each", engine.PhaseMain); mid.Status != engine.StatusWaiting || len(st.Nested) != 1 || st.Nested[0].Step != "each.0.refund" || pays.Load() != 1 {
		t.Fatalf("after one decision: run %s, step %+v, %d refunds", mid.Status, st, pays.Load())
	}
	end := decideAndGo("each.0.refund")
	if end.Status != engine.StatusSucceeded || fmt.Sprint(end.Outputs["paid"]) != "[10 20]" || pays.Load() != 2 {
		t.Fatalf("after both: run %s, outputs %v, %d refunds", end.Status, end.Outputs, pays.Load())
	}
	rep, err := journal.Verify(ctx, f.store, "")
	if err != nil || rep.Problem != nil || rep.Runs != 3 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}
