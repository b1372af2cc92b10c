package schema

import (
	"testing"
)

// paymentsCatalog declares payments.get, with closed outputs, and
// payments.raw, whose outputs are any object.
func paymentsCatalog() catalog {
	str := &DataSchema{Type: Types{"string"}}
	return catalog{
		actions: map[string]*DataSchema{"payments.get": nil, "payments.raw": nil, "core.log": nil, "core.set": nil},
		outputs: map[string]*DataSchema{
			"payments.get": {Type: Types{"object"}, Properties: map[string]*DataSchema{
				"status": str,
				"failed": {Type: Types{"boolean"}},
				"amount": {Type: Types{"integer"}},
				"card":   {Type: Types{"object"}, Properties: map[string]*DataSchema{"brand": str, "last4": str}},
				"items":  {Type: Types{"array"}, Items: &DataSchema{Type: Types{"object"}, Properties: map[string]*DataSchema{"sku": str}}},
			}},
			"payments.raw": {Type: Types{"object"}},
			"core.log":     {Type: Types{"object"}, Properties: map[string]*DataSchema{"message": str}},
		},
	}
}

// TestOutputsAreChecked: every steps.ID.outputs.FIELD, in any field and
// through let, for_each lists, nested objects and result, is checked
// against what the action declares (or the step's outputs:, or core.set's
// with), with a did-you-mean at the field's line and column; operations
// on a field of the wrong type are errors too.
func TestOutputsAreChecked(t *testing.T) {
	src := `version: 1
name: outputs
steps:
  - id: payment
    action: payments.get
  - id: reply
    if: steps.payment.outputs.faild
    action: core.log
    with:
      message: 'amount ${{ steps.payment.outputs.amout }}, ${{ let p = steps.payment.outputs; p.statsu }}'
      brand: ${{ steps.payment.outputs.card.brnd }}
  - id: each
    for_each: ${{ steps.payment.outputs.items }}
    action: payments.get
    with: {sku: '${{ item.sku }}'}
    outputs:
      failed: ${{ result.faild }}
  - id: summary
    action: core.set
    with:
      total: 3
      sent: ${{ steps.each.outputs.failed }}
      first: ${{ steps.each.outputs[0].faild }}
  - id: raw
    action: payments.raw
  - id: compare
    if: steps.payment.outputs.amount == "100"
    action: core.log
    with:
      message: ${{ steps.raw.outputs.anything }} ${{ steps.payment.outputs.status }} ${{ steps.summary.outputs.totl }}
  - id: cond
    if: steps.payment.outputs.status
    action: core.log
    with: {message: x}
outputs:
  failed: ${{ steps.payment.outputs.failed }}
  missing: ${{ steps.reply.outputs.mesage }}
on_failure:
  - id: escalate
    action: core.log
    with:
      message: ${{ steps.payment.outputs.stauts ?? "" }}
`
	_, diags := Check("o.yaml", []byte(src), paymentsCatalog())
	want := `o.yaml:7:31: steps[1].if: unknown output "faild" of step "payment"
    7 |     if: steps.payment.outputs.faild
      |                               ^
  hint: did you mean "failed"?
o.yaml:10:50: steps[1].with.message: unknown output "amout" of step "payment"
   10 |       message: 'amount ${{ steps.payment.outputs.amout }}, ${{ let p = steps.payment.outputs; p.statsu }}'
      |                                                  ^
  hint: did you mean "amount"?
o.yaml:10:97: steps[1].with.message: unknown output "statsu" of step "payment"
   10 |       message: 'amount ${{ steps.payment.outputs.amout }}, ${{ let p = steps.payment.outputs; p.statsu }}'
      |                                                                                                 ^
  hint: did you mean "status"?
o.yaml:11:45: steps[1].with.brand: unknown field "brnd" in steps.payment.outputs.card
   11 |       brand: ${{ steps.payment.outputs.card.brnd }}
      |                                             ^
  hint: did you mean "brand"?
o.yaml:17:26: steps[2].outputs.failed: unknown field "faild" in result
   17 |       failed: ${{ result.faild }}
      |                          ^
  hint: did you mean "failed"?
o.yaml:22:36: steps[3].with.sent: steps.each.outputs is a list, one entry per for_each item: it has no field "failed"
   22 |       sent: ${{ steps.each.outputs.failed }}
      |                                    ^
  hint: read one item, steps.each.outputs[0].failed, or all: map(steps.each.outputs, .failed)
o.yaml:23:40: steps[3].with.first: unknown output "faild" of step "each"
   23 |       first: ${{ steps.each.outputs[0].faild }}
      |                                        ^
  hint: did you mean "failed"?
o.yaml:27:38: steps[5].if: invalid expression: invalid operation: == (mismatched types integer and string)
   27 |     if: steps.payment.outputs.amount == "100"
      |                                      ^
  hint: steps.payment.outputs.amount is an integer (payments.get declares it)
o.yaml:30:112: steps[5].with.message: unknown output "totl" of step "summary"
   30 |       message: ${{ steps.raw.outputs.anything }} ${{ steps.payment.outputs.status }} ${{ steps.summary.outputs.totl }}
      |                                                                                                                ^
  hint: did you mean "total"?
o.yaml:32:9: steps[6].if: if must be a boolean expression, got a string
   32 |     if: steps.payment.outputs.status
      |         ^
  hint: compare it with something, e.g. x == "value"
o.yaml:37:36: outputs.missing: unknown output "mesage" of step "reply"
   37 |   missing: ${{ steps.reply.outputs.mesage }}
      |                                    ^
  hint: did you mean "message"?
o.yaml:42:42: on_failure[0].with.message: unknown output "stauts" of step "payment"
   42 |       message: ${{ steps.payment.outputs.stauts ?? "" }}
      |                                          ^
  hint: did you mean "status"?
`
	if got := diags.Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestWithTypedFromOutputs: a with field given by one ${{ }} whose type
// is known (a declared output, a typed input) must fit the field.
func TestWithTypedFromOutputs(t *testing.T) {
	cat := paymentsCatalog()
	cat.actions["payments.refund"] = &DataSchema{Type: Types{"object"}, Properties: map[string]*DataSchema{
		"amount": {Type: Types{"integer"}}, "reason": {Type: Types{"string"}}, "ratio": {Type: Types{"number"}}}}
	src := `version: 1
name: typed-with
inputs:
  id: {type: string, required: true}
steps:
  - id: payment
    action: payments.get
  - id: refund
    action: payments.refund
    with:
      amount: ${{ steps.payment.outputs.status }}
      reason: ${{ steps.payment.outputs.amount }}
      ratio: ${{ steps.payment.outputs.amount }}
  - id: again
    action: payments.refund
    with:
      amount: ${{ inputs.id }}
      reason: ${{ steps.payment.outputs.card.brand }}
`
	_, diags := Check("w.yaml", []byte(src), cat)
	want := `w.yaml:11:19: steps[1].with.amount: amount must be an integer, got a string: ${{ steps.payment.outputs.status }}
   11 |       amount: ${{ steps.payment.outputs.status }}
      |                   ^
w.yaml:12:19: steps[1].with.reason: reason must be a string, got an integer: ${{ steps.payment.outputs.amount }}
   12 |       reason: ${{ steps.payment.outputs.amount }}
      |                   ^
w.yaml:17:19: steps[2].with.amount: amount must be an integer, got a string: ${{ inputs.id }}
   17 |       amount: ${{ inputs.id }}
      |                   ^
`
	if got := diags.Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestFieldOfAValueWithoutFields: a field read from a literal or nil (found
// by FuzzCheck: `(1).x` panicked while phrasing the error) is a diagnostic
// at the expression, never a crash.
func TestFieldOfAValueWithoutFields(t *testing.T) {
	for _, e := range []string{"(1).x", "true.x", "nil.x", "'s'.x", "[1].x"} {
		src := "version: 1\nname: x-y\nsteps:\n  - id: a\n    action: core.log\n    with: {message: '${{ " + e + " }}'}\n"
		_, diags := Check("f.yaml", []byte(src), nil)
		if len(diags) == 0 {
			t.Errorf("%s: no diagnostic", e)
			continue
		}
		if d := diags[0]; d.Line != 6 {
			t.Errorf("%s: diagnostic at line %d, want 6: %s", e, d.Line, d.Header())
		}
	}
}
