package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

func sandboxRefundID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "re_sandbox_" + hex.EncodeToString(sum[:])[:16]
}

func TestSandboxRefundIsIdempotent(t *testing.T) {
	p := start(t, nil)
	with := map[string]any{"payment_id": "pi_sandbox_succeeded"}
	out, logs, err := p.Execute("refund", with, sdktest.IdempotencyKey("run-1/refund"))
	want := fmt.Sprintf("map[amount:2500 backend:sandbox currency:eur payment_id:pi_sandbox_succeeded refund_id:%s status:succeeded]", sandboxRefundID("run-1/refund"))
	if err != nil || fmt.Sprint(out) != want {
		t.Fatalf("refund: %v %v", out, err)
	}
	if len(logs) != 2 || logs[0].Message != "refunding everything refundable of pi_sandbox_succeeded (requested_by_customer, sandbox)" {
		t.Errorf("logs %v", logs)
	}
	// A retry of the same step: the same refund, nothing more refunded.
	again, logs, err := p.Execute("refund", with, sdktest.IdempotencyKey("run-1/refund"), sdktest.Attempt(2))
	if err != nil || fmt.Sprint(again) != want || logs[1].Message != "refund "+sandboxRefundID("run-1/refund")+" was made by an earlier attempt of this step" {
		t.Fatalf("retry: %v %v %v", again, logs, err)
	}
	pay, _, err := p.Execute("get_payment", with)
	if err != nil || pay["amount_refunded"] != 2500.0 || pay["amount_refundable"] != 0.0 {
		t.Errorf("after the refund: %v %v", pay, err)
	}
	ch, _, err := p.Execute("get_payment", map[string]any{"payment_id": "ch_sandbox_succeeded"})
	if err != nil || ch["amount_refunded"] != 2500.0 || ch["amount_refundable"] != 0.0 {
		t.Errorf("its charge after the refund: %v %v", ch, err)
	}
	// Another step: nothing is left.
	_, _, err = p.Execute("refund", with, sdktest.IdempotencyKey("run-2/refund"))
	sdktest.WantError(t, err, "nothing_to_refund", false, "nothing to refund on pi_sandbox_succeeded: charge ch_sandbox_succeeded is already fully refunded")
	// The same key for another refund is refused, as Stripe does.
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_duplicate"}, sdktest.IdempotencyKey("run-1/refund"))
	sdktest.WantError(t, err, "invalid_request", false, "the idempotency key run-1/refund was used for another refund ("+sandboxRefundID("run-1/refund")+
		" of pi_sandbox_succeeded): Stripe refuses a key reused with other parameters")
}

func TestSandboxPartialRefunds(t *testing.T) {
	p := start(t, nil)
	out, _, err := p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_duplicate", "amount": 1000, "reason": "duplicate"}, sdktest.IdempotencyKey("a"))
	if err != nil || out["amount"] != 1000.0 || out["refund_id"] != sandboxRefundID("a") {
		t.Fatalf("%v %v", out, err)
	}
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_duplicate", "amount": 2000}, sdktest.IdempotencyKey("b"))
	sdktest.WantError(t, err, "invalid_request", false, "cannot refund 2000 eur on pi_sandbox_duplicate: only 1500 is still refundable")
	// Null means not given: the rest.
	out, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_duplicate", "amount": nil, "reason": nil}, sdktest.IdempotencyKey("c"))
	if err != nil || out["amount"] != 1500.0 {
		t.Fatalf("%v %v", out, err)
	}
	// The first payment of the double charge is untouched.
	first, _, err := p.Execute("get_payment", map[string]any{"payment_id": "ch_sandbox_duplicate_first"})
	if err != nil || first["amount_refundable"] != 2500.0 {
		t.Errorf("%v %v", first, err)
	}
}

func TestSandboxRefundRefusals(t *testing.T) {
	p := start(t, nil)
	_, _, err := p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_insufficient_funds"}, sdktest.IdempotencyKey("k"))
	sdktest.WantError(t, err, "nothing_to_refund", false, "nothing to refund on pi_sandbox_insufficient_funds: the payment did not go through (charge ch_sandbox_insufficient_funds failed)")
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "ch_sandbox_fraudulent"}, sdktest.IdempotencyKey("k2"))
	sdktest.WantError(t, err, "nothing_to_refund", false, "nothing to refund on ch_sandbox_fraudulent: the payment did not go through (charge ch_sandbox_fraudulent failed)")
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_succeeded"}, sdktest.IdempotencyKey(""))
	sdktest.WantError(t, err, "invalid_input", false, "no idempotency key: refusing to refund pi_sandbox_succeeded, a retry could refund it twice")
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_sandbox_succeeded"}, sdktest.DryRun())
	sdktest.WantError(t, err, "dry_run", false, "payments.refund mutates: it does not run in a dry-run")
	// Nothing was refunded by the refusals.
	out, _, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_sandbox_succeeded"})
	if err != nil || out["amount_refundable"] != 2500.0 {
		t.Errorf("%v %v", out, err)
	}
}
