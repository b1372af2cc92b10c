package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// The mistake of issue 17: a typo in a plugin's output field passed
// validate, the condition was false at run time, and the customer got an
// empty reply.
const replyRunbook = `version: 1
name: reply
inputs:
  id: {type: string, required: true}
steps:
  - id: payment
    action: payments.get_payment
    with: {payment_id: '${{ inputs.id }}'}
  - id: reply
    if: steps.payment.outputs.faild
    action: core.log
    with:
      message: 'Declined: ${{ steps.payment.outputs.failure.decline_cod }}'
outputs:
  amount: ${{ steps.payment.outputs.amount == "2500" }}
`

// TestValidateOutputs: validate checks steps.ID.outputs.FIELD against the
// installed plugin's declared outputs, at the field's line and column with
// a did-you-mean, and type-checks expressions with them.
func TestValidateOutputs(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "payments")
	writeFile(t, filepath.Join(dir, "reply.yaml"), replyRunbook)
	r := homeRun(t, dir, home, nil, "validate", "reply.yaml")
	want := `reply.yaml:10:31: steps[1].if: unknown output "faild" of step "payment"
   10 |     if: steps.payment.outputs.faild
      |                               ^
  hint: did you mean "failed"?
reply.yaml:13:61: steps[1].with.message: unknown field "decline_cod" in steps.payment.outputs.failure
   13 |       message: 'Declined: ${{ steps.payment.outputs.failure.decline_cod }}'
      |                                                             ^
  hint: did you mean "decline_code"?
reply.yaml:15:44: outputs.amount: invalid expression: invalid operation: == (mismatched types integer and string)
   15 |   amount: ${{ steps.payment.outputs.amount == "2500" }}
      |                                            ^
  hint: steps.payment.outputs.amount is an integer (payments.get_payment declares it)
`
	if r.code != exitInvalid || r.stdout != want || r.stderr != "3 problems in 1 file of 1 runbook\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	// A run refuses it as validate does: nothing runs.
	r = homeRun(t, dir, home, nil, "run", "reply.yaml", "--input", "id=pi_sandbox_insufficient_funds")
	if r.code != exitInvalid || !strings.Contains(r.stderr, `unknown output "faild" of step "payment"`) {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Fixed, it validates and runs.
	fixed := strings.NewReplacer("faild", "failed", "decline_cod ", "decline_code ", `"2500"`, "2500").Replace(replyRunbook)
	writeFile(t, filepath.Join(dir, "reply.yaml"), fixed)
	wantCode(t, homeRun(t, dir, home, nil, "validate", "--strict", "reply.yaml"), exitOK, "validate the fixed runbook")
}

// TestRunPluginOutputsChecked: a plugin whose outputs do not fit the
// schema it declares fails the step with a clear error (code
// invalid_output), with the real plugin process.
func TestRunPluginOutputsChecked(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "mistyped")
	writeFile(t, filepath.Join(dir, "typed.yaml"), `version: 1
name: typed
steps:
  - id: value
    action: mistyped.ok
    with: {value: "x"}
  - id: after
    action: core.log
    with: {message: 'got ${{ steps.value.outputs.value }}'}
`)
	wantCode(t, homeRun(t, dir, home, nil, "validate", "--strict", "typed.yaml"), exitOK, "validate")
	r := homeRun(t, dir, home, nil, "run", "typed.yaml", "-o", "json")
	wantCode(t, r, exitFailed, "run")
	var doc struct {
		Status string
		Error  struct{ Code, Message, Step string }
		Steps  []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	wantMsg := "plugin mistyped: mistyped.ok returned outputs that do not fit its declared output schema: outputs.value must be a string, got an integer (steward plugins describe mistyped)"
	if doc.Status != "failed" || doc.Error.Code != "invalid_output" || doc.Error.Step != "value" || doc.Error.Message != wantMsg {
		t.Fatalf("run %s, error %+v", doc.Status, doc.Error)
	}
	if len(doc.Steps) != 2 || doc.Steps[0].Status != "failed" || doc.Steps[1].Status != "skipped" {
		t.Errorf("steps %+v", doc.Steps)
	}
}
