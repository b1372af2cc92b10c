package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The Stripe objects this plugin reads: the fields it uses, as the API
// (version stripeVersion) writes them. The sandbox's fixtures are made of
// the same types, so both backends go through the same conversions.

type stripePaymentIntent struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Status           string            `json:"status"`
	Amount           int64             `json:"amount"`
	AmountReceived   int64             `json:"amount_received"`
	Currency         string            `json:"currency"`
	Created          int64             `json:"created"`
	Description      string            `json:"description"`
	Customer         stripeRef         `json:"customer"`
	LatestCharge     chargeRef         `json:"latest_charge"`
	LastPaymentError *stripeAPIError   `json:"last_payment_error"`
	NextAction       *stripeNextAction `json:"next_action"`
	Metadata         map[string]string `json:"metadata"`
	Livemode         bool              `json:"livemode"`
}

type stripeNextAction struct {
	Type string `json:"type"`
}

type stripeCharge struct {
	ID                   string            `json:"id"`
	Object               string            `json:"object"`
	Status               string            `json:"status"`
	Amount               int64             `json:"amount"`
	AmountCaptured       int64             `json:"amount_captured"`
	AmountRefunded       int64             `json:"amount_refunded"`
	Captured             bool              `json:"captured"`
	Refunded             bool              `json:"refunded"`
	Currency             string            `json:"currency"`
	Created              int64             `json:"created"`
	Description          string            `json:"description"`
	Customer             stripeRef         `json:"customer"`
	PaymentIntent        stripeRef         `json:"payment_intent"`
	FailureCode          string            `json:"failure_code"`
	FailureMessage       string            `json:"failure_message"`
	Outcome              *stripeOutcome    `json:"outcome"`
	PaymentMethodDetails *stripePMDetails  `json:"payment_method_details"`
	Metadata             map[string]string `json:"metadata"`
	Livemode             bool              `json:"livemode"`
}

type stripeOutcome struct {
	Type               string `json:"type"`
	Reason             string `json:"reason"`
	RiskLevel          string `json:"risk_level"`
	SellerMessage      string `json:"seller_message"`
	NetworkStatus      string `json:"network_status"`
	NetworkDeclineCode string `json:"network_decline_code"`
	AdviceCode         string `json:"advice_code"`
	NetworkAdviceCode  string `json:"network_advice_code"`
}

type stripePMDetails struct {
	Type string             `json:"type"`
	Card *stripeCardDetails `json:"card"`
}

type stripeCardDetails struct {
	Brand    string        `json:"brand"`
	Last4    string        `json:"last4"`
	ExpMonth int           `json:"exp_month"`
	ExpYear  int           `json:"exp_year"`
	Country  string        `json:"country"`
	Funding  string        `json:"funding"`
	Wallet   *stripeWallet `json:"wallet"`
}

type stripeWallet struct {
	Type string `json:"type"`
}

type stripeList struct {
	Object  string         `json:"object"`
	Data    []stripeCharge `json:"data"`
	HasMore bool           `json:"has_more"`
}

type stripeIntentList struct {
	Object  string                `json:"object"`
	Data    []stripePaymentIntent `json:"data"`
	HasMore bool                  `json:"has_more"`
}

type stripeAuthorization struct {
	ID             string              `json:"id"`
	Object         string              `json:"object"`
	Status         string              `json:"status"`
	Approved       bool                `json:"approved"`
	Amount         int64               `json:"amount"`
	Currency       string              `json:"currency"`
	Created        int64               `json:"created"`
	MerchantData   stripeMerchant      `json:"merchant_data"`
	Card           stripeIssuingCard   `json:"card"`
	Cardholder     stripeRef           `json:"cardholder"`
	RequestHistory []stripeAuthRequest `json:"request_history"`
}

type stripeMerchant struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	City     string `json:"city"`
	Country  string `json:"country"`
}

type stripeIssuingCard struct {
	ID     string `json:"id"`
	Last4  string `json:"last4"`
	Status string `json:"status"`
	Brand  string `json:"brand"`
}

type stripeAuthRequest struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Created  int64  `json:"created"`
}

type stripeRefund struct {
	ID            string    `json:"id"`
	Object        string    `json:"object"`
	Status        string    `json:"status"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	PaymentIntent stripeRef `json:"payment_intent"`
	Charge        stripeRef `json:"charge"`
}

// stripeRef is an expandable field: an id, or the object with its id, or
// null.
type stripeRef struct{ ID string }

func (r *stripeRef) UnmarshalJSON(b []byte) error {
	switch b = bytes.TrimSpace(b); {
	case string(b) == "null":
		r.ID = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &r.ID)
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("an expandable field is an id or an object, got %.40s", b)
	}
	r.ID = o.ID
	return nil
}

// chargeRef is a PaymentIntent's latest_charge: an id, or the charge when
// expanded.
type chargeRef struct {
	ID     string
	Charge *stripeCharge
}

func (r *chargeRef) UnmarshalJSON(b []byte) error {
	switch b = bytes.TrimSpace(b); {
	case string(b) == "null":
		*r = chargeRef{}
		return nil
	case len(b) > 0 && b[0] == '"':
		r.Charge = nil
		return json.Unmarshal(b, &r.ID)
	}
	var c stripeCharge
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	*r = chargeRef{ID: c.ID, Charge: &c}
	return nil
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }

// paymentFromIntent converts a PaymentIntent, its latest charge expanded.
func paymentFromIntent(pi stripePaymentIntent) Payment {
	p := Payment{
		ID: pi.ID, Object: "payment_intent", Status: pi.Status,
		Succeeded: pi.Status == "succeeded",
		Failed:    (pi.Status == "requires_payment_method" || pi.Status == "canceled") && pi.LastPaymentError != nil,
		Amount:    pi.Amount, AmountReceived: pi.AmountReceived,
		Currency: pi.Currency, Created: unixTime(pi.Created), Description: pi.Description,
		Customer: pi.Customer.ID, PaymentIntent: pi.ID, LatestCharge: pi.LatestCharge.ID, Livemode: pi.Livemode,
	}
	if pi.NextAction != nil {
		p.NextAction = pi.NextAction.Type
	}
	if ch := pi.LatestCharge.Charge; ch != nil {
		p.AmountRefunded = ch.AmountRefunded
		p.Card = cardOf(ch)
		p.Failure = chargeFailure(ch)
	}
	if e := pi.LastPaymentError; e != nil {
		p.Failure.Code, p.Failure.DeclineCode, p.Failure.Message, p.Failure.Type = e.Code, e.DeclineCode, e.Message, e.Type
		// The PaymentIntent's error is the latest word: its network
		// codes replace the charge's when it has them.
		if e.NetworkDeclineCode != "" {
			p.Failure.NetworkDeclineCode = e.NetworkDeclineCode
		}
		if e.AdviceCode != "" {
			p.Failure.AdviceCode = e.AdviceCode
		}
		if e.NetworkAdviceCode != "" {
			p.Failure.NetworkAdviceCode = e.NetworkAdviceCode
		}
	}
	p.AmountRefundable = max(p.AmountReceived-p.AmountRefunded, 0)
	return p
}

// paymentFromCharge converts a charge.
func paymentFromCharge(ch stripeCharge) Payment {
	p := Payment{
		ID: ch.ID, Object: "charge", Status: ch.Status,
		Succeeded: ch.Status == "succeeded" && ch.Captured, Failed: ch.Status == "failed",
		Amount: ch.Amount, AmountRefunded: ch.AmountRefunded,
		Currency: ch.Currency, Created: unixTime(ch.Created), Description: ch.Description,
		Customer: ch.Customer.ID, PaymentIntent: ch.PaymentIntent.ID, LatestCharge: ch.ID, Livemode: ch.Livemode,
		Card: cardOf(&ch), Failure: chargeFailure(&ch),
	}
	if ch.Status == "succeeded" {
		p.AmountReceived = ch.AmountCaptured
		p.AmountRefundable = max(ch.AmountCaptured-ch.AmountRefunded, 0)
	}
	return p
}

func cardOf(ch *stripeCharge) Card {
	if ch.PaymentMethodDetails == nil || ch.PaymentMethodDetails.Card == nil {
		return Card{}
	}
	c := ch.PaymentMethodDetails.Card
	card := Card{Brand: c.Brand, Last4: c.Last4, ExpMonth: c.ExpMonth, ExpYear: c.ExpYear, Country: c.Country, Funding: c.Funding}
	if c.Wallet != nil {
		card.Wallet = c.Wallet.Type
	}
	return card
}

// chargeFailure reads a charge's failure and outcome. A charge has no
// decline code of its own: when the issuer declined, the outcome's reason
// is Stripe's decline code; when Radar blocked it, Stripe tells the
// customer fraudulent (generic_decline when it blocked a payment unlikely
// to be authorized).
func chargeFailure(ch *stripeCharge) Failure {
	f := Failure{Code: ch.FailureCode, Message: ch.FailureMessage}
	if ch.FailureCode != "" {
		f.Type = "card_error"
	}
	if o := ch.Outcome; o != nil {
		f.OutcomeType, f.OutcomeReason, f.RiskLevel, f.SellerMessage = o.Type, o.Reason, o.RiskLevel, o.SellerMessage
		f.NetworkDeclineCode, f.AdviceCode, f.NetworkAdviceCode = o.NetworkDeclineCode, o.AdviceCode, o.NetworkAdviceCode
		switch {
		case ch.Status != "failed":
		case o.Type == "issuer_declined":
			f.DeclineCode = o.Reason
		case o.Type == "blocked" && o.Reason == "low_probability_of_authorization":
			f.DeclineCode = "generic_decline"
		case o.Type == "blocked":
			f.DeclineCode = "fraudulent"
		}
	}
	return f
}

func attemptFromCharge(ch stripeCharge) Attempt {
	f := chargeFailure(&ch)
	return Attempt{
		ChargeID: ch.ID, Status: ch.Status, Created: unixTime(ch.Created), Amount: ch.Amount, Currency: ch.Currency,
		FailureCode: f.Code, DeclineCode: f.DeclineCode, NetworkDeclineCode: f.NetworkDeclineCode,
		AdviceCode: f.AdviceCode, NetworkAdviceCode: f.NetworkAdviceCode,
		OutcomeType: f.OutcomeType, OutcomeReason: f.OutcomeReason, RiskLevel: f.RiskLevel, SellerMessage: f.SellerMessage,
		CardLast4: cardOf(&ch).Last4,
	}
}

// attemptsOf converts charges, oldest first.
func attemptsOf(charges []stripeCharge) []Attempt {
	out := make([]Attempt, 0, len(charges))
	for _, ch := range charges {
		out = append(out, attemptFromCharge(ch))
	}
	slices.SortStableFunc(out, func(a, b Attempt) int { return a.Created.Compare(b.Created) })
	return out
}

func authorizationOf(a stripeAuthorization) Authorization {
	out := Authorization{
		ID: a.ID, Status: a.Status, Approved: a.Approved, Amount: a.Amount, Currency: a.Currency,
		Merchant:   Merchant(a.MerchantData),
		Card:       IssuingCard{ID: a.Card.ID, Last4: a.Card.Last4, Status: a.Card.Status, Brand: strings.ToLower(a.Card.Brand)},
		Cardholder: a.Cardholder.ID, Created: unixTime(a.Created),
		RequestHistory: make([]AuthRequest, 0, len(a.RequestHistory)),
	}
	for _, r := range a.RequestHistory {
		out.RequestHistory = append(out.RequestHistory, AuthRequest{
			Approved: r.Approved, Reason: r.Reason, Amount: r.Amount, Currency: r.Currency, Created: unixTime(r.Created)})
	}
	slices.SortStableFunc(out.RequestHistory, func(x, y AuthRequest) int { return x.Created.Compare(y.Created) })
	if !a.Approved {
		for i := len(out.RequestHistory) - 1; i >= 0; i-- {
			if r := out.RequestHistory[i]; !r.Approved {
				out.DeclineReason = r.Reason
				break
			}
		}
	}
	return out
}
