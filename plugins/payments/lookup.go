package main

import (
	"context"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// PaymentInput is the with of payments.get_payment.
type PaymentInput struct {
	PaymentID string `json:"payment_id" pattern:"^(pi|ch)_[A-Za-z0-9_]{6,250}$" desc:"a PaymentIntent (pi_...) or a charge (ch_...)"`
}

// Payment is what payments.get_payment returns. Every field is present;
// strings are "" when Stripe has nothing.
type Payment struct {
	ID               string    `json:"id"`
	Object           string    `json:"object" enum:"payment_intent,charge"`
	Status           string    `json:"status" desc:"Stripe's own status: succeeded, requires_payment_method, requires_action, canceled, processing... for a PaymentIntent; succeeded, pending, failed for a charge"`
	Succeeded        bool      `json:"succeeded" desc:"the money was taken: a succeeded PaymentIntent, or a succeeded and captured charge (an uncaptured one is only authorized)"`
	Failed           bool      `json:"failed" desc:"the payment did not go through: a PaymentIntent back to requires_payment_method or canceled after an error, or a failed charge"`
	Amount           int64     `json:"amount" desc:"in minor units"`
	AmountReceived   int64     `json:"amount_received" desc:"captured, in minor units"`
	AmountRefunded   int64     `json:"amount_refunded" desc:"in minor units"`
	AmountRefundable int64     `json:"amount_refundable" desc:"what a refund could still return, in minor units"`
	Currency         string    `json:"currency" desc:"ISO 4217, lower case"`
	Created          time.Time `json:"created"`
	Description      string    `json:"description"`
	Customer         string    `json:"customer" desc:"the Stripe customer id"`
	PaymentIntent    string    `json:"payment_intent" desc:"the PaymentIntent: its own id for a PaymentIntent, the one a charge belongs to, or empty"`
	LatestCharge     string    `json:"latest_charge" desc:"the latest charge's id (a charge's own id)"`
	Card             Card      `json:"card"`
	Failure          Failure   `json:"failure"`
	NextAction       string    `json:"next_action" desc:"what the customer must still do: use_stripe_sdk (3-D Secure), redirect_to_url..."`
	Livemode         bool      `json:"livemode"`
	Backend          string    `json:"backend" enum:"sandbox,stripe"`
}

// Card is the card a payment was made with.
type Card struct {
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	Country  string `json:"country"`
	Funding  string `json:"funding" desc:"credit, debit, prepaid or unknown"`
	Wallet   string `json:"wallet" desc:"apple_pay, google_pay, link... or empty"`
}

// Failure says why a payment failed, from the PaymentIntent's
// last_payment_error and the latest charge's outcome.
type Failure struct {
	Code               string `json:"code" desc:"Stripe's error code: card_declined, expired_card, incorrect_cvc..."`
	DeclineCode        string `json:"decline_code" desc:"Stripe's decline code: insufficient_funds, fraudulent..."`
	NetworkDeclineCode string `json:"network_decline_code" desc:"the card network's response code, such as 51"`
	AdviceCode         string `json:"advice_code" desc:"Stripe's advice on retrying: confirm_card_data, do_not_try_again, try_again_later, or empty"`
	NetworkAdviceCode  string `json:"network_advice_code" desc:"the card network's advice code, such as Mastercard's merchant advice code 03"`
	Message            string `json:"message"`
	Type               string `json:"type" desc:"card_error, api_error..."`
	OutcomeType        string `json:"outcome_type" desc:"authorized, issuer_declined, blocked, manual_review, invalid"`
	OutcomeReason      string `json:"outcome_reason"`
	RiskLevel          string `json:"risk_level" desc:"normal, elevated, highest, not_assessed, unknown"`
	SellerMessage      string `json:"seller_message"`
}

// getPayment is payments.get_payment: read-only.
func (p *payments) getPayment(ctx context.Context, call *sdk.Call, in PaymentInput) (Payment, error) {
	call.Infof("looking up %s (%s)", in.PaymentID, p.backend.name())
	pay, err := p.backend.getPayment(ctx, call, in.PaymentID)
	if err != nil {
		return Payment{}, err
	}
	pay.Backend = p.backend.name()
	switch {
	case pay.Succeeded:
		call.Infof("%s %s: %d %s, %d refundable", pay.Object, pay.Status, pay.AmountReceived, pay.Currency, pay.AmountRefundable)
	case pay.Failure.Code != "" || pay.Failure.DeclineCode != "":
		call.Warnf("%s %s: %s", pay.Object, pay.Status, failureWords(pay.Failure))
	default:
		call.Infof("%s %s", pay.Object, pay.Status)
	}
	return pay, nil
}

// failureWords summarises a failure for a log line.
func failureWords(f Failure) string {
	s := f.Code
	if f.DeclineCode != "" && f.DeclineCode != f.Code {
		s += " / " + f.DeclineCode
	}
	if f.NetworkDeclineCode != "" {
		s += " (network " + f.NetworkDeclineCode + ")"
	}
	if f.OutcomeType != "" {
		s += ", outcome " + f.OutcomeType
	}
	if f.AdviceCode != "" || f.NetworkAdviceCode != "" {
		s += ", advice " + strings.TrimSpace(f.AdviceCode+" "+f.NetworkAdviceCode)
	}
	return s
}

// AttemptsInput is the with of payments.list_payment_attempts.
type AttemptsInput struct {
	PaymentID string `json:"payment_id" pattern:"^pi_[A-Za-z0-9_]{6,250}$" desc:"a PaymentIntent (pi_...)"`
}

// Attempt is one charge of a PaymentIntent.
type Attempt struct {
	ChargeID           string    `json:"charge_id"`
	Status             string    `json:"status" desc:"succeeded, pending or failed"`
	Created            time.Time `json:"created"`
	Amount             int64     `json:"amount"`
	Currency           string    `json:"currency"`
	FailureCode        string    `json:"failure_code"`
	DeclineCode        string    `json:"decline_code"`
	NetworkDeclineCode string    `json:"network_decline_code"`
	AdviceCode         string    `json:"advice_code"`
	NetworkAdviceCode  string    `json:"network_advice_code"`
	OutcomeType        string    `json:"outcome_type"`
	OutcomeReason      string    `json:"outcome_reason"`
	RiskLevel          string    `json:"risk_level"`
	SellerMessage      string    `json:"seller_message"`
	CardLast4          string    `json:"card_last4"`
}

// AttemptsOutput is what payments.list_payment_attempts returns.
type AttemptsOutput struct {
	Attempts       []Attempt `json:"attempts" desc:"oldest first"`
	Count          int       `json:"count"`
	FailedCount    int       `json:"failed_count"`
	SucceededCount int       `json:"succeeded_count" desc:"0 or 1: Stripe makes at most one successful charge per PaymentIntent (a double charge is two payments: find_duplicates)"`
	Backend        string    `json:"backend" enum:"sandbox,stripe"`
}

// listPaymentAttempts is payments.list_payment_attempts: read-only.
func (p *payments) listPaymentAttempts(ctx context.Context, call *sdk.Call, in AttemptsInput) (AttemptsOutput, error) {
	call.Infof("listing the charges of %s (%s)", in.PaymentID, p.backend.name())
	attempts, err := p.backend.listAttempts(ctx, call, in.PaymentID)
	if err != nil {
		return AttemptsOutput{}, err
	}
	out := AttemptsOutput{Attempts: attempts, Count: len(attempts), Backend: p.backend.name()}
	if out.Attempts == nil {
		out.Attempts = []Attempt{}
	}
	for _, a := range attempts {
		switch a.Status {
		case "succeeded":
			out.SucceededCount++
		case "failed":
			out.FailedCount++
		}
	}
	call.Infof("%d attempts: %d succeeded, %d failed", out.Count, out.SucceededCount, out.FailedCount)
	return out, nil
}

// AuthorizationInput is the with of payments.get_authorization.
type AuthorizationInput struct {
	AuthorizationID string `json:"authorization_id" pattern:"^iauth_[A-Za-z0-9_]{6,250}$" desc:"an Issuing authorization (iauth_...)"`
}

// Authorization is what payments.get_authorization returns.
type Authorization struct {
	ID             string        `json:"id"`
	Status         string        `json:"status" enum:"pending,closed,expired,reversed"`
	Approved       bool          `json:"approved"`
	Amount         int64         `json:"amount" desc:"authorized or declined, in minor units"`
	Currency       string        `json:"currency"`
	DeclineReason  string        `json:"decline_reason" desc:"the Issuing reason of the last declined request (spending_controls, card_inactive...), or empty"`
	IsoCode        string        `json:"iso_code" desc:"the ISO 8583 response code the network got (00 approved); empty when unknown (Stripe does not expose it)"`
	Merchant       Merchant      `json:"merchant"`
	Card           IssuingCard   `json:"card"`
	Cardholder     string        `json:"cardholder" desc:"the Issuing cardholder id"`
	Created        time.Time     `json:"created"`
	RequestHistory []AuthRequest `json:"request_history" desc:"every approval or decline decision, oldest first"`
	Backend        string        `json:"backend" enum:"sandbox,stripe"`
}

// Merchant is where the card was used.
type Merchant struct {
	Name     string `json:"name"`
	Category string `json:"category" desc:"Stripe's merchant category, such as grocery_stores_supermarkets"`
	City     string `json:"city"`
	Country  string `json:"country"`
}

// IssuingCard is one of our cards.
type IssuingCard struct {
	ID     string `json:"id"`
	Last4  string `json:"last4"`
	Status string `json:"status" desc:"active, inactive or canceled"`
	Brand  string `json:"brand" desc:"the card network, lower case: visa or mastercard"`
}

// AuthRequest is one decision on an authorization.
type AuthRequest struct {
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
	Created  time.Time `json:"created"`
}

// getAuthorization is payments.get_authorization: read-only.
func (p *payments) getAuthorization(ctx context.Context, call *sdk.Call, in AuthorizationInput) (Authorization, error) {
	call.Infof("looking up %s (%s)", in.AuthorizationID, p.backend.name())
	a, err := p.backend.getAuthorization(ctx, call, in.AuthorizationID)
	if err != nil {
		return Authorization{}, err
	}
	a.Backend = p.backend.name()
	if a.RequestHistory == nil {
		a.RequestHistory = []AuthRequest{}
	}
	if a.Approved {
		call.Infof("authorization %s, approved: %d %s at %s", a.Status, a.Amount, a.Currency, a.Merchant.Name)
	} else {
		call.Warnf("authorization %s, declined: %s (%d %s at %s)", a.Status, orWord(a.DeclineReason, "no reason given"), a.Amount, a.Currency, a.Merchant.Name)
	}
	return a, nil
}

func orWord(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
