package journaltest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testApprovals(t *testing.T) {
	t.Run("Decided", x.approvalsDecided)
}

// Decisions recorded through another handle (the person deciding, in
// another process) are what journal.Load and the run's Approver see.
func (x *suite) approvalsDecided(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	run := journal.Run{ID: "r", Runbook: "deploy", Actor: "ann", Status: "waiting", StartedAt: t0, UpdatedAt: at(2)}
	mustAppend(t, s, journal.Batch{RunID: "r", Run: &run, Entries: []journal.Entry{
		entry("run.started", 0, `{"runbook":"deploy","actor":"ann"}`),
		entry("step.waiting", 1, `{"step":"fix","message":"fix it?","approvers":["bob"]}`),
		entry("step.waiting", 2, `{"step":"drop","message":"drop it?"}`),
	}})
	now := func() time.Time { return at(3) }
	decide := func(st *journal.State, step string) (engine.Decision, error) {
		return st.Approver(now).Decide(ctx, engine.ApprovalRequest{RunID: "r", Step: step, Actor: "ann"})
	}

	st := load(t, s)
	if got := waitingSteps(st); !reflect.DeepEqual(got, []string{"fix", "drop"}) || len(st.Decisions) != 0 {
		t.Fatalf("before any decision: waiting %v, decisions %+v", got, st.Decisions)
	}
	if _, err := decide(st, "fix"); !errors.Is(err, engine.ErrPending) {
		t.Fatalf("Decide before any decision: %v", err)
	}

	fix := mustAppend(t, other, journal.Batch{RunID: "r", Sync: true, Entries: []journal.Entry{
		entry(journal.ApprovalDecided, 4, `{"step":"fix","approved":true,"by":"bob","comment":"go"}`),
	}})
	drop := mustAppend(t, other, journal.Batch{RunID: "r", Sync: true, Entries: []journal.Entry{
		entry(journal.ApprovalDecided, 5, `{"step":"drop","by":"carl","comment":"no"}`),
	}})
	st = load(t, s)
	want := []*journal.Decision{
		{Step: "fix", Approved: true, By: "bob", Comment: "go", Time: at(4), Seq: fix[0].Seq},
		{Step: "drop", Approved: false, By: "carl", Comment: "no", Time: at(5), Seq: drop[0].Seq},
	}
	if !reflect.DeepEqual(st.Decisions, want) {
		t.Fatalf("decisions %+v, want %+v", derefs(st.Decisions), derefs(want))
	}
	if got := waitingSteps(st); len(got) != 0 {
		t.Fatalf("still waiting after the decisions: %v", got)
	}
	for step, wantD := range map[string]engine.Decision{
		"fix":  {Approved: true, By: "bob", Comment: "go"},
		"drop": {Approved: false, By: "carl", Comment: "no"},
	} {
		if d, err := decide(st, step); err != nil || d != wantD {
			t.Fatalf("Decide(%s) = %+v, %v; want %+v", step, d, err, wantD)
		}
	}
}

func load(t *testing.T, s journal.Store) *journal.State {
	t.Helper()
	st, err := journal.Load(ctx, s, "r")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return st
}

func waitingSteps(st *journal.State) []string {
	var steps []string
	for _, w := range st.Waiting {
		steps = append(steps, w.Step)
	}
	return steps
}

func derefs(ds []*journal.Decision) []journal.Decision {
	out := make([]journal.Decision, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	return out
}
