package runs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
)

// twoApprovals waits for an approval before each of its two steps, which
// read (they do not mutate: nothing is recorded before they run).
const twoApprovals = `version: 1
name: two-approvals
steps:
  - id: first
    approval: {message: "First?", approvers: [leads]}
    action: test.first
  - id: second
    approval: {message: "Second?", approvers: [leads]}
    action: test.second
`

// staleRuns is a service whose runs of twoApprovals count how often each
// step's action ran.
type staleRuns struct {
	f             *fixture
	first, second atomic.Int64
}

func newStaleRuns(t *testing.T) *staleRuns {
	r := &staleRuns{}
	count := func(name string, n *atomic.Int64) actions.Action {
		return act(name, false, func(context.Context, *actions.Request) (map[string]any, error) {
			n.Add(1)
			return map[string]any{}, nil
		})
	}
	r.f = newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga"}}},
		count("test.first", &r.first), count("test.second", &r.second))
	return r
}

// start starts a run, which waits for the approval of its first step.
func (r *staleRuns) start(t *testing.T) string {
	t.Helper()
	res, err := r.f.start(r.f.runbook("two-approvals", twoApprovals), "ana", nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %+v, %v; want waiting", res, err)
	}
	return res.ID
}

func (r *staleRuns) approve(t *testing.T, id, step string) {
	t.Helper()
	if _, err := r.f.svc.Decide(context.Background(), runs.DecideRequest{RunID: id, Step: step, Approved: true, By: "olga"}); err != nil {
		t.Fatal(err)
	}
}

// load is a continuation loaded now, run later.
func (r *staleRuns) load(t *testing.T, id string) *runs.Continuation {
	t.Helper()
	c, err := r.f.svc.Continue(context.Background(), runs.ContinueRequest{RunID: id, By: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *staleRuns) ran(t *testing.T, first, second int64) {
	t.Helper()
	if got, want := [2]int64{r.first.Load(), r.second.Load()}, [2]int64{first, second}; got != want {
		t.Fatalf("first, second ran %v times, want %v", got, want)
	}
}

func (r *staleRuns) verified(t *testing.T, runs int) {
	t.Helper()
	rep, err := journal.Verify(context.Background(), r.f.store, "")
	if err != nil || rep.Problem != nil || rep.Runs != runs {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// Two processes continue a run at once (two replicas resuming it, or a
// resume racing an approval): both load it before either takes its lease.
// The one that runs second goes on from the journal as it is when it
// holds the lease, not as it was loaded: a step the first ran is not run
// again; a run the first ended is an *EndedError, with nothing recorded.
func TestContinueLoadedTwice(t *testing.T) {
	ctx := context.Background()
	r := newStaleRuns(t)
	id := r.start(t)
	r.approve(t, id, "first")

	// Past a step: the first continuation runs step first, and the run
	// waits for the approval of second. The other then finds it waiting
	// for that and runs nothing.
	a, b := r.load(t, id), r.load(t, id)
	res, err := a.Run(ctx, nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("first continuation: %+v, %v; want waiting", res, err)
	}
	r.ran(t, 1, 0)
	res, err = b.Run(ctx, nil)
	if err != nil || res.Status != engine.StatusWaiting || res.Step("first", engine.PhaseMain).Status != engine.StatusSucceeded {
		t.Fatalf("stale continuation: %+v, %v; want waiting, first succeeded", res, err)
	}
	r.ran(t, 1, 0)

	// To its end: the other finds it ended.
	r.approve(t, id, "second")
	a, b = r.load(t, id), r.load(t, id)
	if res, err := a.Run(ctx, nil); err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("first continuation: %+v, %v; want succeeded", res, err)
	}
	r.ran(t, 1, 1)
	var ended *runs.EndedError
	if _, err := b.Run(ctx, nil); !errors.As(err, &ended) || ended.ID != id || ended.Status != "succeeded" {
		t.Fatalf("stale continuation of an ended run: %v, want an *EndedError (succeeded)", err)
	}
	r.ran(t, 1, 1)
	r.verified(t, 1)
}

// A continuation loaded before the run is cancelled (here: it waited, so
// Cancel ends it itself) finds it ended: nothing runs, and Cancel's own
// continuation, built before its cancel request is recorded, still ends
// the run cancelled.
func TestContinueLoadedBeforeCancel(t *testing.T) {
	ctx := context.Background()
	r := newStaleRuns(t)
	id := r.start(t)
	r.approve(t, id, "first")
	stale := r.load(t, id)
	got, err := r.f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: "olga"}, Comment: "no"})
	if err != nil || got.Status != "cancelled" || got.Result == nil {
		t.Fatalf("Cancel = %+v, %v; want cancelled here", got, err)
	}
	var ended *runs.EndedError
	if _, err := stale.Run(ctx, nil); !errors.As(err, &ended) || ended.Status != "cancelled" {
		t.Fatalf("stale continuation of a cancelled run: %v, want an *EndedError (cancelled)", err)
	}
	if _, err := stale.RunCancelled(ctx, nil); !errors.As(err, &ended) || ended.Status != "cancelled" {
		t.Fatalf("stale cancellation of a cancelled run: %v, want an *EndedError (cancelled)", err)
	}
	r.ran(t, 0, 0)
	r.verified(t, 1)
}

// Two cancels at once of a run that nothing executes: both record their
// request and build their continuation; the one that takes the run first
// ends it cancelled; the other finds it ended and says so as Cancel does
// when another execution held the run (its status, no document), running
// nothing.
func TestCancelledTwiceAtOnce(t *testing.T) {
	ctx := context.Background()
	r := newStaleRuns(t)
	id := r.start(t)
	r.approve(t, id, "first")
	var inner *runs.Cancelled
	var innerErr error
	req := runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: "olga"}, Comment: "no"}
	outer := req
	// Prepared is called once the outer cancel's continuation is built,
	// before it takes the run's lease.
	outer.Prepared = func(*schema.Runbook) { inner, innerErr = r.f.svc.Cancel(ctx, req) }
	got, err := r.f.svc.Cancel(ctx, outer)
	if innerErr != nil || inner == nil || inner.Status != "cancelled" || inner.Result == nil {
		t.Fatalf("inner Cancel = %+v, %v; want cancelled here", inner, innerErr)
	}
	if err != nil || got.Status != "cancelled" || got.Result != nil {
		t.Fatalf("outer Cancel = %+v, %v; want cancelled elsewhere", got, err)
	}
	r.ran(t, 0, 0)
	r.verified(t, 1)
}
