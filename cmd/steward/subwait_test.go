package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// subWaitSetup writes a parent runbook whose core.runbook step starts a
// child that waits for a refund's approval by group:payments-leads.
func subWaitSetup(t *testing.T) (dir, home string) {
	dir, home = t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payments-leads: [bruno, carla]\n")
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), `version: 1
name: child
inputs:
  amount: {type: integer, required: true}
steps:
  - id: look
    action: core.log
    with: {message: 'looking at ${{ inputs.amount }}'}
  - id: refund
    approval:
      message: Refund ${{ inputs.amount }}?
      approvers: [group:payments-leads]
    action: core.set
    with: {refunded: '${{ inputs.amount }}'}
outputs:
  refunded: ${{ steps.refund.outputs.refunded }}
`)
	writeFile(t, filepath.Join(dir, "runbooks", "parent.yaml"), `version: 1
name: parent
steps:
  - id: before
    action: core.log
    with: {message: before}
  - id: diagnose
    action: core.runbook
    with: {name: child, inputs: {amount: 42}}
  - id: after
    action: core.set
    with: {refunded: '${{ steps.diagnose.outputs.refunded }}'}
outputs:
  refunded: ${{ steps.after.outputs.refunded }}
`)
	return dir, home
}

// shownRun is what steward show -o json says of a run.
type shownRun struct {
	Run struct {
		ID, Status, Parent string
	}
	Steps []struct {
		ID, Status string
		Attempts   int
	}
	Waiting []struct {
		Step string
	}
	Timeline []struct {
		Type string
		Data map[string]any
	}
}

func showJSON(t *testing.T, dir, home, id string) shownRun {
	t.Helper()
	r := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	wantCode(t, r, exitOK, "show "+id)
	var d shownRun
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, r.stdout)
	}
	return d
}

// count is how many timeline records of a type name a step. An
// attempt's start counts whether it has a record of its own or is merged
// into step.started.
func (d shownRun) count(typ, step string) int {
	n := 0
	for _, e := range d.Timeline {
		merged := typ == "attempt.started" && e.Type == "step.started" && e.Data["attempt"] != nil
		if (e.Type == typ || merged) && e.Data["step"] == step {
			n++
		}
	}
	return n
}

// TestSubRunWaitApproveCLI: a parent whose sub-run waits for an approval
// exits 3 and prints the command that decides it (the path
// diagnose.refund from the parent); show of the parent lists it, show of
// the sub-run its own step; a member of the group approves through the
// parent's id and the path; the sub-run and the parent go on to their
// end (exit 0) without running again a finished step; the decision is in
// the sub-run; the journal verifies.
func TestSubRunWaitApproveCLI(t *testing.T) {
	dir, home := subWaitSetup(t)
	r := homeRun(t, dir, home, nil, "run", "parent", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run parent")
	id := runID(t, r)
	for _, want := range []string{
		"run " + id + " waits, through step diagnose, for approval of diagnose.refund in a sub-run:",
		"steward approve " + id + " diagnose.refund --comment",
		"who may decide: group:payments-leads (bruno, carla)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("run: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "sub-run approval: diagnose.refund: Refund 42?") || !strings.Contains(r.stdout, "  waiting: step diagnose, for diagnose.refund in its sub-run\n") {
		t.Errorf("run: the progress does not say what the sub-run waits for:\n%s", r.stdout)
	}
	parent := showJSON(t, dir, home, id)
	if parent.Run.Status != "waiting" || len(parent.Waiting) != 1 || parent.Waiting[0].Step != "diagnose.refund" {
		t.Fatalf("show parent: %+v", parent)
	}
	text := homeRun(t, dir, home, nil, "show", id)
	wantCode(t, text, exitOK, "show")
	if !strings.Contains(text.stdout, "steward approve "+id+" diagnose.refund") {
		t.Errorf("show does not print the approve command:\n%s", text.stdout)
	}
	sub := showJSON(t, dir, home, id+".diagnose")
	if sub.Run.Status != "waiting" || sub.Run.Parent != id || len(sub.Waiting) != 1 || sub.Waiting[0].Step != "refund" {
		t.Fatalf("show sub-run: %+v", sub)
	}

	// The person who started the run cannot approve the sub-run's step.
	r = homeRun(t, dir, home, nil, "approve", id, "diagnose.refund", "--as", "ana")
	wantCode(t, r, exitFailed, "approve as the requester")
	// Deciding the core.runbook step itself names what to decide.
	r = homeRun(t, dir, home, nil, "approve", id, "diagnose", "--as", "bruno")
	wantCode(t, r, exitInvalid, "approve the parent's step")
	if !strings.Contains(r.stderr, "it waits for diagnose.refund") {
		t.Errorf("approve diagnose: %s", r.stderr)
	}

	r = homeRun(t, dir, home, nil, "approve", id, "diagnose.refund", "--as", "bruno", "--comment", "ticket 4711", "--progress", "plain")
	wantCode(t, r, exitOK, "approve")
	if !strings.Contains(r.stderr, "approved step refund of run "+id+".diagnose as bruno; the run goes on") {
		t.Errorf("approve: %s", r.stderr)
	}
	parent = showJSON(t, dir, home, id)
	sub = showJSON(t, dir, home, id+".diagnose")
	if parent.Run.Status != "succeeded" || sub.Run.Status != "succeeded" {
		t.Fatalf("after approve: parent %s, sub-run %s", parent.Run.Status, sub.Run.Status)
	}
	// Finished steps ran once: before in the parent, look in the sub-run;
	// the core.runbook step kept its one attempt.
	if n := parent.count("attempt.started", "before"); n != 1 {
		t.Errorf("before ran %d times", n)
	}
	if n := sub.count("attempt.started", "look"); n != 1 {
		t.Errorf("look ran %d times", n)
	}
	for _, s := range parent.Steps {
		if s.ID == "diagnose" && (s.Attempts != 1 || s.Status != "succeeded") {
			t.Errorf("step diagnose: %+v", s)
		}
	}
	if parent.count("approval.decided", "refund") != 0 || sub.count("approval.decided", "refund") != 1 {
		t.Errorf("the decision is not recorded in the sub-run only")
	}
	r = homeRun(t, dir, home, nil, "audit", "verify")
	wantCode(t, r, exitOK, "audit verify")
}

// TestSubRunWaitApproveBySubRunID: the same decision through the
// sub-run's own id (steward approve PARENT.STEP SUBSTEP), a denial: the
// sub-run fails, then the parent; resume of the sub-run alone is refused
// with the command to use.
func TestSubRunWaitApproveBySubRunID(t *testing.T) {
	dir, home := subWaitSetup(t)
	r := homeRun(t, dir, home, nil, "run", "parent", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run parent")
	id := runID(t, r)
	r = homeRun(t, dir, home, nil, "resume", id+".diagnose")
	wantCode(t, r, exitInvalid, "resume the sub-run")
	if !strings.Contains(r.stderr, "steward resume "+id) {
		t.Errorf("resume of the sub-run: %s", r.stderr)
	}
	r = homeRun(t, dir, home, nil, "approve", id+".diagnose", "refund", "--deny", "--as", "carla", "--comment", "wrong card", "-o", "json")
	wantCode(t, r, exitFailed, "deny")
	var res struct {
		ID, Status string
		Error      struct{ Step, Message string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("approve -o json: %v\n%s", err, r.stdout)
	}
	if res.ID != id || res.Status != "failed" || res.Error.Step != "diagnose" || !strings.Contains(res.Error.Message, "approval denied by carla: wrong card") {
		t.Fatalf("the parent after the denial: %+v", res)
	}
	if sub := showJSON(t, dir, home, id+".diagnose"); sub.Run.Status != "failed" {
		t.Fatalf("sub-run: %s", sub.Run.Status)
	}
	r = homeRun(t, dir, home, nil, "audit", "verify")
	wantCode(t, r, exitOK, "audit verify")
}
