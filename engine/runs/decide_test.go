package runs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Six people, each through a service on a handle of their own (as six
// processes), load the waiting run, then decide its step at once: one
// decision is recorded, the five others fail with *AlreadyDecidedError
// naming it. Afterwards a decision, through Decide or Continue, is told
// the same; the run, continued, goes on as the recorded decision says.
func TestDecideOnce(t *testing.T) {
	ctx := context.Background()
	people := []string{"bruno", "carla", "dana", "eva", "filipe", "gabi"}
	policy := journal.Policy{Groups: map[string][]string{"leads": people}}
	f := newFixture(t, nil, policy)
	res, err := f.start(f.runbook("refund", approvalRunbook), "ana", nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %v, %v", res, err)
	}
	id := res.ID
	cs := make([]*runs.Continuation, len(people))
	for i, p := range people {
		svc := f.service(openStore(t, f.home), nil, policy)
		if cs[i], err = svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: p, Deciding: "refund"}); err != nil {
			t.Fatalf("Continue as %s: %v", p, err)
		}
	}
	decided := make([]*runs.Decided, len(people))
	errs := make([]error, len(people))
	var wg sync.WaitGroup
	for i, p := range people {
		wg.Go(func() {
			decided[i], errs[i] = cs[i].Decide(ctx, runs.DecideRequest{Step: "refund", Approved: i%2 == 0, By: p, Comment: "from " + p})
		})
	}
	wg.Wait()
	win := -1
	for i := range people {
		if errs[i] == nil {
			if win >= 0 {
				t.Fatalf("%s and %s both decided", people[win], people[i])
			}
			win = i
		}
	}
	if win < 0 {
		t.Fatalf("nobody decided: %v", errs)
	}
	st, err := journal.Load(ctx, f.store, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Decisions) != 1 || st.Decisions[0].By != people[win] {
		t.Fatalf("decisions recorded: %+v; want %s's only", st.Decisions, people[win])
	}
	want := runs.AlreadyDecidedError{RunID: id, Step: "refund", By: people[win], Approved: win%2 == 0, Seq: st.Decisions[0].Seq}
	wantMsg := fmt.Sprintf("step refund of run %s was already decided by %s: %s (record %d); only the first decision counts",
		id, people[win], map[bool]string{true: "approved", false: "denied"}[win%2 == 0], want.Seq)
	check := func(what string, err error) {
		t.Helper()
		var already *runs.AlreadyDecidedError
		if !errors.As(err, &already) || *already != want || err.Error() != wantMsg {
			t.Fatalf("%s: %v\nwant %s", what, err, wantMsg)
		}
	}
	for i, p := range people {
		if i != win {
			check(p+"'s decision at the same time", errs[i])
		}
	}
	check("a decision afterwards", func() error {
		_, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "refund", Approved: true, By: "eva"})
		return err
	}())
	_, err = f.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "eva", Deciding: "refund"})
	check("Continue to decide afterwards", err)

	res, err = cs[win].Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus := map[bool]engine.Status{true: engine.StatusSucceeded, false: engine.StatusFailed}[win%2 == 0]
	if res.Status != wantStatus {
		t.Fatalf("the run %s after %s's decision (approved %v)", res.Status, people[win], win%2 == 0)
	}
	// Ended: a decision is still told who decided, not that it ended.
	check("a decision after the end", func() error {
		_, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "refund", Approved: true, By: "eva"})
		return err
	}())
	_, err = f.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "eva", Deciding: "refund"})
	check("Continue to decide after the end", err)
	// A continuation loaded before the decision records nothing after
	// the end: the store refuses, and it is told who decided.
	loser := (win + 1) % len(people)
	_, err = cs[loser].Decide(ctx, runs.DecideRequest{Step: "refund", Approved: true, By: people[loser]})
	check("a decision loaded before the end", err)
	var ended *runs.EndedError
	if _, err := f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: "eva"}}); !errors.As(err, &ended) {
		t.Fatalf("Cancel after the end: %v", err)
	}
	if rep, err := journal.Verify(ctx, f.store, ""); err != nil || rep.Problem != nil {
		t.Fatalf("verify: %+v, %v", rep.Problem, err)
	}
}

// MayDecide answers as Decide would, recording nothing: the starter is
// refused (four eyes), someone not an approver is refused, an approver
// may; a step that does not wait, and a decided one, are said so.
func TestMayDecide(t *testing.T) {
	ctx := context.Background()
	policy := journal.Policy{Groups: map[string][]string{"leads": {"ana", "bruno"}}}
	f := newFixture(t, nil, policy)
	res, err := f.start(f.runbook("refund", approvalRunbook), "ana", nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %v, %v", res, err)
	}
	id := res.ID
	_, head, _ := f.store.Head(ctx)
	var refused *runs.RefusedError
	if err := f.svc.MayDecide(ctx, id, "refund", "ana"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "four eyes") {
		t.Fatalf("the starter: %v", err)
	}
	if err := f.svc.MayDecide(ctx, id, "refund", "carla"); !errors.As(err, &refused) || !strings.Contains(err.Error(), "approvers are") {
		t.Fatalf("not an approver: %v", err)
	}
	if err := f.svc.MayDecide(ctx, id, "refund", "bruno"); err != nil {
		t.Fatalf("an approver: %v", err)
	}
	if err := f.svc.MayDecide(ctx, id, "look", "bruno"); !errors.Is(err, runs.ErrNotWaiting) {
		t.Fatalf("a step that does not wait: %v", err)
	}
	if _, after, _ := f.store.Head(ctx); after != head {
		t.Fatal("MayDecide recorded something")
	}
	if _, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "refund", Approved: true, By: "bruno"}); err != nil {
		t.Fatal(err)
	}
	var decided *runs.AlreadyDecidedError
	if err := f.svc.MayDecide(ctx, id, "refund", "bruno"); !errors.As(err, &decided) || decided.By != "bruno" {
		t.Fatalf("after the decision: %v", err)
	}
	if err := f.svc.MayDecide(ctx, "nope", "refund", "bruno"); !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("no such run: %v", err)
	}
}
