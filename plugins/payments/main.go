// Command steward-plugin-payments lets a support specialist see why a card
// payment failed, and refund it, without a Dashboard login:
//
//   - payments.get_payment looks up a PaymentIntent (pi_) or a charge (ch_):
//     its status, amounts, card, and why it failed;
//   - payments.list_payment_attempts lists the charges a PaymentIntent made;
//   - payments.find_duplicates finds a double charge: other successful
//     payments of the same customer, amount and order within a window;
//   - payments.get_authorization looks up a Stripe Issuing authorization
//     (iauth_) of one of our own cards, and why it was declined;
//   - payments.explain_decline turns a decline code, an Issuing reason, an
//     ISO 8583 response code or a failure code into a category, an owner, a
//     next step for the specialist and a message for the customer (English
//     or Simplified Chinese);
//   - payments.refund refunds a payment, idempotently.
//
// Two backends: sandbox (the default: deterministic fixtures modelled on
// Stripe's test cards, no network) and stripe (the Stripe API over
// net/http, no SDK). Every output carries backend, so that nobody mistakes
// simulated data for real data. docs/plugins-payments.md documents the
// settings, the actions, the fixtures and the error codes.
//
// Build it with `go build -o bin/steward-plugin-payments ./plugins/payments`.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newPayments().plugin() }

// payments is the plugin: its settings and the backend they chose.
type payments struct {
	settings Settings
	backend  backend

	// Tests set these before the plugin is configured.
	transport http.RoundTripper // the stripe backend's; http.DefaultTransport's clone when nil
	retryBase time.Duration     // the first pause between internal retries; default 500ms
}

func newPayments() *payments {
	return &payments{settings: defaultSettings(), retryBase: 500 * time.Millisecond}
}

func (p *payments) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "payments",
		Version:     version,
		Description: "Card payments and Issuing authorizations on Stripe (or a sandbox): look up, explain a decline, refund.",
		Config:      &p.settings,
		Configure:   p.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("get_payment", p.getPayment,
				sdk.Describe("Looks up a PaymentIntent (pi_) or a charge (ch_): status, amounts, card, and why it failed.")),
			sdk.Action("list_payment_attempts", p.listPaymentAttempts,
				sdk.Describe("Lists the charges a PaymentIntent made, oldest first, with each one's outcome.")),
			sdk.Action("find_duplicates", p.findDuplicates,
				sdk.Describe("Finds the other successful payments of the same customer, amount and order within a window: a double charge, and which payment to refund.")),
			sdk.Action("get_authorization", p.getAuthorization,
				sdk.Describe("Looks up an Issuing authorization (iauth_) of one of our cards: approved or declined, and why.")),
			sdk.Action("explain_decline", p.explainDecline,
				sdk.Describe("Explains a decline code, Issuing reason, ISO 8583 code or failure code: category, owner, next step, customer message.")),
			sdk.Action("refund", p.refund,
				sdk.Describe("Refunds a payment, all that is refundable or an amount, once per step whatever the retries."),
				sdk.Mutates(), sdk.Idempotent()),
		},
	}
}

const version = "1.0.0"

// configure runs once the settings are decoded: it checks them and builds
// the backend they choose.
func (p *payments) configure(context.Context) error {
	if err := p.settings.check(); err != nil {
		return err
	}
	switch p.settings.Backend {
	case backendStripe:
		p.backend = newStripeBackend(p.settings.Stripe, p.transport, p.retryBase)
	default:
		p.backend = newSandbox()
	}
	return nil
}
