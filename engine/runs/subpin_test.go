package runs_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// TestSubRunResolvesFromCallersOrigin: Config.Resolve is given the commit
// the calling run's runbook was read from: the top run's (also when it
// goes on after an approval), a sub-run's own for its sub-runs, none for
// a folder's runbook; a sub-run records the origin of what it resolved.
func TestSubRunResolvesFromCallersOrigin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga"}}})
	pinned := func(name, commit, src string) *runbooks.Document {
		return runbooks.NewPinned([]byte(src), runbooks.Pinned{Source: "ops", Repo: "/repo", Commit: commit, Path: "rb/" + name + ".yaml", Blob: "blob-" + name}, fstest.MapFS{})
	}
	const leaf = "version: 1\nname: leaf\nsteps:\n  - {id: x, action: core.set, with: {v: 1}}\n"
	const mid = "version: 1\nname: mid\nsteps:\n  - {id: call, action: core.runbook, with: {name: leaf}}\n"
	var mu sync.Mutex
	var calls []string // NAME from SOURCE@COMMIT:PATH, in order
	f.svc = runs.New(runs.Config{Store: f.store, Host: "test-host", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clockwork.NewRealClock(), sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Policy: journal.Policy{Groups: map[string][]string{"leads": {"olga"}}},
		Resolve: func(name string, from *runbooks.Pinned) (*runbooks.Document, error) {
			mu.Lock()
			defer mu.Unlock()
			call := name + " from -"
			if from != nil {
				call = name + " from " + from.Source + "@" + from.Commit + ":" + from.Path
			}
			calls = append(calls, call)
			if name == "mid" {
				return pinned("mid", "bbb", mid), nil // as if the caller's commit were bbb
			}
			return pinned("leaf", "ccc", leaf), nil
		}})
	top := pinned("top", "aaa", `version: 1
name: top
steps:
  - id: call
    approval: {message: go on, approvers: [leads]}
    action: core.runbook
    with: {name: mid}
`)
	plan := f.svc.Prepare(top, nil)
	if err := plan.Err(); err != nil {
		t.Fatalf("%v\n%s", err, plan.Diagnostics.Render())
	}
	res, err := f.svc.Start(ctx, plan, runs.StartRequest{Actor: "ana"})
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %v %+v", err, res)
	}
	if _, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: res.ID, Step: "call", Approved: true, By: "olga"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: res.ID, By: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = c.Run(ctx, nil); err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("go on: %v %+v", err, res)
	}
	got, err := f.svc.Get(ctx, res.ID+".call")
	if err != nil {
		t.Fatal(err)
	}
	if o := got.State.Origin; o.Source != "ops" || o.Commit != "bbb" || o.Path != "rb/mid.yaml" || o.Blob != "blob-mid" || o.Parent != res.ID {
		t.Fatalf("the sub-run's origin: %+v", o)
	}

	folder, err := f.start(f.runbook("outer", "version: 1\nname: outer\nsteps:\n  - {id: call, action: core.runbook, with: {name: mid}}\n"), "ana", nil)
	if err != nil || folder.Status != engine.StatusSucceeded {
		t.Fatalf("folder run: %v %+v", err, folder)
	}
	want := []string{"mid from ops@aaa:rb/top.yaml", "leaf from ops@bbb:rb/mid.yaml", "mid from -", "leaf from ops@bbb:rb/mid.yaml"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("resolved:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// TestWaitingSubRunGoesOnWithItsVersion: a sub-run that waits goes on
// with the runbook version it started with, recorded in the journal,
// though its folder's file changed meanwhile.
func TestWaitingSubRunGoesOnWithItsVersion(t *testing.T) {
	ctx := context.Background()
	w := newSubWait(t)
	w.f.runbook("child", strings.Replace(subWaitChild, "refunded: ${{ steps.refund.outputs.paid }}", "refunded: changed", 1))
	if _, err := w.f.svc.Decide(ctx, runs.DecideRequest{RunID: w.parent, Step: "diagnose.refund", Approved: true, By: "olga"}); err != nil {
		t.Fatal(err)
	}
	c, err := w.f.svc.Continue(ctx, runs.ContinueRequest{RunID: w.parent, By: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil || res.Status != engine.StatusSucceeded || fmt.Sprint(res.Outputs["refunded"]) != "42" {
		t.Fatalf("parent: %v %s, outputs %v", err, res.Status, res.Outputs)
	}
	w.ran(t, 1, 1, 1, 1)
}
