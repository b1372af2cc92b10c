package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// A double charge is never two successful charges of one PaymentIntent:
// Stripe makes at most one. It is two payments (two PaymentIntents, or
// two charges made without one) that took the same amount from the same
// customer for the same order, close together: a checkout that created a
// second PaymentIntent on a double click, a retry that did not reuse the
// first. payments.find_duplicates looks for them.

// DuplicatesInput is the with of payments.find_duplicates.
type DuplicatesInput struct {
	PaymentID   string       `json:"payment_id" pattern:"^(pi|ch)_[A-Za-z0-9_]{6,250}$" desc:"the payment from the ticket: a PaymentIntent (pi_...) or a charge (ch_...)"`
	Window      sdk.Duration `json:"window,omitempty" desc:"how far before and after the payment to look (default 24h, at most 720h)"`
	MetadataKey string       `json:"metadata_key,omitempty" pattern:"^[A-Za-z0-9_.-]{0,40}$" desc:"the metadata key holding the order reference (default order_id); without it, the description is the order"`
}

// DuplicatesOutput is what payments.find_duplicates returns.
type DuplicatesOutput struct {
	PaymentID string `json:"payment_id"`
	Searched  bool   `json:"searched" desc:"false when the payment cannot be matched: it did not succeed, has no customer, or no order reference"`
	Reason    string `json:"reason" desc:"why searched is false, for the specialist; empty when it is true"`
	Customer  string `json:"customer"`
	Amount    int64  `json:"amount" desc:"in minor units"`
	Currency  string `json:"currency"`
	Order     string `json:"order" desc:"the order reference the payments share: the metadata value, else the description"`
	Window    string `json:"window" desc:"the window searched, before and after the payment"`
	// Payments are the successful payments of the same customer, amount,
	// currency and order within the window, oldest first, the payment
	// from the ticket among them.
	Payments  []DuplicatePayment `json:"payments" desc:"the successful payments of the same customer, amount, currency and order in the window, oldest first; the payment from the ticket is one of them"`
	Count     int                `json:"count" desc:"how many times the order was paid: len(payments)"`
	Duplicate bool               `json:"duplicate" desc:"the order was paid more than once"`
	// Keep is the first payment: the one that stands.
	Keep string `json:"keep" desc:"the first payment of the order: the one that stands"`
	// RefundID is the latest payment after the first that still has
	// something refundable: the one to refund. Run the refund, then
	// find_duplicates again for a third payment.
	RefundID     string `json:"refund_id" desc:"the latest payment after the first with something refundable: the one to refund; empty when none"`
	RefundAmount int64  `json:"refund_amount" desc:"what is still refundable on refund_id, in minor units"`
	Backend      string `json:"backend" enum:"sandbox,stripe"`
}

// DuplicatePayment is one payment of a duplicated order.
type DuplicatePayment struct {
	ID               string    `json:"id" desc:"the PaymentIntent (or the charge, for a charge without one)"`
	Created          time.Time `json:"created"`
	Amount           int64     `json:"amount"`
	AmountRefundable int64     `json:"amount_refundable"`
	LatestCharge     string    `json:"latest_charge"`
	Description      string    `json:"description"`
}

// Defaults and limits of find_duplicates.
const (
	defaultDuplicateWindow = 24 * time.Hour
	maxDuplicateWindow     = 30 * 24 * time.Hour
	defaultOrderKey        = "order_id"
)

// paymentQuery asks a backend for a customer's payments in a time range.
type paymentQuery struct {
	customer string
	from, to time.Time
	charges  bool // list charges (made without a PaymentIntent), not PaymentIntents
}

// listedPayment is a payment a backend listed, with its metadata.
type listedPayment struct {
	Payment
	metadata map[string]string
}

// findDuplicates is payments.find_duplicates: read-only.
func (p *payments) findDuplicates(ctx context.Context, call *sdk.Call, in DuplicatesInput) (DuplicatesOutput, error) {
	window := in.Window.Std()
	switch {
	case window == 0:
		window = defaultDuplicateWindow
	case window < 0 || window > maxDuplicateWindow:
		return DuplicatesOutput{}, sdk.Error(sdk.CodeInvalidInput, "with.window must be between 1s and 720h (30 days), got %s", window)
	}
	key := in.MetadataKey
	if key == "" {
		key = defaultOrderKey
	}
	out := DuplicatesOutput{PaymentID: in.PaymentID, Window: window.String(), Payments: []DuplicatePayment{}, Backend: p.backend.name()}
	subject, err := p.backend.getPayment(ctx, call, in.PaymentID)
	if err != nil {
		return DuplicatesOutput{}, err
	}
	out.Customer, out.Amount, out.Currency = subject.Customer, subject.Amount, subject.Currency
	switch {
	case !subject.Succeeded:
		out.Reason = in.PaymentID + " did not succeed (" + subject.Status + "): it cannot have charged twice"
	case subject.Customer == "":
		out.Reason = in.PaymentID + " has no customer: Stripe can only list a customer's payments"
	}
	if out.Reason != "" {
		call.Infof("not searched: %s", out.Reason)
		return out, nil
	}
	// The payment is a PaymentIntent, or a charge: of one (the
	// PaymentIntent is the payment), or made without one.
	q := paymentQuery{customer: subject.Customer, from: subject.Created.Add(-window), to: subject.Created.Add(window), charges: subject.PaymentIntent == ""}
	own := subject.PaymentIntent
	if q.charges {
		own = subject.ID
	}
	call.Infof("listing the payments of %s from %s to %s (%s)", q.customer, q.from.Format(time.RFC3339), q.to.Format(time.RFC3339), p.backend.name())
	listed, err := p.backend.listPayments(ctx, call, q)
	if err != nil {
		return DuplicatesOutput{}, err
	}
	g := groupDuplicates(own, subject, listed, key)
	out.Order, out.Payments = g.order, g.payments
	if g.order == "" {
		out.Reason = in.PaymentID + " has no order reference (metadata " + key + " or a description): two payments of the same amount may be two purchases"
		call.Warnf("not searched: %s", out.Reason)
		return out, nil
	}
	out.Searched = true
	out.Count = len(out.Payments)
	out.Duplicate = out.Count > 1
	if out.Count > 0 {
		out.Keep = out.Payments[0].ID
	}
	for i := len(out.Payments) - 1; i >= 1; i-- {
		if d := out.Payments[i]; d.AmountRefundable > 0 {
			out.RefundID, out.RefundAmount = d.ID, d.AmountRefundable
			break
		}
	}
	if out.Duplicate {
		call.Warnf("order %q was paid %d times by %s (%d %s each): %s stands; refund %s", out.Order, out.Count, out.Customer, out.Amount, out.Currency,
			out.Keep, orWord(out.RefundID, "nothing (already refunded)"))
	} else {
		call.Infof("order %q was paid once", out.Order)
	}
	return out, nil
}

// duplicateGroup is what groupDuplicates found.
type duplicateGroup struct {
	order    string             // the order reference; "" when the payment has none
	payments []DuplicatePayment // oldest first
}

// groupDuplicates keeps, of the payments listed, the successful ones of
// the subject's customer, amount, currency and order: the order is the
// metadata value under key, else the description. own is the id the
// subject has in the list (its PaymentIntent, or itself); its order
// comes from there, where the metadata is, else from its description.
// The subject is in the group even when the list missed it.
func groupDuplicates(own string, subject Payment, listed []listedPayment, key string) duplicateGroup {
	orderOf := func(l listedPayment) string {
		if v := strings.TrimSpace(l.metadata[key]); v != "" {
			return v
		}
		return strings.TrimSpace(l.Description)
	}
	order := strings.TrimSpace(subject.Description)
	i := slices.IndexFunc(listed, func(l listedPayment) bool { return l.ID == own })
	if i >= 0 {
		order = orderOf(listed[i])
	} else {
		listed = append(slices.Clone(listed), listedPayment{Payment: subject})
		listed[len(listed)-1].ID = own
	}
	if order == "" {
		return duplicateGroup{}
	}
	var g []DuplicatePayment
	for _, l := range listed {
		if !l.Succeeded || l.Customer != subject.Customer || l.Amount != subject.Amount || l.Currency != subject.Currency || orderOf(l) != order {
			continue
		}
		g = append(g, DuplicatePayment{ID: l.ID, Created: l.Created, Amount: l.Amount, AmountRefundable: l.AmountRefundable,
			LatestCharge: l.LatestCharge, Description: l.Description})
	}
	slices.SortStableFunc(g, func(a, b DuplicatePayment) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return duplicateGroup{order: order, payments: g}
}
