package main

import (
	"fmt"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"testing"
)

// str reads a nested string output: out["failure"]["code"].
func str(out map[string]any, path ...string) string {
	var v any = out
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// explainWith is the with a runbook passes to explain_decline after
// get_payment: the codes it found.
func explainWith(decline, failure, issuing, iso string) map[string]any {
	with := map[string]any{}
	for k, v := range map[string]string{"decline_code": decline, "failure_code": failure, "issuing_reason": issuing, "iso_code": iso} {
		if v != "" {
			with[k] = v
		}
	}
	return with
}

// TestSandboxPayments runs every payment fixture through get_payment (as
// a PaymentIntent and as its latest charge), list_payment_attempts, and
// explain_decline with the codes found, as the card-payment-failure
// runbook does.
func TestSandboxPayments(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		suffix                         string
		status, chargeStatus           string
		succeeded, failed              bool
		amount, refundable             int64
		last4                          string
		code, decline, network         string
		nextAction                     string
		attempts, failedN, succeededN  int
		category                       string // "" when nothing to explain
		fix, escalate                  bool
		outcomeType, riskLevel, source string
	}{
		{suffix: "succeeded", status: "succeeded", chargeStatus: "succeeded", succeeded: true, amount: 2500, refundable: 2500, last4: "4242",
			attempts: 1, succeededN: 1, outcomeType: "authorized", riskLevel: "normal"},
		{suffix: "insufficient_funds", status: "requires_payment_method", chargeStatus: "failed", failed: true, amount: 4900, last4: "9995",
			code: "card_declined", decline: "insufficient_funds", network: "51", attempts: 2, failedN: 2,
			category: "funds", fix: true, outcomeType: "issuer_declined", riskLevel: "normal", source: "stripe"},
		{suffix: "expired_card", status: "requires_payment_method", chargeStatus: "failed", failed: true, amount: 1500, last4: "0069",
			code: "expired_card", decline: "expired_card", network: "54", attempts: 1, failedN: 1,
			category: "card_status", fix: true, outcomeType: "issuer_declined", riskLevel: "normal", source: "stripe"},
		{suffix: "incorrect_cvc", status: "requires_payment_method", chargeStatus: "failed", failed: true, amount: 3000, last4: "0127",
			code: "incorrect_cvc", decline: "incorrect_cvc", network: "N7", attempts: 1, failedN: 1,
			category: "card_details", fix: true, outcomeType: "issuer_declined", riskLevel: "normal", source: "stripe"},
		{suffix: "authentication_required", status: "requires_action", chargeStatus: "failed", amount: 12000, last4: "3184",
			code: "authentication_required", decline: "authentication_required", network: "1A", nextAction: "use_stripe_sdk", attempts: 1, failedN: 1,
			category: "authentication", fix: true, outcomeType: "issuer_declined", riskLevel: "normal", source: "stripe"},
		{suffix: "fraudulent", status: "requires_payment_method", chargeStatus: "failed", failed: true, amount: 75000, last4: "0019",
			code: "card_declined", decline: "fraudulent", attempts: 1, failedN: 1,
			category: "risk", outcomeType: "blocked", riskLevel: "highest", source: "stripe"},
		{suffix: "processing_error", status: "requires_payment_method", chargeStatus: "failed", failed: true, amount: 2000, last4: "0119",
			code: "processing_error", decline: "processing_error", network: "96", attempts: 1, failedN: 1,
			category: "provider", outcomeType: "issuer_declined", riskLevel: "normal", source: "stripe"},
		// A double charge is two PaymentIntents, each charged once.
		{suffix: "duplicate", status: "succeeded", chargeStatus: "succeeded", succeeded: true, amount: 2500, refundable: 2500, last4: "4242",
			attempts: 1, succeededN: 1, outcomeType: "authorized", riskLevel: "normal"},
		{suffix: "duplicate_first", status: "succeeded", chargeStatus: "succeeded", succeeded: true, amount: 2500, refundable: 2500, last4: "4242",
			attempts: 1, succeededN: 1, outcomeType: "authorized", riskLevel: "normal"},
	} {
		for _, id := range []string{"pi_sandbox_" + c.suffix, "ch_sandbox_" + c.suffix} {
			t.Run(id, func(t *testing.T) {
				out, logs, err := p.Execute("get_payment", map[string]any{"payment_id": id})
				if err != nil {
					t.Fatal(err)
				}
				isPI := id[:3] == "pi_"
				status, object, failed := c.status, "payment_intent", c.failed
				if !isPI {
					status, object, failed = c.chargeStatus, "charge", c.chargeStatus == "failed"
				}
				received := c.refundable
				if !isPI && c.chargeStatus != "succeeded" {
					received = 0
				}
				got := fmt.Sprintf("%s %s succeeded=%v failed=%v amount=%v received=%v refunded=%v refundable=%v %s last4=%s pi=%s latest=%s backend=%s",
					out["id"], out["object"], out["succeeded"], out["failed"], out["amount"], out["amount_received"], out["amount_refunded"], out["amount_refundable"],
					out["currency"], str(out, "card", "last4"), out["payment_intent"], out["latest_charge"], out["backend"])
				want := fmt.Sprintf("%s %s succeeded=%v failed=%v amount=%d received=%d refunded=0 refundable=%d eur last4=%s pi=pi_sandbox_%s latest=ch_sandbox_%s backend=sandbox",
					id, object, c.succeeded, failed, c.amount, received, c.refundable, c.last4, c.suffix, c.suffix)
				if got != want {
					t.Errorf("payment\n got %s\nwant %s", got, want)
				}
				if out["status"] != status || str(out, "card", "brand") != "visa" || out["livemode"] != false || str(out, "created")[:8] != "2026-11-" {
					t.Errorf("status %v, card %v, livemode %v, created %v", out["status"], out["card"], out["livemode"], out["created"])
				}
				// A charge knows its own decline only through its outcome:
				// the same codes come out.
				if str(out, "failure", "code") != c.code || str(out, "failure", "decline_code") != c.decline ||
					str(out, "failure", "network_decline_code") != c.network || str(out, "failure", "outcome_type") != c.outcomeType ||
					str(out, "failure", "risk_level") != c.riskLevel {
					t.Errorf("failure %v", out["failure"])
				}
				if isPI && str(out, "next_action") != c.nextAction {
					t.Errorf("next_action %q", out["next_action"])
				}
				if len(logs) != 2 || logs[0].Message != "looking up "+id+" (sandbox)" {
					t.Errorf("logs %v", logs)
				}

				with := explainWith(str(out, "failure", "decline_code"), str(out, "failure", "code"), "", str(out, "failure", "network_decline_code"))
				ex, _, err := p.Execute("explain_decline", with)
				if c.category == "" {
					sdktest.WantError(t, err, "invalid_input", false, "with: give at least one of decline_code, issuing_reason, iso_code, failure_code")
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if ex["known"] != true || ex["source"] != c.source || ex["code"] != c.decline || ex["category"] != c.category ||
					ex["user_can_fix"] != c.fix || ex["escalate"] != c.escalate || ex["backend"] != "sandbox" {
					t.Errorf("explain %v: %v", with, ex)
				}
			})
		}
		t.Run("attempts of pi_sandbox_"+c.suffix, func(t *testing.T) {
			out, _, err := p.Execute("list_payment_attempts", map[string]any{"payment_id": "pi_sandbox_" + c.suffix})
			if err != nil {
				t.Fatal(err)
			}
			if out["count"] != float64(c.attempts) || out["failed_count"] != float64(c.failedN) || out["succeeded_count"] != float64(c.succeededN) {
				t.Errorf("counts %v %v %v", out["count"], out["failed_count"], out["succeeded_count"])
			}
			attempts, _ := out["attempts"].([]any)
			last, _ := attempts[len(attempts)-1].(map[string]any)
			if last["charge_id"] != "ch_sandbox_"+c.suffix || last["decline_code"] != c.decline || last["card_last4"] != c.last4 {
				t.Errorf("latest attempt %v", last)
			}
			for i := 1; i < len(attempts); i++ {
				if str(attempts[i-1].(map[string]any), "created") > str(attempts[i].(map[string]any), "created") {
					t.Errorf("attempts not oldest first: %v", attempts)
				}
			}
		})
	}
}

// TestSandboxAuthorizations runs every Issuing fixture through
// get_authorization and explain_decline.
func TestSandboxAuthorizations(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		suffix, reason, iso, category, owner string
		approved, fix, escalate              bool
		cardStatus                           string
	}{
		{suffix: "approved", iso: "00", approved: true, category: "approved", owner: "support", cardStatus: "active"},
		{suffix: "spending_controls", reason: "spending_controls", iso: "61", category: "limits", owner: "customer", fix: true, cardStatus: "active"},
		{suffix: "insufficient_funds", reason: "insufficient_funds", iso: "51", category: "funds", owner: "customer", fix: true, cardStatus: "active"},
		{suffix: "card_inactive", reason: "card_inactive", iso: "78", category: "card_status", owner: "customer", fix: true, cardStatus: "inactive"},
		{suffix: "suspected_fraud", reason: "suspected_fraud", iso: "59", category: "risk", owner: "risk", cardStatus: "active"},
		{suffix: "webhook_timeout", reason: "webhook_timeout", iso: "91", category: "platform", owner: "engineering", escalate: true, cardStatus: "active"},
	} {
		id := "iauth_sandbox_" + c.suffix
		t.Run(id, func(t *testing.T) {
			out, logs, err := p.Execute("get_authorization", map[string]any{"authorization_id": id})
			if err != nil {
				t.Fatal(err)
			}
			if out["id"] != id || out["status"] != "closed" || out["approved"] != c.approved || out["decline_reason"] != c.reason ||
				out["iso_code"] != c.iso || out["currency"] != "eur" || str(out, "card", "status") != c.cardStatus ||
				out["cardholder"] != "ich_sandbox_0001" || out["backend"] != "sandbox" || str(out, "merchant", "name") == "" {
				t.Errorf("authorization %v", out)
			}
			history := out["request_history"].([]any)
			if len(history) != 1 || history[0].(map[string]any)["approved"] != c.approved {
				t.Errorf("history %v", history)
			}
			wantLevel := "warn"
			if c.approved {
				wantLevel = "info"
			}
			if len(logs) != 2 || logs[1].Level != wantLevel {
				t.Errorf("logs %v", logs)
			}
			ex, _, err := p.Execute("explain_decline", explainWith("", "", c.reason, c.iso))
			if err != nil {
				t.Fatal(err)
			}
			code, source := c.reason, "issuing"
			if c.reason == "" {
				code, source = c.iso, "iso8583"
			}
			if ex["code"] != code || ex["source"] != source || ex["category"] != c.category || ex["owner"] != c.owner ||
				ex["user_can_fix"] != c.fix || ex["escalate"] != c.escalate {
				t.Errorf("explain: %v", ex)
			}
		})
	}
}

func TestSandboxTimeoutAndUnknownIDs(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct{ action, id string }{
		{"get_payment", "pi_sandbox_timeout"}, {"get_payment", "ch_sandbox_timeout"},
		{"list_payment_attempts", "pi_sandbox_timeout"}, {"refund", "pi_sandbox_timeout"},
	} {
		_, _, err := p.Execute(c.action, map[string]any{"payment_id": c.id})
		sdktest.WantError(t, err, "timeout", true, "the provider did not answer in 10s (sandbox: every call on "+c.id+" times out)")
	}
	const known = "succeeded, insufficient_funds, expired_card, incorrect_cvc, authentication_required, fraudulent, processing_error, timeout, duplicate, duplicate_first"
	for _, id := range []string{"pi_sandbox_nothing", "ch_1NqXb2LkdIwHu7ix", "pi_3MtwBwLkdIwHu7ix28a3tqPa"} {
		_, _, err := p.Execute("get_payment", map[string]any{"payment_id": id})
		sdktest.WantError(t, err, "not_found", false, "no payment "+id+" in the sandbox: it knows pi_sandbox_ and ch_sandbox_ followed by "+known+" (see docs/plugins-payments.md)")
	}
	_, _, err := p.Execute("list_payment_attempts", map[string]any{"payment_id": "pi_sandbox_nothing"})
	sdktest.WantErrorContaining(t, err, "not_found", false, "no payment pi_sandbox_nothing in the sandbox")
	_, _, err = p.Execute("get_authorization", map[string]any{"authorization_id": "iauth_1MzFN1K8F4fqH0lB"})
	sdktest.WantError(t, err, "not_found", false, "no authorization iauth_1MzFN1K8F4fqH0lB in the sandbox: it knows iauth_sandbox_approved, "+
		"iauth_sandbox_spending_controls, iauth_sandbox_insufficient_funds, iauth_sandbox_card_inactive, iauth_sandbox_suspected_fraud, "+
		"iauth_sandbox_webhook_timeout (see docs/plugins-payments.md)")
}
