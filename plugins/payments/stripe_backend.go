package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// stripeBackend answers from the Stripe API.
type stripeBackend struct{ c *stripeClient }

func newStripeBackend(s StripeSettings, transport http.RoundTripper, retryBase time.Duration) *stripeBackend {
	return &stripeBackend{c: newStripeClient(s, transport, retryBase)}
}

func (b *stripeBackend) name() string { return backendStripe }

// unexpected is the error of an answer that is JSON but not the object
// asked for.
func unexpected(req stripeRequest, object, id, want string) error {
	return sdk.Retryable("bad_response", "Stripe answered %s with an unexpected object (object %q, id %q), expected %s", req, object, id, want)
}

func (b *stripeBackend) getPayment(ctx context.Context, call *sdk.Call, id string) (Payment, error) {
	if strings.HasPrefix(id, "ch_") {
		req := stripeRequest{method: http.MethodGet, path: "/v1/charges/" + url.PathEscape(id), what: "charge " + id}
		var ch stripeCharge
		if err := b.c.do(ctx, call, req, &ch); err != nil {
			return Payment{}, err
		}
		if ch.Object != "charge" || ch.ID == "" {
			return Payment{}, unexpected(req, ch.Object, ch.ID, "charge")
		}
		return paymentFromCharge(ch), nil
	}
	req := stripeRequest{method: http.MethodGet, path: "/v1/payment_intents/" + url.PathEscape(id),
		params: url.Values{"expand[]": {"latest_charge"}}, what: "payment " + id}
	var pi stripePaymentIntent
	if err := b.c.do(ctx, call, req, &pi); err != nil {
		return Payment{}, err
	}
	if pi.Object != "payment_intent" || pi.ID == "" {
		return Payment{}, unexpected(req, pi.Object, pi.ID, "payment_intent")
	}
	return paymentFromIntent(pi), nil
}

func (b *stripeBackend) listAttempts(ctx context.Context, call *sdk.Call, paymentIntent string) ([]Attempt, error) {
	req := stripeRequest{method: http.MethodGet, path: "/v1/charges",
		params: url.Values{"payment_intent": {paymentIntent}, "limit": {"100"}}, what: "charges of " + paymentIntent}
	var l stripeList
	if err := b.c.do(ctx, call, req, &l); err != nil {
		return nil, err
	}
	if l.Object != "list" {
		return nil, unexpected(req, l.Object, "", "list")
	}
	for _, ch := range l.Data {
		if ch.Object != "charge" || ch.ID == "" {
			return nil, unexpected(req, ch.Object, ch.ID, "charge in the list")
		}
	}
	if l.HasMore {
		call.Warnf("%s has more than 100 charges: these are the latest 100", paymentIntent)
	}
	return attemptsOf(l.Data), nil
}

// listPayments lists a customer's PaymentIntents (with their latest
// charge, for what was refunded) or charges created in [q.from, q.to],
// the latest 100: a customer with more in the window gets a warning.
func (b *stripeBackend) listPayments(ctx context.Context, call *sdk.Call, q paymentQuery) ([]listedPayment, error) {
	params := url.Values{"customer": {q.customer}, "limit": {"100"},
		"created[gte]": {strconv.FormatInt(q.from.Unix(), 10)}, "created[lte]": {strconv.FormatInt(q.to.Unix(), 10)}}
	var out []listedPayment
	if q.charges {
		req := stripeRequest{method: http.MethodGet, path: "/v1/charges", params: params, what: "charges of " + q.customer}
		var l stripeList
		if err := b.c.do(ctx, call, req, &l); err != nil {
			return nil, err
		}
		if l.Object != "list" {
			return nil, unexpected(req, l.Object, "", "list")
		}
		for _, ch := range l.Data {
			if ch.Object != "charge" || ch.ID == "" {
				return nil, unexpected(req, ch.Object, ch.ID, "charge in the list")
			}
			out = append(out, listedPayment{Payment: paymentFromCharge(ch), metadata: ch.Metadata})
		}
		warnMore(call, l.HasMore, q.customer)
		return out, nil
	}
	params.Set("expand[]", "data.latest_charge")
	req := stripeRequest{method: http.MethodGet, path: "/v1/payment_intents", params: params, what: "payments of " + q.customer}
	var l stripeIntentList
	if err := b.c.do(ctx, call, req, &l); err != nil {
		return nil, err
	}
	if l.Object != "list" {
		return nil, unexpected(req, l.Object, "", "list")
	}
	for _, pi := range l.Data {
		if pi.Object != "payment_intent" || pi.ID == "" {
			return nil, unexpected(req, pi.Object, pi.ID, "payment_intent in the list")
		}
		out = append(out, listedPayment{Payment: paymentFromIntent(pi), metadata: pi.Metadata})
	}
	warnMore(call, l.HasMore, q.customer)
	return out, nil
}

func warnMore(call *sdk.Call, more bool, customer string) {
	if more {
		call.Warnf("%s has more than 100 payments in the window: only the latest 100 were compared", customer)
	}
}

func (b *stripeBackend) getAuthorization(ctx context.Context, call *sdk.Call, id string) (Authorization, error) {
	req := stripeRequest{method: http.MethodGet, path: "/v1/issuing/authorizations/" + url.PathEscape(id), what: "authorization " + id}
	var a stripeAuthorization
	if err := b.c.do(ctx, call, req, &a); err != nil {
		return Authorization{}, err
	}
	if a.Object != "issuing.authorization" || a.ID == "" {
		return Authorization{}, unexpected(req, a.Object, a.ID, "issuing.authorization")
	}
	return authorizationOf(a), nil
}

func (b *stripeBackend) refund(ctx context.Context, call *sdk.Call, r refundRequest) (RefundOutput, error) {
	form := url.Values{"reason": {r.reason}}
	if strings.HasPrefix(r.paymentID, "ch_") {
		form.Set("charge", r.paymentID)
	} else {
		form.Set("payment_intent", r.paymentID)
	}
	if r.amount != nil {
		form.Set("amount", strconv.FormatInt(*r.amount, 10))
	}
	req := stripeRequest{method: http.MethodPost, path: "/v1/refunds", params: form,
		idempotencyKey: call.IdempotencyKey, what: "payment " + r.paymentID}
	var re stripeRefund
	if err := b.c.do(ctx, call, req, &re); err != nil {
		return RefundOutput{}, err
	}
	if re.Object != "refund" || re.ID == "" {
		return RefundOutput{}, unexpected(req, re.Object, re.ID, "refund")
	}
	return RefundOutput{RefundID: re.ID, Status: re.Status, Amount: re.Amount, Currency: re.Currency, PaymentID: r.paymentID}, nil
}
