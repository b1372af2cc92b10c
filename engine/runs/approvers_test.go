package runs_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

const groupRunbook = `version: 1
name: grouped
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

// TestUndefinedGroupAtRunTime: without steward.yaml, a step whose
// approvers name an undefined group fails when it asks (code
// invalid_approvers, naming the key to add) instead of waiting for a
// decision nobody could make; with steward.yaml read, the run is refused
// before anything runs, as validate refuses it.
func TestUndefinedGroupAtRunTime(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	res, err := f.start(f.runbook("grouped", groupRunbook), "ana", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `approval group "payments-leads" is not defined: add approvals.groups.payments-leads: [NAME, ...] to steward.yaml (none was read)`
	if res.Status != engine.StatusFailed || res.Error == nil || res.Error.Code != engine.CodeInvalidApprovers || res.Error.Message != want ||
		res.Step("look", "").Status != engine.StatusSucceeded {
		t.Fatalf("run %s, error %+v", res.Status, res.Error)
	}

	f = newFixture(t, nil, journal.Policy{Groups: map[string][]string{"payment-leads": {"bruno"}}, Config: "/etc/steward.yaml"})
	plan := f.svc.Prepare(f.runbook("grouped", groupRunbook), nil)
	got := plan.Diagnostics.Render()
	if !strings.Contains(got, `steps[1].approval.approvers[0]: approval group "payments-leads" is not defined in /etc/steward.yaml`) ||
		!strings.Contains(got, `did you mean "payment-leads"?`) {
		t.Fatalf("diagnostics:\n%s", got)
	}
	if _, err := f.svc.Start(context.Background(), plan, runs.StartRequest{Actor: "ana"}); err == nil {
		t.Fatal("a run started with an undefined group")
	}

	// Defined: the run waits for a lead, who decides.
	f = newFixture(t, nil, journal.Policy{Groups: map[string][]string{"payments-leads": {"bruno"}}, Config: "/etc/steward.yaml"})
	res, err = f.start(f.runbook("grouped", groupRunbook), "ana", nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("run %v %v", res, err)
	}
	if _, err := f.svc.Decide(context.Background(), runs.DecideRequest{RunID: res.ID, Step: "refund", Approved: true, By: "payments-leads"}); err == nil ||
		!strings.Contains(err.Error(), "payments-leads may not decide step refund: approvers are group:payments-leads (bruno)") {
		t.Fatalf("a person named as the group decided: %v", err)
	}
	if _, err := f.svc.Decide(context.Background(), runs.DecideRequest{RunID: res.ID, Step: "refund", Approved: true, By: "bruno"}); err != nil {
		t.Fatal(err)
	}
}

const subjectRunbook = `version: 1
name: onboard
inputs:
  user: {type: string, required: true}
  login: {type: string}
steps:
  - id: grant
    approval:
      approvers: [group:eng-leads]
      subjects: ['${{ inputs.user }}', '${{ inputs.login }}']
    action: core.log
    with: {message: granted}
`

// TestSubjectMayNotDecide: the subjects of a change (approval.subjects,
// resolved from the inputs when the step asks and recorded with the
// question) may not decide it, even as members of the approver group and
// with allow_self_approval; an input not given names nobody. Another
// member decides.
func TestSubjectMayNotDecide(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{Groups: map[string][]string{"eng-leads": {"gina", "lena"}}, AllowSelfApproval: true})
	res, err := f.start(f.runbook("onboard", subjectRunbook), "hr-bot", map[string]any{"user": "gina"})
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("run %v %v", res, err)
	}
	if got := res.Step("grant", "").Subjects; len(got) != 1 || got[0] != "gina" {
		t.Errorf("subjects %q, want [gina]", got)
	}
	_, err = f.svc.Decide(context.Background(), runs.DecideRequest{RunID: res.ID, Step: "grant", Approved: true, By: "gina"})
	var refused *runs.RefusedError
	if !errors.As(err, &refused) ||
		err.Error() != "refused: gina is the subject of this change and may not approve it (step grant asks group:eng-leads (gina, lena))" {
		t.Fatalf("the subject decided: %v", err)
	}
	if _, err := f.svc.Decide(context.Background(), runs.DecideRequest{RunID: res.ID, Step: "grant", Approved: true, By: "lena"}); err != nil {
		t.Fatal(err)
	}
}
