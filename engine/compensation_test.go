package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
)

// grantActions are a grant that fails for one group and reports whether
// it changed anything, and a revoke that records what it undid.
func grantActions(failOn string, existing ...string) (*testAction, *testAction, func() []string) {
	var mu sync.Mutex
	var revoked []string
	grant := act("test.grant", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		g := req.With["group"].(string)
		if g == failOn {
			return nil, errf("backend_error", false, "%s is read-only", g)
		}
		return map[string]any{"group": g, "changed": !slices.Contains(existing, g)}, nil
	})
	revoke := act("test.revoke", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		revoked = append(revoked, fmt.Sprintf("%s#%d@%s", req.With["group"], req.Index, req.IdempotencyKey[strings.Index(req.IdempotencyKey, ":")+1:]))
		return map[string]any{"changed": true}, nil
	})
	return grant, revoke, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(revoked)
	}
}

// TestForEachUndoPerItem: when one item of a for_each step fails, the
// items that succeeded are undone, one undo per item with item and index
// in scope, last item first; the undo's if skips what the step did not
// change (a grant that existed before the run).
func TestForEachUndoPerItem(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
	}{
		{"fail fast", "    max_parallel: 1\n"},
		{"continue on error, then fail", "    continue_on_error: true\n  - id: check\n    if: steps.grant.status == \"failed\"\n    action: core.fail\n    with: {message: a grant failed}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grant, revoke, revoked := grantActions("legacy", "vpn")
			reg := registry(t, clockwork.NewRealClock(), grant, revoke)
			rb := load(t, reg, `version: 1
name: onboard
steps:
  - id: grant
    for_each: '${{ ["engineering", "vpn", "support", "legacy", "never"] }}'
    action: test.grant
    with: {group: '${{ item }}'}
    undo:
      if: steps.grant.outputs[index].changed
      action: test.revoke
      with: {group: '${{ item }}'}
`+tc.extra)
			rec := &recorder{}
			res := run(t, rb, reg, nil, engine.Options{Sink: rec})
			if res.Status != engine.StatusFailed {
				t.Fatalf("status %s", res.Status)
			}
			got := revoked()
			// max_parallel 1 with fail fast: "never" is not started.
			// continue_on_error: "never" succeeds and is undone too.
			want := []string{"support#2@grant:2:undo", "engineering#0@grant:0:undo"}
			if tc.name != "fail fast" {
				want = append([]string{"never#4@grant:4:undo"}, want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("revoked %v, want %v (vpn existed before: not undone)", got, want)
			}
			var undo *engine.StepResult
			for _, s := range res.Steps {
				if s.Phase == engine.PhaseUndo {
					undo = s
				}
			}
			if undo == nil || undo.Status != engine.StatusSucceeded || undo.Items != 5 {
				t.Fatalf("undo step %+v", undo)
			}
			var items []string
			for _, e := range rec.events {
				if e.Type == engine.ItemFinished && e.Phase == engine.PhaseUndo {
					items = append(items, fmt.Sprintf("%d=%s", e.Index, e.Status))
				}
			}
			wantItems := "2=succeeded 1=skipped 0=succeeded"
			if tc.name != "fail fast" {
				wantItems = "4=succeeded " + wantItems
			}
			if strings.Join(items, " ") != wantItems {
				t.Errorf("undo items %v, want %s", items, wantItems)
			}
		})
	}
}

// TestForEachUndoFailure: a failed item undo is recorded, the others still
// run, and the undo step says which item failed.
func TestForEachUndoFailure(t *testing.T) {
	grant, _, _ := grantActions("")
	var undone []int
	var mu sync.Mutex
	revoke := act("test.revoke", true, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if req.Index == 1 {
			return nil, errf("connection", true, "directory down")
		}
		undone = append(undone, req.Index)
		return map[string]any{}, nil
	})
	reg := registry(t, clockwork.NewRealClock(), grant, revoke)
	rb := load(t, reg, `version: 1
name: onboard
steps:
  - id: grant
    for_each: '${{ ["a", "b", "c"] }}'
    action: test.grant
    with: {group: '${{ item }}'}
    undo: {action: test.revoke, with: {group: '${{ item }}'}}
  - id: boom
    action: core.fail
    with: {message: later failure}
`)
	res := run(t, rb, reg, nil, engine.Options{})
	if !slices.Equal(undone, []int{2, 0}) {
		t.Errorf("undone %v", undone)
	}
	last := res.Steps[len(res.Steps)-1]
	if last.Phase != engine.PhaseUndo || last.Status != engine.StatusFailed || last.Error == nil ||
		last.Error.Message != "item 1 of 3: directory down" {
		t.Fatalf("undo %+v %+v", last, last.Error)
	}
}

// TestApproversTemplate: approvers may be templates, resolved when the
// step asks; the resolved names reach the Approver and the step.waiting
// event. A template that resolves to nobody fails the step: it never
// means "anyone may approve".
func TestApproversTemplate(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	for _, tc := range []struct {
		owner, want, err string
	}{
		{`"eng-leads"`, "eng-leads,cto", ""},
		{`["eng-leads", "cto"]`, "eng-leads,cto", ""},
		{`""`, "", "(set below)"},
		{`42`, "", "approval.approvers: an approver must be a name (a string), got a number"},
	} {
		t.Run(tc.owner, func(t *testing.T) {
			// A static name beside an empty template still names someone;
			// the empty case has the template alone.
			approvers := `['${{ steps.policy.outputs.owner }}', cto]`
			if tc.owner == `""` {
				approvers = `['${{ steps.policy.outputs.owner }}']`
				tc.err = "approval.approvers resolved to no name (${{ steps.policy.outputs.owner }}): nobody could approve, so the step does not run"
			}
			rb := load(t, reg, `version: 1
name: onboard
steps:
  - id: policy
    action: core.set
    with:
      owner: '${{ `+tc.owner+` }}'
  - id: grant
    approval:
      approvers: `+approvers+`
    action: core.log
    with: {message: granted}
`)
			ap := &stubApprover{err: engine.ErrPending}
			rec := &recorder{}
			res := run(t, rb, reg, nil, engine.Options{Sink: rec, Approver: ap})
			if tc.err != "" {
				if res.Status != engine.StatusFailed || res.Error == nil || !strings.Contains(res.Error.Message, tc.err) {
					t.Fatalf("status %s, error %+v; want %q", res.Status, res.Error, tc.err)
				}
				if len(ap.requests()) != 0 {
					t.Errorf("asked %v", ap.requests())
				}
				return
			}
			if res.Status != engine.StatusWaiting {
				t.Fatalf("status %s %+v", res.Status, res.Error)
			}
			reqs := ap.requests()
			if len(reqs) != 1 || strings.Join(reqs[0].Approvers, ",") != tc.want {
				t.Fatalf("requests %+v", reqs)
			}
			for _, e := range rec.events {
				if e.Type == engine.StepWaiting && strings.Join(e.Approvers, ",") != tc.want {
					t.Errorf("step.waiting approvers %v", e.Approvers)
				}
			}
		})
	}
}

// TestSubjectsTemplate: approval.subjects are resolved when the step
// asks, flattened (a template may give a list), without empty names or
// nils (an input not given); they reach the Approver and the step.waiting
// event. A subject that is not a name fails the step.
func TestSubjectsTemplate(t *testing.T) {
	reg := registry(t, clockwork.NewRealClock())
	for _, tc := range []struct {
		people, want, err string
	}{
		{`["gina", ["gina-park", nil], ""]`, "gina,gina-park,dana", ""},
		{`nil`, "dana", ""},
		{`42`, "", "approval.subjects: a subject must be a name (a string), got a number"},
	} {
		t.Run(tc.people, func(t *testing.T) {
			rb := load(t, reg, `version: 1
name: onboard
steps:
  - id: who
    action: core.set
    with:
      people: '${{ `+tc.people+` }}'
  - id: grant
    approval:
      approvers: [eng-leads]
      subjects: ['${{ steps.who.outputs.people }}', dana]
    action: core.log
    with: {message: granted}
`)
			ap := &stubApprover{err: engine.ErrPending}
			rec := &recorder{}
			res := run(t, rb, reg, nil, engine.Options{Sink: rec, Approver: ap})
			if tc.err != "" {
				if res.Status != engine.StatusFailed || res.Error == nil || !strings.Contains(res.Error.Message, tc.err) || len(ap.requests()) != 0 {
					t.Fatalf("status %s, error %+v, asked %v; want %q", res.Status, res.Error, ap.requests(), tc.err)
				}
				return
			}
			reqs := ap.requests()
			if res.Status != engine.StatusWaiting || len(reqs) != 1 || strings.Join(reqs[0].Subjects, ",") != tc.want {
				t.Fatalf("status %s, requests %+v", res.Status, reqs)
			}
			waited := false
			for _, e := range rec.events {
				if e.Type == engine.StepWaiting {
					waited = strings.Join(e.Subjects, ",") == tc.want
				}
			}
			if !waited || strings.Join(res.Step("grant", "").Subjects, ",") != tc.want {
				t.Errorf("step.waiting or the step's record lacks the subjects %s", tc.want)
			}
		})
	}
}

// TestForEachUndoResumed: a crash in the middle of a for_each step's undo;
// on resume the items undone before are not undone again, the others are.
func TestForEachUndoResumed(t *testing.T) {
	grant, revoke, revoked := grantActions("")
	reg := registry(t, clockwork.NewRealClock(), grant, revoke)
	rb := load(t, reg, `version: 1
name: onboard
steps:
  - id: grant
    for_each: '${{ ["a", "b", "c"] }}'
    action: test.grant
    with: {group: '${{ item }}'}
    undo: {action: test.revoke, with: {group: '${{ item }}'}}
  - id: boom
    action: core.fail
    with: {message: later failure}
`)
	items := map[int]*engine.PriorItem{}
	for i, g := range []string{"a", "b", "c"} {
		items[i] = &engine.PriorItem{Status: engine.StatusSucceeded, Attempt: 1, Outputs: map[string]any{"group": g, "changed": true}}
	}
	grantDone := &engine.Prior{Result: engine.StepResult{ID: "grant", Action: "test.grant", Status: engine.StatusSucceeded, Items: 3,
		Outputs:   []any{items[0].Outputs, items[1].Outputs, items[2].Outputs},
		StartedAt: resumeStart, FinishedAt: resumeStart.Add(time.Second)}, Items: items}
	boom := &engine.Prior{Result: engine.StepResult{ID: "boom", Action: "core.fail", Status: engine.StatusFailed,
		Error:     &engine.ErrorInfo{Code: "failed", Message: "later failure", Step: "boom"},
		StartedAt: resumeStart.Add(time.Second), FinishedAt: resumeStart.Add(2 * time.Second)},
		Items: map[int]*engine.PriorItem{-1: {Status: engine.StatusFailed, Attempt: 1}}}
	// Item 2 was undone, item 1's undo was in flight (revoke is
	// idempotent: it runs again), item 0 had not started.
	undoing := priorUnfinished("grant", "test.revoke", map[int]*engine.PriorItem{
		2: {Status: engine.StatusSucceeded, Attempt: 1, Outputs: map[string]any{"changed": true}},
		1: {Attempt: 1, Open: true, Mutates: true, Idempotent: true},
	})
	rec := &recorder{}
	res := run(t, rb, reg, nil, resumeOpts(rec, resumeOf(map[engine.StepKey]*engine.Prior{
		mainKey("grant"): grantDone, mainKey("boom"): boom, undoKey("grant"): undoing,
	})))
	if res.Status != engine.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	if got := revoked(); !slices.Equal(got, []string{"b#1@grant:1:undo", "a#0@grant:0:undo"}) {
		t.Errorf("revoked on resume %v, want b then a (c was undone before)", got)
	}
	undo := res.Step("grant", engine.PhaseUndo)
	if undo == nil || undo.Status != engine.StatusSucceeded {
		t.Fatalf("undo %+v", undo)
	}
	if outs, _ := undo.Outputs.([]any); len(outs) != 3 || outs[2] == nil {
		t.Errorf("undo outputs %v: item 2's recorded outputs are kept", undo.Outputs)
	}
}

// TestDryRunUndoExecutesNothingThatMutates proves a dry run that fails
// undoes its read-only steps without executing anything that mutates: an
// undo whose action mutates, and an undo that reads the outputs of a step
// the dry run did not run, are reported (step.dry_run, skipped with the
// reason), not executed; a read-only undo that knows its input runs, as a
// read-only step does. Items are undone the same way.
func TestDryRunUndoExecutesNothingThatMutates(t *testing.T) {
	l, u, p := &ledger{}, &ledger{}, &ledger{}
	reg := registry(t, clockwork.NewRealClock(), l.action("test.read", false, false), u.action("test.revoke", true, false),
		p.action("test.peek", false, false))
	rb := load(t, reg, `version: 1
name: dry-undo
steps:
  - id: look
    action: test.read
    with: {what: look}
    undo: {action: test.revoke, with: {what: '${{ steps.look.outputs.what }}'}}
  - id: each
    for_each: '${{ ["a", "b"] }}'
    action: test.read
    with: {what: '${{ item }}'}
    undo: {action: test.revoke, with: {what: '${{ item }}'}}
  - id: pay
    action: test.revoke
    with: {what: pay}
  - id: note
    action: test.read
    with: {what: note}
    undo: {action: test.peek, with: {what: '${{ steps.note.outputs.what }}', id: '${{ steps.pay.outputs.id }}'}}
  - id: calm
    needs: [note]
    action: test.read
    with: {what: calm}
    undo: {action: test.peek, with: {what: '${{ steps.calm.outputs.what }}'}}
  - id: boom
    needs: [calm]
    action: core.fail
    with: {message: boom}
`)
	rec := &recorder{}
	res := run(t, rb, reg, nil, engine.Options{DryRun: true, Sink: rec})
	if res.Status != engine.StatusFailed || res.Error.Message != "boom" {
		t.Fatalf("status %s %+v", res.Status, res.Error)
	}
	if got := u.what(); len(got) != 0 {
		t.Errorf("a dry run executed test.revoke, which mutates: %v", got)
	}
	if got := p.what(); !slices.Equal(got, []string{"calm"}) {
		t.Errorf("test.peek executed for %v, want only calm's undo", got)
	}
	for _, c := range []struct{ step, reason string }{
		{"look", `dry-run: would run test.revoke with {"what":"look"}`},
		{"note", "dry-run: not run: its with reads steps.pay, which did not run"},
	} {
		s := res.Step(c.step, engine.PhaseUndo)
		if s == nil || s.Status != engine.StatusSkipped || s.Reason != c.reason || s.Attempts != 0 {
			t.Errorf("%s/undo %+v, want skipped: %s", c.step, s, c.reason)
		}
		if e := firstEvent(rec, engine.StepDryRun, c.step, engine.PhaseUndo); e == nil || e.Message != c.reason {
			t.Errorf("%s/undo: step.dry_run %+v", c.step, e)
		}
	}
	if s := res.Step("calm", engine.PhaseUndo); s.Status != engine.StatusSucceeded || s.Attempts != 1 {
		t.Errorf("calm/undo %+v", s)
	}
	var items []string
	for _, e := range rec.events {
		if e.Step == "each" && e.Phase == engine.PhaseUndo && (e.Type == engine.StepDryRun || e.Type == engine.ItemFinished) {
			items = append(items, fmt.Sprintf("%s %d %s", e.Type, e.Index, e.Status))
		}
	}
	want := []string{"step.dry_run 1 ", "item.finished 1 skipped", "step.dry_run 0 ", "item.finished 0 skipped"}
	if !slices.Equal(items, want) {
		t.Errorf("each/undo events %q, want %q", items, want)
	}
}
