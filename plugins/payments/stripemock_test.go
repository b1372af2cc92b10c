package main

// Conformance tests against a real stripe-mock (github.com/stripe/stripe-mock),
// started by package stripemock: it validates every request against
// Stripe's OpenAPI spec (paths, parameters, their types and enums) and
// answers with the spec's fixtures, so these tests prove that the plugin's
// requests are ones Stripe accepts and that it decodes Stripe's shapes. Its
// answers are fixtures, not behaviour: the faults are in faults_test.go.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/payments/stripemock"
	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// recorder is a transport that keeps every exchange, for asserting what
// went over the wire.
type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

type exchange struct {
	req    *http.Request
	status int
	header http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	e := exchange{req: req}
	if err == nil {
		e.status, e.header = resp.StatusCode, resp.Header.Clone()
	}
	r.exchanges = append(r.exchanges, e)
	return resp, err
}

func (r *recorder) last() exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exchanges[len(r.exchanges)-1]
}

func TestStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	rec := &recorder{}
	pl := newPayments()
	pl.transport = rec
	p := startPlugin(t, pl, map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_123", "base_url": base}})

	t.Run("get_payment pi_", func(t *testing.T) {
		out, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa"})
		if err != nil {
			t.Fatalf("%v %v", err, logs)
		}
		e := rec.last()
		if e.status != 200 || e.req.URL.Path != "/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa" || e.req.URL.Query().Get("expand[]") != "latest_charge" ||
			e.req.Header.Get("Stripe-Version") != stripeVersion {
			t.Errorf("request %s %v", e.req.URL, e.req.Header)
		}
		// stripe-mock echoes the id and answers its fixture: the fields are
		// there and typed.
		if out["id"] != "pi_3MtwBwLkdIwHu7ix28a3tqPa" || out["object"] != "payment_intent" || out["backend"] != "stripe" || out["status"] == "" ||
			out["currency"] == "" || out["livemode"] != false {
			t.Errorf("outputs %v", out)
		}
		if _, err := time.Parse(time.RFC3339, out["created"].(string)); err != nil {
			t.Errorf("created %v", out["created"])
		}
		// latest_charge was expanded: its card and outcome came along.
		if !strings.HasPrefix(out["latest_charge"].(string), "ch_") || str(out, "card", "last4") == "" || str(out, "card", "brand") == "" ||
			str(out, "failure", "outcome_type") == "" {
			t.Errorf("latest charge not expanded: %v %v %v", out["latest_charge"], out["card"], out["failure"])
		}
		for _, k := range []string{"amount", "amount_received", "amount_refunded", "amount_refundable"} {
			if v, ok := out[k].(float64); !ok || v < 0 {
				t.Errorf("%s = %v", k, out[k])
			}
		}
	})

	t.Run("get_payment ch_", func(t *testing.T) {
		out, _, err := p.Execute("get_payment", map[string]any{"payment_id": "ch_3MmlLrLkdIwHu7ix0snN0B15"})
		if err != nil {
			t.Fatal(err)
		}
		if e := rec.last(); e.status != 200 || e.req.URL.Path != "/v1/charges/ch_3MmlLrLkdIwHu7ix0snN0B15" || e.req.URL.RawQuery != "" {
			t.Errorf("request %s", e.req.URL)
		}
		if out["id"] != "ch_3MmlLrLkdIwHu7ix0snN0B15" || out["object"] != "charge" || out["latest_charge"] != out["id"] ||
			str(out, "card", "last4") == "" || out["amount"].(float64) <= 0 {
			t.Errorf("outputs %v", out)
		}
		if st := out["status"]; st != "succeeded" && st != "pending" && st != "failed" {
			t.Errorf("status %v", st)
		}
	})

	t.Run("list_payment_attempts", func(t *testing.T) {
		out, _, err := p.Execute("list_payment_attempts", map[string]any{"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa"})
		if err != nil {
			t.Fatal(err)
		}
		q := rec.last().req.URL.Query()
		if q.Get("payment_intent") != "pi_3MtwBwLkdIwHu7ix28a3tqPa" || q.Get("limit") != "100" {
			t.Errorf("query %v", q)
		}
		attempts := out["attempts"].([]any)
		if out["count"] != float64(len(attempts)) || len(attempts) == 0 {
			t.Fatalf("outputs %v", out)
		}
		a := attempts[0].(map[string]any)
		if !strings.HasPrefix(a["charge_id"].(string), "ch_") || a["card_last4"] == "" || a["currency"] == "" {
			t.Errorf("attempt %v", a)
		}
		if out["failed_count"].(float64)+out["succeeded_count"].(float64) > out["count"].(float64) {
			t.Errorf("counts %v", out)
		}
	})

	// find_duplicates lists a customer's payments in a window. stripe-mock
	// proves the requests are valid (customer, created[gte], created[lte],
	// limit, expand[]=data.latest_charge are parameters Stripe takes) and
	// that the lists decode. It cannot prove the grouping: it answers the
	// same fixture whatever the filter, and its PaymentIntent has no
	// customer, so find_duplicates on it says it could not search. The
	// grouping is proved by TestFindDuplicatesSandbox and
	// TestGroupDuplicates.
	t.Run("find_duplicates", func(t *testing.T) {
		out, _, err := p.Execute("find_duplicates", map[string]any{"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa"})
		if err != nil {
			t.Fatal(err)
		}
		if out["searched"] != false || out["duplicate"] != false || out["backend"] != "stripe" ||
			out["reason"] != "pi_3MtwBwLkdIwHu7ix28a3tqPa did not succeed (requires_payment_method): it cannot have charged twice" {
			t.Errorf("outputs %v", out)
		}
		from := time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
		b := newStripeBackend(StripeSettings{APIKey: "sk_test_123", BaseURL: base, Timeout: sdk.Duration(10 * time.Second)}, rec, time.Millisecond)
		for _, charges := range []bool{false, true} {
			listed, err := b.listPayments(t.Context(), nil, paymentQuery{customer: "cus_NffrFeUfNV2Hib", from: from, to: from.Add(48 * time.Hour), charges: charges})
			if err != nil {
				t.Fatal(err)
			}
			e := rec.last()
			q := e.req.URL.Query()
			path, expand := "/v1/payment_intents", "data.latest_charge"
			if charges {
				path, expand = "/v1/charges", ""
			}
			if e.status != 200 || e.req.URL.Path != path || q.Get("customer") != "cus_NffrFeUfNV2Hib" || q.Get("created[gte]") != "1795089600" ||
				q.Get("created[lte]") != "1795262400" || q.Get("limit") != "100" || q.Get("expand[]") != expand {
				t.Errorf("request %d %s", e.status, e.req.URL)
			}
			if len(listed) == 0 || listed[0].ID == "" || listed[0].Currency == "" || listed[0].Amount <= 0 {
				t.Errorf("listed %+v", listed)
			}
		}
	})

	t.Run("get_authorization", func(t *testing.T) {
		out, _, err := p.Execute("get_authorization", map[string]any{"authorization_id": "iauth_1MzFN1K8F4fqH0lBmFq8CjbU"})
		if err != nil {
			t.Fatal(err)
		}
		if e := rec.last(); e.status != 200 || e.req.URL.Path != "/v1/issuing/authorizations/iauth_1MzFN1K8F4fqH0lBmFq8CjbU" {
			t.Errorf("request %s", e.req.URL)
		}
		if out["id"] != "iauth_1MzFN1K8F4fqH0lBmFq8CjbU" || out["iso_code"] != "" || out["backend"] != "stripe" ||
			!strings.HasPrefix(str(out, "card", "id"), "ic_") || str(out, "card", "last4") == "" || str(out, "merchant", "name") == "" ||
			str(out, "merchant", "category") == "" {
			t.Errorf("outputs %v", out)
		}
		switch out["status"] {
		case "pending", "closed", "expired", "reversed":
		default:
			t.Errorf("status %v", out["status"])
		}
		if _, ok := out["request_history"].([]any); !ok {
			t.Errorf("request_history %v", out["request_history"])
		}
	})

	t.Run("refund with an Idempotency-Key", func(t *testing.T) {
		for _, with := range []map[string]any{
			{"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": 500, "reason": "duplicate"},
			{"payment_id": "ch_3MmlLrLkdIwHu7ix0snN0B15"},
		} {
			out, _, err := p.Execute("refund", with, sdktest.IdempotencyKey("run-7/refund"))
			if err != nil {
				t.Fatal(err)
			}
			e := rec.last()
			// stripe-mock accepted the form and reflects the key back, as
			// Stripe does.
			if e.status != 200 || e.req.Method != "POST" || e.req.Header.Get("Idempotency-Key") != "run-7/refund" ||
				e.header.Get("Idempotency-Key") != "run-7/refund" || e.req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("exchange %d %v %v", e.status, e.req.Header, e.header)
			}
			if !strings.HasPrefix(out["refund_id"].(string), "re_") || out["status"] == "" || out["currency"] == "" || out["payment_id"] != with["payment_id"] {
				t.Errorf("outputs %v", out)
			}
			if a, ok := with["amount"]; ok && out["amount"] != float64(a.(int)) {
				t.Errorf("amount %v, want %v (stripe-mock reflects it)", out["amount"], a)
			}
		}
	})

	// Validation is live: a request the spec refuses is refused, through
	// the plugin's own client.
	t.Run("stripe-mock validates requests", func(t *testing.T) {
		c := newStripeClient(StripeSettings{APIKey: "sk_test_123", BaseURL: base, Timeout: sdk.Duration(10 * time.Second)}, nil, time.Millisecond)
		var out stripeRefund
		err := c.do(t.Context(), nil, stripeRequest{method: "POST", path: "/v1/refunds", idempotencyKey: "k", what: "payment pi_123456",
			params: url.Values{"payment_intent": {"pi_123456"}, "reason": {"changed_my_mind"}}}, &out)
		var msg string
		if err != nil {
			msg = err.Error()
		}
		if !strings.HasPrefix(msg, "Stripe refused POST /v1/refunds (400 Bad Request): Request validation error") || !strings.Contains(msg, "reason") {
			t.Errorf("a refund with an invalid reason: %v", err)
		}
		err = c.do(t.Context(), nil, stripeRequest{method: "GET", path: "/v1/charges", what: "charges",
			params: url.Values{"payment_intent": {"pi_123456"}, "limit": {"many"}}}, &stripeList{})
		if err == nil || !strings.Contains(err.Error(), "400 Bad Request") {
			t.Errorf("a list with limit=many: %v", err)
		}
	})

	// stripe-mock's 401 quotes the Authorization header: the plugin does
	// not.
	t.Run("a bad key", func(t *testing.T) {
		const bad = "sk_live_n0tAtestKey4u"
		p := startStripe(t, base, map[string]any{"api_key": bad})
		_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_3MtwBwLkdIwHu7ix28a3tqPa"})
		sdktest.WantError(t, err, "auth_failed", false,
			"Stripe refused the API key (401 Unauthorized) on GET /v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa: check plugins.settings.payments.stripe.api_key")
		if strings.Contains(fmt.Sprint(err, logs), bad) {
			t.Errorf("the key leaked: %v %v", err, logs)
		}
		c := newStripeClient(StripeSettings{APIKey: bad, BaseURL: base, Timeout: sdk.Duration(10 * time.Second)}, nil, time.Millisecond)
		direct := c.do(t.Context(), nil, stripeRequest{method: "GET", path: "/v1/charges/ch_123456", what: "charge ch_123456"}, &stripeCharge{})
		if direct == nil || strings.Contains(direct.Error(), bad) {
			t.Errorf("client error %v", direct)
		}
	})
}
