// Package schematest generates realistic runbooks for tests and benchmarks.
package schematest

import (
	"fmt"
	"strings"
)

// Runbook returns a valid runbook named name with n steps (n >= 2) that
// uses what real runbooks use: typed inputs, vars, templates, conditions,
// needs, for_each, retry with a condition, step outputs and run outputs.
func Runbook(name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
name: %s
title: Generated runbook with %d steps
inputs:
  payment_id: {type: string, required: true, pattern: '^pay_[A-Za-z0-9]{6,}$'}
  amount: {type: number, default: 10, min: 0}
  channel: {type: string, enum: [email, chat], default: email}
vars:
  limit: '${{ inputs.channel == "chat" ? 50 : 100 }}'
  label: 'payment ${{ inputs.payment_id }}'
steps:
  - id: s0
    action: payments.get_payment
    with: {payment_id: '${{ inputs.payment_id }}'}
    retry: {attempts: 3, delay: 1s, backoff: 2, when: '${{ error.retryable && error.code != "not_found" }}'}
    outputs:
      status: ${{ result.status }}
      amount: ${{ result.amount ?? 0 }}
`, name, n)
	for i := 1; i < n; i++ {
		prev := i - 1
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `  - id: s%d
    action: core.log
    if: steps.s%d.status == "succeeded" && inputs.amount <= vars.limit
    with:
      message: "step %d of ${{ vars.label }}: ${{ steps.s0.outputs.status }}"
`, i, prev, i)
		case 1:
			fmt.Fprintf(&b, `  - id: s%d
    action: core.set
    needs: [s%d]
    with:
      total: ${{ inputs.amount * 2 + len(steps.s%d.outputs ?? []) }}
      ok: ${{ steps.s0.outputs.status in ["captured", "authorized"] }}
      contacts: []
`, i, prev, prev)
		case 2:
			fmt.Fprintf(&b, `  - id: s%d
    action: notify.email
    for_each: ${{ steps.s%d.outputs?.contacts ?? [] }}
    max_parallel: 4
    continue_on_error: true
    with:
      to: ${{ item.email }}
      subject: 'Update ${{ index + 1 }} on ${{ inputs.payment_id }}'
`, i, prev)
		default:
			fmt.Fprintf(&b, `  - id: s%d
    action: payments.refund
    if: ${{ steps.s0.outputs.amount > 0 && run.dry_run == false }}
    timeout: 30s
    with:
      payment_id: ${{ inputs.payment_id }}
      reason: ${{ upper(inputs.channel) + "-" + string(steps.s%d.status) }}
    undo:
      action: payments.cancel_refund
      with: {refund_id: '${{ steps.s%d.outputs.id }}'}
`, i, prev, i)
		}
	}
	b.WriteString(`outputs:
  status: ${{ steps.s0.outputs.status }}
on_failure:
  - id: escalate
    action: notify.escalate
    with:
      summary: "failed: ${{ error.message }}"
`)
	return b.String()
}
