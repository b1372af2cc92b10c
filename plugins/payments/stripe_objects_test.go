package main

import (
	"encoding/json"
	"testing"
)

// TestUncapturedChargeIsNotSucceeded: a charge Stripe calls succeeded but
// did not capture is only an authorization: no money was taken, so the
// payment has not succeeded and nothing is refundable.
func TestUncapturedChargeIsNotSucceeded(t *testing.T) {
	ch := stripeCharge{ID: "ch_1", Status: "succeeded", Amount: 1000, Currency: "eur"}
	if p := paymentFromCharge(ch); p.Succeeded || p.Failed || p.AmountRefundable != 0 || p.Status != "succeeded" {
		t.Errorf("uncaptured: %+v", p)
	}
	ch.Captured, ch.AmountCaptured = true, 1000
	if p := paymentFromCharge(ch); !p.Succeeded || p.AmountReceived != 1000 || p.AmountRefundable != 1000 {
		t.Errorf("captured: %+v", p)
	}
}

// TestAdviceCodesAreRead decodes a declined PaymentIntent with its latest
// charge expanded, in the shape Stripe's API reference documents
// (charge.outcome.advice_code and network_advice_code, and the same in
// last_payment_error; stripe-mock's fixtures carry neither): the error's
// codes win, the charge's fill in.
func TestAdviceCodesAreRead(t *testing.T) {
	const body = `{"id": "pi_1", "object": "payment_intent", "status": "requires_payment_method", "amount": 1000, "currency": "eur",
	  "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
	    "network_decline_code": "51", "advice_code": "try_again_later"},
	  "latest_charge": {"id": "ch_1", "object": "charge", "status": "failed", "amount": 1000, "currency": "eur",
	    "failure_code": "card_declined", "outcome": {"type": "issuer_declined", "reason": "insufficient_funds",
	    "network_decline_code": "51", "advice_code": "do_not_try_again", "network_advice_code": "25"},
	    "payment_method_details": {"type": "card", "card": {"brand": "mastercard", "last4": "4444"}}}}`
	var pi stripePaymentIntent
	if err := json.Unmarshal([]byte(body), &pi); err != nil {
		t.Fatal(err)
	}
	p := paymentFromIntent(pi)
	if f := p.Failure; f.AdviceCode != "try_again_later" || f.NetworkAdviceCode != "25" || f.NetworkDeclineCode != "51" || p.Card.Brand != "mastercard" {
		t.Errorf("failure %+v card %+v", f, p.Card)
	}
	attempt := attemptFromCharge(*pi.LatestCharge.Charge)
	if attempt.AdviceCode != "do_not_try_again" || attempt.NetworkAdviceCode != "25" {
		t.Errorf("attempt %+v", attempt)
	}
	var a stripeAuthorization
	if err := json.Unmarshal([]byte(`{"id": "iauth_1", "object": "issuing.authorization", "card": {"id": "ic_1", "brand": "Visa", "last4": "4242", "status": "active"}}`), &a); err != nil {
		t.Fatal(err)
	}
	if out := authorizationOf(a); out.Card.Brand != "visa" {
		t.Errorf("issuing card %+v", out.Card)
	}
}
