package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const groupRefund = `version: 1
name: refund
steps:
  - id: look
    action: core.log
    with: {message: looked}
  - id: refund
    approval:
      approvers: [group:payments-leads]
    action: core.log
    with: {message: refunded}
`

// TestAccessUndefinedGroup: an approver group steward.yaml does not define
// is an error at validate when steward.yaml is found, naming the key to
// add; steward run refuses the runbook then; without steward.yaml, the run
// fails the step when it asks, naming the key, instead of waiting for a
// decision that only someone called --as payments-leads could make.
func TestAccessUndefinedGroup(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "refund.yaml"), groupRefund)

	// No steward.yaml: validate cannot know groups, and passes.
	wantCode(t, homeRun(t, dir, home, nil, "validate", "--strict", "refund.yaml"), exitOK, "validate without steward.yaml")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--as", "ana", "-o", "json")
	wantCode(t, r, exitFailed, "run without steward.yaml")
	var doc struct {
		Status string
		Error  struct{ Code, Message, Step string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.Error.Code != "invalid_approvers" || doc.Error.Step != "refund" ||
		doc.Error.Message != `approval group "payments-leads" is not defined: add approvals.groups.payments-leads: [NAME, ...] to steward.yaml (none was read)` {
		t.Fatalf("run without steward.yaml: %+v", doc)
	}

	// steward.yaml without the group (a typo in it): validate and run say
	// which key to add, at the approver's line.
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payment-leads: [bruno]\n")
	want := `refund.yaml:9:19: steps[1].approval.approvers[0]: approval group "payments-leads" is not defined in steward.yaml
    9 |       approvers: [group:payments-leads]
      |                   ^
  hint: did you mean "payment-leads"?
`
	r = homeRun(t, dir, home, nil, "validate", "refund.yaml")
	if r.code != exitInvalid || r.stdout != want {
		t.Fatalf("validate: exit %d\n%s\nwant\n%s", r.code, r.stdout, want)
	}
	r = homeRun(t, dir, home, nil, "run", "refund.yaml", "--as", "ana")
	if r.code != exitInvalid || !strings.Contains(r.stderr, want) {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    bookkeepers: [dana]\n")
	r = homeRun(t, dir, home, nil, "validate", "refund.yaml")
	if r.code != exitInvalid || !strings.Contains(r.stdout, "hint: add approvals.groups.payments-leads: [NAME, ...] to steward.yaml (defined: bookkeepers)") {
		t.Fatalf("validate without a close group: exit %d\n%s", r.code, r.stdout)
	}

	// Defined: a lead approves; a person named like the group does not.
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payments-leads: [bruno, carla]\n")
	wantCode(t, homeRun(t, dir, home, nil, "validate", "--strict", "refund.yaml"), exitOK, "validate with the group")
	r = homeRun(t, dir, home, nil, "run", "refund.yaml", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run with the group")
	if !strings.Contains(r.stderr, "who may decide: group:payments-leads (bruno, carla)") {
		t.Errorf("who may decide:\n%s", r.stderr)
	}
	id := runID(t, r)
	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "payments-leads")
	if r.code != exitFailed || !strings.Contains(r.stderr, "payments-leads may not decide step refund: approvers are group:payments-leads (bruno, carla)") {
		t.Fatalf("approve as the group's name: exit %d\n%s", r.code, r.stderr)
	}
	wantCode(t, homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "carla"), exitOK, "approve as a lead")

	// The group removed from steward.yaml while the run waited: nobody
	// may decide, and the message names the key.
	r = homeRun(t, dir, home, nil, "run", "refund.yaml", "--as", "ana", "--progress", "plain")
	id = runID(t, r)
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    leads: [bruno]\n")
	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "bruno")
	if r.code == exitOK || !strings.Contains(r.stderr, `approval group "payments-leads" is not defined in steward.yaml: add approvals.groups.payments-leads`) {
		t.Fatalf("approve after the group was removed: exit %d\n%s", r.code, r.stderr)
	}
}

// TestTestApprovalRules: steward test decides approvals by steward
// approve's rules: steward.yaml's groups (and the test file's), four eyes,
// and approvers; docs/runbook-tests.md says so.
func TestTestApprovalRules(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund.yaml"), groupRefund)
	writeFile(t, filepath.Join(dir, "runbooks", "refund.test.yaml"), `cases:
  - name: a lead approves
    actor: ana
    approvals: {refund: {approve: true, by: bruno}}
  - name: an outsider cannot
    actor: ana
    approvals: {refund: {approve: true, by: mallory}}
  - name: nor the actor
    actor: bruno
    approvals: {refund: {approve: true, by: bruno}}
`)
	r := run(t, dir, "test")
	if r.code != exitFailed || !strings.Contains(r.stdout, `approval group "payments-leads" is not defined: add it to the test file's groups, or approvals.groups.payments-leads: [NAME, ...] to steward.yaml`) {
		t.Fatalf("without groups: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payments-leads: [bruno, carla]\n")
	r = run(t, dir, "test")
	want := `--- FAIL: refund/an outsider cannot (0.00s)
    runbooks/refund.test.yaml:5: expect.status: got waiting, want succeeded
    runbooks/refund.test.yaml:7: approvals.refund: refused: mallory may not decide step refund: approvers are group:payments-leads (bruno, carla)
--- FAIL: refund/nor the actor (0.00s)
    runbooks/refund.test.yaml:8: expect.status: got waiting, want succeeded
    runbooks/refund.test.yaml:10: approvals.refund: refused: bruno started the run and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)
FAIL    runbooks/refund.test.yaml
1 passed, 2 failed
`
	if r.code != exitFailed || r.stdout != want {
		t.Fatalf("exit %d\n%s\nwant\n%s", r.code, r.stdout, want)
	}
	// allow_self_approval applies as in steward approve.
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  allow_self_approval: true\n  groups:\n    payments-leads: [bruno, carla]\n")
	r = run(t, dir, "test", "--run", "actor")
	if r.code != exitOK {
		t.Fatalf("allow_self_approval: exit %d\n%s", r.code, r.stdout)
	}
}
