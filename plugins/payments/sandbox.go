package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// The sandbox answers from fixtures modelled on Stripe's test cards
// (docs.stripe.com/testing): one PaymentIntent per situation a specialist
// meets, its charges, and Issuing authorizations. It needs no network and
// no key, and always answers the same, except that it remembers the
// refunds it made (per process). docs/plugins-payments.md has the table.

// sandboxPayment is a PaymentIntent and its charges, oldest first: the
// last is its latest charge.
type sandboxPayment struct {
	testCard string // the Stripe test card it mirrors, for the docs
	intent   stripePaymentIntent
	charges  []stripeCharge
}

// sandboxAuthorization is an Issuing authorization and the ISO 8583
// response code the network got (Stripe does not expose it).
type sandboxAuthorization struct {
	auth    stripeAuthorization
	isoCode string
}

// The sandbox's test cards.
var (
	card4242 = stripeCardDetails{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2029, Country: "US", Funding: "credit"}
	card9995 = stripeCardDetails{Brand: "visa", Last4: "9995", ExpMonth: 3, ExpYear: 2028, Country: "US", Funding: "debit"}
	card0069 = stripeCardDetails{Brand: "visa", Last4: "0069", ExpMonth: 10, ExpYear: 2026, Country: "US", Funding: "credit"}
	card0127 = stripeCardDetails{Brand: "visa", Last4: "0127", ExpMonth: 7, ExpYear: 2030, Country: "US", Funding: "credit"}
	card3184 = stripeCardDetails{Brand: "visa", Last4: "3184", ExpMonth: 5, ExpYear: 2029, Country: "FR", Funding: "credit"}
	card0019 = stripeCardDetails{Brand: "visa", Last4: "0019", ExpMonth: 1, ExpYear: 2031, Country: "US", Funding: "credit"}
	card0119 = stripeCardDetails{Brand: "visa", Last4: "0119", ExpMonth: 9, ExpYear: 2028, Country: "US", Funding: "credit"}
)

var (
	outcomeAuthorized = stripeOutcome{Type: "authorized", NetworkStatus: "approved_by_network", RiskLevel: "normal", SellerMessage: "Payment complete."}
	outcomeBlocked    = stripeOutcome{Type: "blocked", Reason: "highest_risk_level", NetworkStatus: "not_sent_to_network", RiskLevel: "highest", SellerMessage: "Stripe blocked this payment as too risky."}
)

// issuerDeclined is the outcome of a charge the issuer declined with a
// decline code and a network response code.
func issuerDeclined(declineCode, networkCode string) stripeOutcome {
	return stripeOutcome{Type: "issuer_declined", Reason: declineCode, NetworkStatus: "declined_by_network", RiskLevel: "normal",
		SellerMessage: fmt.Sprintf("The bank returned the decline code `%s`.", declineCode), NetworkDeclineCode: networkCode}
}

func at(day, hour, minute, second int) int64 {
	return time.Date(2026, 11, day, hour, minute, second, 0, time.UTC).Unix()
}

// sandboxCharge builds a charge: succeeded (captured) when failureCode is
// empty, else failed.
func sandboxCharge(id, pi string, created int64, amount int64, card stripeCardDetails, outcome stripeOutcome, failureCode, failureMessage string) stripeCharge {
	c := card
	ch := stripeCharge{
		ID: id, Object: "charge", Status: "failed", Amount: amount, Currency: "eur", Created: created,
		Customer: stripeRef{"cus_sandbox_0001"}, PaymentIntent: stripeRef{pi},
		FailureCode: failureCode, FailureMessage: failureMessage, Outcome: &outcome,
		PaymentMethodDetails: &stripePMDetails{Type: "card", Card: &c},
	}
	if failureCode == "" {
		ch.Status, ch.Captured, ch.AmountCaptured = "succeeded", true, amount
	}
	return ch
}

// sandboxDeclined builds a PaymentIntent whose only charge was declined.
func sandboxDeclined(suffix, testCard string, created int64, amount int64, card stripeCardDetails, outcome stripeOutcome, e stripeAPIError, description string) *sandboxPayment {
	pi := "pi_sandbox_" + suffix
	e.Type = "card_error"
	return &sandboxPayment{
		testCard: testCard,
		intent: stripePaymentIntent{ID: pi, Object: "payment_intent", Status: "requires_payment_method", Amount: amount, Currency: "eur",
			Created: created, Description: description, Customer: stripeRef{"cus_sandbox_0001"}, LastPaymentError: &e},
		charges: []stripeCharge{sandboxCharge("ch_sandbox_"+suffix, pi, created+2, amount, card, outcome, e.Code, e.Message)},
	}
}

// sandboxPayments are the fixtures, by the suffix after pi_sandbox_ and
// ch_sandbox_. pi_sandbox_timeout is not here: every call on it times out.
func sandboxPayments() map[string]*sandboxPayment {
	insufficient := sandboxDeclined("insufficient_funds", "4000000000009995", at(20, 8, 41, 10), 4900, card9995,
		issuerDeclined("insufficient_funds", "51"),
		stripeAPIError{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."},
		"Wallet top-up, order 10422")
	// The customer tried twice, ten minutes apart.
	first := insufficient.charges[0]
	first.ID, first.Created = "ch_sandbox_insufficient_funds_first", at(20, 8, 31, 12)
	insufficient.charges = append([]stripeCharge{first}, insufficient.charges...)

	authReq := sandboxDeclined("authentication_required", "4000002760003184", at(20, 10, 5, 44), 12000, card3184,
		issuerDeclined("authentication_required", "1A"),
		stripeAPIError{Code: "authentication_required", DeclineCode: "authentication_required", Message: "Your card was declined. This transaction requires authentication."},
		"Wallet top-up, order 10425")
	// The bank asked for 3-D Secure, which the customer has not completed.
	authReq.intent.Status = "requires_action"
	authReq.intent.NextAction = &stripeNextAction{Type: "use_stripe_sdk"}

	// A double charge: the checkout made a second PaymentIntent for order
	// 10428 six seconds after the first, and both succeeded.
	dupFirst := &sandboxPayment{
		testCard: "4242424242424242",
		intent: stripePaymentIntent{ID: "pi_sandbox_duplicate_first", Object: "payment_intent", Status: "succeeded", Amount: 2500, AmountReceived: 2500,
			Currency: "eur", Created: at(20, 12, 0, 1), Description: "Wallet top-up, order 10428", Customer: stripeRef{"cus_sandbox_0001"}},
		charges: []stripeCharge{sandboxCharge("ch_sandbox_duplicate_first", "pi_sandbox_duplicate_first", at(20, 12, 0, 3), 2500, card4242, outcomeAuthorized, "", "")},
	}
	dup := &sandboxPayment{
		testCard: "4242424242424242",
		intent: stripePaymentIntent{ID: "pi_sandbox_duplicate", Object: "payment_intent", Status: "succeeded", Amount: 2500, AmountReceived: 2500,
			Currency: "eur", Created: at(20, 12, 0, 7), Description: "Wallet top-up, order 10428", Customer: stripeRef{"cus_sandbox_0001"}},
		charges: []stripeCharge{sandboxCharge("ch_sandbox_duplicate", "pi_sandbox_duplicate", at(20, 12, 0, 9), 2500, card4242, outcomeAuthorized, "", "")},
	}

	return map[string]*sandboxPayment{
		"succeeded": {
			testCard: "4242424242424242",
			intent: stripePaymentIntent{ID: "pi_sandbox_succeeded", Object: "payment_intent", Status: "succeeded", Amount: 2500, AmountReceived: 2500,
				Currency: "eur", Created: at(20, 8, 14, 3), Description: "Wallet top-up, order 10421", Customer: stripeRef{"cus_sandbox_0001"}},
			charges: []stripeCharge{sandboxCharge("ch_sandbox_succeeded", "pi_sandbox_succeeded", at(20, 8, 14, 5), 2500, card4242, outcomeAuthorized, "", "")},
		},
		"insufficient_funds": insufficient,
		"expired_card": sandboxDeclined("expired_card", "4000000000000069", at(20, 9, 2, 30), 1500, card0069,
			issuerDeclined("expired_card", "54"),
			stripeAPIError{Code: "expired_card", DeclineCode: "expired_card", Message: "Your card has expired."},
			"Wallet top-up, order 10423"),
		"incorrect_cvc": sandboxDeclined("incorrect_cvc", "4000000000000127", at(20, 9, 40, 5), 3000, card0127,
			issuerDeclined("incorrect_cvc", "N7"),
			stripeAPIError{Code: "incorrect_cvc", DeclineCode: "incorrect_cvc", Message: "Your card's security code is incorrect."},
			"Wallet top-up, order 10424"),
		"authentication_required": authReq,
		"fraudulent": sandboxDeclined("fraudulent", "4100000000000019", at(20, 10, 48, 19), 75000, card0019,
			outcomeBlocked,
			stripeAPIError{Code: "card_declined", DeclineCode: "fraudulent", Message: "Your card was declined."},
			"Wallet top-up, order 10426"),
		"processing_error": sandboxDeclined("processing_error", "4000000000000119", at(20, 11, 20, 0), 2000, card0119,
			issuerDeclined("processing_error", "96"),
			stripeAPIError{Code: "processing_error", DeclineCode: "processing_error", Message: "An error occurred while processing your card. Try again in a little bit."},
			"Wallet top-up, order 10427"),
		"duplicate":       dup,
		"duplicate_first": dupFirst,
	}
}

// withOrders sets each fixture's metadata order_id from its description
// ("Wallet top-up, order 10421"), as our checkout does, on the
// PaymentIntent and its charges.
func withOrders(payments map[string]*sandboxPayment) map[string]*sandboxPayment {
	for _, p := range payments {
		_, order, ok := strings.Cut(p.intent.Description, "order ")
		if !ok {
			continue
		}
		p.intent.Metadata = map[string]string{"order_id": order}
		for i := range p.charges {
			p.charges[i].Description = p.intent.Description
			p.charges[i].Metadata = map[string]string{"order_id": order}
		}
	}
	return payments
}

// sandboxAuthorizations are the Issuing fixtures, by id.
func sandboxAuthorizations() map[string]sandboxAuthorization {
	card := stripeIssuingCard{ID: "ic_sandbox_0001", Last4: "4821", Status: "active", Brand: "Visa"}
	auth := func(suffix string, created, amount int64, m stripeMerchant, approved bool, reason, iso string) sandboxAuthorization {
		return sandboxAuthorization{isoCode: iso, auth: stripeAuthorization{
			ID: "iauth_sandbox_" + suffix, Object: "issuing.authorization", Status: "closed", Approved: approved,
			Amount: amount, Currency: "eur", Created: created, MerchantData: m, Card: card, Cardholder: stripeRef{"ich_sandbox_0001"},
			RequestHistory: []stripeAuthRequest{{Approved: approved, Reason: reason, Amount: amount, Currency: "eur", Created: created}},
		}}
	}
	inactive := auth("card_inactive", at(19, 23, 48, 2), 2350, stripeMerchant{"Uber *Trip", "taxicabs_limousines", "Amsterdam", "NL"}, false, "card_inactive", "78")
	inactive.auth.Card = stripeIssuingCard{ID: "ic_sandbox_0002", Last4: "7730", Status: "inactive", Brand: "Visa"}
	list := []sandboxAuthorization{
		auth("approved", at(19, 18, 22, 5), 1850, stripeMerchant{"Albert Heijn 1024", "grocery_stores_supermarkets", "Amsterdam", "NL"}, true, "webhook_approved", "00"),
		auth("spending_controls", at(19, 19, 3, 41), 120000, stripeMerchant{"MediaMarkt Amsterdam", "electronics_stores", "Amsterdam", "NL"}, false, "spending_controls", "61"),
		auth("insufficient_funds", at(19, 20, 15, 9), 45000, stripeMerchant{"Booking.com", "travel_agencies_tour_operators", "Amsterdam", "NL"}, false, "insufficient_funds", "51"),
		inactive,
		auth("suspected_fraud", at(20, 2, 11, 37), 9999, stripeMerchant{"GAMESHOP-ONLINE", "digital_goods_games", "Limassol", "CY"}, false, "suspected_fraud", "59"),
		auth("webhook_timeout", at(20, 7, 55, 20), 6420, stripeMerchant{"Shell A10 Zuid", "service_stations", "Amsterdam", "NL"}, false, "webhook_timeout", "91"),
	}
	out := map[string]sandboxAuthorization{}
	for _, a := range list {
		out[a.auth.ID] = a
	}
	return out
}

// sandboxTimeoutSuffix names the fixture on which every call times out.
const sandboxTimeoutSuffix = "timeout"

// sandbox is the sandbox backend.
type sandbox struct {
	payments       map[string]*sandboxPayment // by suffix
	charges        map[string]*sandboxPayment // by charge id
	authorizations map[string]sandboxAuthorization

	mu       sync.Mutex
	refunded map[string]int64         // by charge id
	byKey    map[string]sandboxRefund // by idempotency key
}

type sandboxRefund struct {
	req refundRequest
	out RefundOutput
}

func newSandbox() *sandbox {
	s := &sandbox{payments: withOrders(sandboxPayments()), charges: map[string]*sandboxPayment{}, authorizations: sandboxAuthorizations(),
		refunded: map[string]int64{}, byKey: map[string]sandboxRefund{}}
	for _, p := range s.payments {
		for _, ch := range p.charges {
			s.charges[ch.ID] = p
		}
	}
	return s
}

func (s *sandbox) name() string { return backendSandbox }

// timedOut is what every call on pi_sandbox_timeout gets.
func timedOut(id string) error {
	return sdk.Retryable("timeout", "the provider did not answer in 10s (sandbox: every call on %s times out)", id)
}

// find returns the fixture of a payment id and the charge it names (the
// latest for a PaymentIntent).
func (s *sandbox) find(id string) (*sandboxPayment, int, error) {
	if suffix, ok := strings.CutPrefix(id, "pi_sandbox_"); ok {
		if suffix == sandboxTimeoutSuffix {
			return nil, 0, timedOut(id)
		}
		if p, ok := s.payments[suffix]; ok {
			return p, len(p.charges) - 1, nil
		}
	}
	if id == "ch_sandbox_"+sandboxTimeoutSuffix {
		return nil, 0, timedOut(id)
	}
	if p, ok := s.charges[id]; ok {
		for i, ch := range p.charges {
			if ch.ID == id {
				return p, i, nil
			}
		}
	}
	return nil, 0, sdk.Error("not_found", "no payment %s in the sandbox: it knows pi_sandbox_ and ch_sandbox_ followed by %s (see docs/plugins-payments.md)",
		id, strings.Join(sandboxSuffixes(), ", "))
}

// sandboxSuffixes are the documented payment fixtures' suffixes.
func sandboxSuffixes() []string {
	return []string{"succeeded", "insufficient_funds", "expired_card", "incorrect_cvc", "authentication_required",
		"fraudulent", "processing_error", sandboxTimeoutSuffix, "duplicate", "duplicate_first"}
}

// charge returns a fixture's charge with the refunds made since. s.mu is
// held.
func (s *sandbox) charge(p *sandboxPayment, i int) stripeCharge {
	ch := p.charges[i]
	ch.AmountRefunded += s.refunded[ch.ID]
	ch.Refunded = ch.AmountRefunded > 0 && ch.AmountRefunded >= ch.AmountCaptured
	return ch
}

func (s *sandbox) getPayment(ctx context.Context, call *sdk.Call, id string) (Payment, error) {
	p, i, err := s.find(id)
	if err != nil {
		return Payment{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.charge(p, i)
	if strings.HasPrefix(id, "ch_") {
		return paymentFromCharge(ch), nil
	}
	pi := p.intent
	pi.LatestCharge = chargeRef{ID: ch.ID, Charge: &ch}
	return paymentFromIntent(pi), nil
}

func (s *sandbox) listAttempts(ctx context.Context, call *sdk.Call, paymentIntent string) ([]Attempt, error) {
	p, _, err := s.find(paymentIntent)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	charges := make([]stripeCharge, len(p.charges))
	for i := range p.charges {
		charges[i] = s.charge(p, i)
	}
	return attemptsOf(charges), nil
}

// listPayments lists the fixtures of a customer created in [q.from, q.to],
// as Stripe's list does (newest first). Every sandbox charge has a
// PaymentIntent, so a list of charges made without one is empty.
func (s *sandbox) listPayments(ctx context.Context, call *sdk.Call, q paymentQuery) ([]listedPayment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []listedPayment
	if q.charges {
		return out, nil
	}
	for _, p := range s.payments {
		pi := p.intent
		created := unixTime(pi.Created)
		if pi.Customer.ID != q.customer || created.Before(q.from) || created.After(q.to) {
			continue
		}
		ch := s.charge(p, len(p.charges)-1)
		pi.LatestCharge = chargeRef{ID: ch.ID, Charge: &ch}
		out = append(out, listedPayment{Payment: paymentFromIntent(pi), metadata: pi.Metadata})
	}
	slices.SortFunc(out, func(a, b listedPayment) int { return b.Created.Compare(a.Created) })
	return out, nil
}

func (s *sandbox) getAuthorization(ctx context.Context, call *sdk.Call, id string) (Authorization, error) {
	a, ok := s.authorizations[id]
	if !ok {
		ids := make([]string, 0, len(s.authorizations))
		for _, suffix := range []string{"approved", "spending_controls", "insufficient_funds", "card_inactive", "suspected_fraud", "webhook_timeout"} {
			ids = append(ids, "iauth_sandbox_"+suffix)
		}
		return Authorization{}, sdk.Error("not_found", "no authorization %s in the sandbox: it knows %s (see docs/plugins-payments.md)", id, strings.Join(ids, ", "))
	}
	out := authorizationOf(a.auth)
	out.IsoCode = a.isoCode
	return out, nil
}

// refund refunds a fixture's charge (a PaymentIntent's latest), once per
// idempotency key, as Stripe does.
func (s *sandbox) refund(ctx context.Context, call *sdk.Call, r refundRequest) (RefundOutput, error) {
	p, i, err := s.find(r.paymentID)
	if err != nil {
		return RefundOutput{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if done, ok := s.byKey[call.IdempotencyKey]; ok {
		if !sameRefund(done.req, r) {
			return RefundOutput{}, sdk.Error("invalid_request", "the idempotency key %s was used for another refund (%s of %s): Stripe refuses a key reused with other parameters",
				call.IdempotencyKey, done.out.RefundID, done.req.paymentID)
		}
		call.Infof("refund %s was made by an earlier attempt of this step", done.out.RefundID)
		return done.out, nil
	}
	ch := s.charge(p, i)
	left := ch.AmountCaptured - ch.AmountRefunded
	switch {
	case ch.Status != "succeeded":
		return RefundOutput{}, sdk.Error("nothing_to_refund", "nothing to refund on %s: the payment did not go through (charge %s %s)", r.paymentID, ch.ID, ch.Status)
	case left <= 0:
		return RefundOutput{}, sdk.Error("nothing_to_refund", "nothing to refund on %s: charge %s is already fully refunded", r.paymentID, ch.ID)
	case r.amount != nil && *r.amount > left:
		return RefundOutput{}, sdk.Error("invalid_request", "cannot refund %d %s on %s: only %d is still refundable", *r.amount, ch.Currency, r.paymentID, left)
	}
	amount := left
	if r.amount != nil {
		amount = *r.amount
	}
	sum := sha256.Sum256([]byte(call.IdempotencyKey))
	out := RefundOutput{RefundID: "re_sandbox_" + hex.EncodeToString(sum[:])[:16], Status: "succeeded", Amount: amount, Currency: ch.Currency, PaymentID: r.paymentID}
	s.refunded[ch.ID] += amount
	s.byKey[call.IdempotencyKey] = sandboxRefund{req: r, out: out}
	return out, nil
}

func sameRefund(a, b refundRequest) bool {
	if a.paymentID != b.paymentID || a.reason != b.reason || (a.amount == nil) != (b.amount == nil) {
		return false
	}
	return a.amount == nil || *a.amount == *b.amount
}
