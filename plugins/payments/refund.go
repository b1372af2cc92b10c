package main

import (
	"context"
	"strconv"

	"github.com/stewardhq/steward/plugins/sdk"
)

// RefundInput is the with of payments.refund.
type RefundInput struct {
	PaymentID string `json:"payment_id" pattern:"^(pi|ch)_[A-Za-z0-9_]{6,250}$" desc:"the PaymentIntent (pi_...) or charge (ch_...) to refund"`
	Amount    *int64 `json:"amount,omitempty" min:"1" desc:"how much to refund, in minor units; everything refundable when not given"`
	Reason    string `json:"reason,omitempty" enum:"duplicate,fraudulent,requested_by_customer" desc:"why (default requested_by_customer); fraudulent also blocks the card in Radar"`
}

// RefundOutput is what payments.refund returns.
type RefundOutput struct {
	RefundID  string `json:"refund_id"`
	Status    string `json:"status" desc:"Stripe's refund status: succeeded, pending, requires_action, failed or canceled"`
	Amount    int64  `json:"amount" desc:"refunded, in minor units"`
	Currency  string `json:"currency"`
	PaymentID string `json:"payment_id"`
	Backend   string `json:"backend" enum:"sandbox,stripe"`
}

// refundRequest is a refund as the backends see it.
type refundRequest struct {
	paymentID string
	amount    *int64 // nil: everything refundable
	reason    string
}

// refund is payments.refund. It mutates, and is idempotent: the step's
// idempotency key goes to Stripe as the Idempotency-Key header (the
// sandbox remembers it), so that a retry returns the first attempt's
// refund instead of refunding twice. Without a key it refuses.
func (p *payments) refund(ctx context.Context, call *sdk.Call, in RefundInput) (RefundOutput, error) {
	if call.IdempotencyKey == "" {
		return RefundOutput{}, sdk.Error(sdk.CodeInvalidInput, "no idempotency key: refusing to refund %s, a retry could refund it twice", in.PaymentID)
	}
	if in.Reason == "" {
		in.Reason = "requested_by_customer"
	}
	how := "everything refundable"
	if in.Amount != nil {
		how = strconv.FormatInt(*in.Amount, 10) + " (minor units)"
	}
	call.Infof("refunding %s of %s (%s, %s)", how, in.PaymentID, in.Reason, p.backend.name())
	out, err := p.backend.refund(ctx, call, refundRequest{paymentID: in.PaymentID, amount: in.Amount, reason: in.Reason})
	if err != nil {
		return RefundOutput{}, err
	}
	out.Backend = p.backend.name()
	call.Infof("refund %s %s: %d %s of %s", out.RefundID, out.Status, out.Amount, out.Currency, out.PaymentID)
	return out, nil
}
