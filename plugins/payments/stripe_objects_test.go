package main

import "testing"

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
