package runtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
)

const approvalRunbook = `version: 1
name: rb
steps:
  - id: refund
    approval:
      approvers: [group:payments-leads, dana]
    action: core.log
    with: {message: refunded}
`

// TestApprovalRules: a test decides approvals by the rules of steward
// approve. A decision by someone the approvers do not allow, or by the
// run's actor, is refused and the step keeps waiting (a case may expect
// that); without by, the first person allowed who is not the actor
// decides; a group neither steward.yaml nor the test file defines fails
// the step.
func TestApprovalRules(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": approvalRunbook, "rb.test.yaml": `groups:
  payments-leads: [ana, bruno]
cases:
  - name: a lead decides
    actor: ana
    approvals: {refund: deny}
    expect:
      status: failed
      error: approval denied by bruno
  - name: a named person approves
    approvals: {refund: {approve: true, by: dana}}
  - name: an outsider is refused
    approvals: {refund: {approve: true, by: mallory}}
  - name: the actor is refused
    actor: bruno
    approvals:
      refund: {approve: true, by: bruno}
  - name: a refusal can be expected
    approvals: {refund: {approve: true, by: mallory}}
    expect: {status: waiting}
`})
	got := runAll(t, s)
	wantFailures(t, got, map[string][]string{
		"a lead decides":          nil,
		"a named person approves": nil,
		"an outsider is refused": {
			"12: expect.status: got waiting, want succeeded",
			"13: approvals.refund: refused: mallory may not decide step refund: approvers are group:payments-leads (ana, bruno), dana",
		},
		"the actor is refused": {
			"14: expect.status: got waiting, want succeeded",
			"17: approvals.refund: refused: bruno started the run and cannot approve its steps: four eyes (set approvals.allow_self_approval in steward.yaml to allow it)",
		},
		"a refusal can be expected": nil,
	})
}

// TestApprovalUndefinedGroup: a group:NAME nobody defines fails the step
// when it asks, naming where to define it; with groups known (steward.yaml
// read, or groups: in the test file), the test file is invalid before any
// case runs, as steward run refuses the runbook.
func TestApprovalUndefinedGroup(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": approvalRunbook, "rb.test.yaml": `cases:
  - name: nobody can approve
    approvals: {refund: approve}
`})
	got := runAll(t, s)
	wantFailures(t, got, map[string][]string{"nobody can approve": {
		"2: expect.status: got failed, want succeeded",
		`2: the run failed: step refund: approval group "payments-leads" is not defined: add it to the test file's groups, or approvals.groups.payments-leads: [NAME, ...] to steward.yaml`,
	}})

	dir := t.TempDir()
	for name, content := range map[string]string{"rb.yaml": approvalRunbook, "rb.test.yaml": "groups:\n  payment-leads: [ana]\ncases:\n  - name: x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	test := filepath.Join(dir, "rb.test.yaml")
	sum := RunFiles(context.Background(), &out, []string{test}, Options{Registry: builtins(t)})
	want := filepath.Join(dir, "rb.yaml") + `:6:19: steps[0].approval.approvers[0]: approval group "payments-leads" is not defined in ` + test + ` (groups:)
    6 |       approvers: [group:payments-leads, dana]
      |                   ^
  hint: did you mean "payment-leads"?
FAIL    ` + test + ` [invalid]
0 passed, 0 failed
`
	if sum.Invalid != 1 || out.String() != want {
		t.Errorf("invalid %d\n%s\nwant\n%s", sum.Invalid, out.String(), want)
	}
	// steward.yaml's groups and self-approval apply.
	out.Reset()
	if err := os.WriteFile(test, []byte("cases:\n  - name: self\n    actor: ana\n    approvals: {refund: {approve: true, by: ana}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := journal.Policy{Groups: map[string][]string{"payments-leads": {"ana"}}, AllowSelfApproval: true, Config: "steward.yaml"}
	sum = RunFiles(context.Background(), &out, []string{test}, Options{Registry: builtins(t), Policy: pol})
	if sum.Passed != 1 || !strings.HasSuffix(out.String(), "1 passed, 0 failed\n") {
		t.Errorf("with steward.yaml's policy: %+v\n%s", sum, out.String())
	}
}
