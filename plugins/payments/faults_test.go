package main

// Fault tests of the stripe backend. stripe-mock always answers 200 with
// its fixtures (it cannot answer 5xx, 429, malformed JSON, 401 on demand,
// nor hang), so an httptest server stands in for Stripe here, scripted
// answer by answer. stripemock_test.go checks the requests and the
// decoding against the real stripe-mock.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

const testKey = "sk_test_51Hx9sEcretK3yThatMustNeverLeak"

// recorded is a request the stub got.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
	at           time.Time
}

// stub is a scripted Stripe: answer(n, w, r) writes the answer to the n-th
// request (from 1).
type stub struct {
	url  string
	mu   sync.Mutex
	reqs []recorded
}

func newStub(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *stub {
	t.Helper()
	s := &stub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body), time.Now()})
		n := len(s.reqs)
		s.mu.Unlock()
		w.Header().Set("Request-Id", fmt.Sprintf("req_%d", n))
		answer(n, w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *stub) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.reqs...)
}

// waitRequests returns how many requests the stub has recorded once it
// has n of them, or after a generous deadline. A client that gave up on
// an answer returns before the stub's handler may have run: the request
// is on its way, not yet recorded. A moment more lets a request too many
// show.
func (s *stub) waitRequests(t *testing.T, n int) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); len(s.requests()) < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	return len(s.requests())
}

// countingServer is a Stripe that answers nothing useful and counts the
// requests it got.
func countingServer(t *testing.T) (string, func() int) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "unexpected", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int { return int(n.Load()) }
}

// startStripe runs the plugin on the stripe backend at baseURL, with a
// short pause between internal retries.
func startStripe(t *testing.T, baseURL string, stripe map[string]any) *sdktest.Plugin {
	t.Helper()
	s := map[string]any{"api_key": testKey, "base_url": baseURL}
	for k, v := range stripe {
		s[k] = v
	}
	p := newPayments()
	p.retryBase = 10 * time.Millisecond
	return startPlugin(t, p, map[string]any{"backend": "stripe", "stripe": s})
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func stripeError(typ, code, msg string) string {
	return fmt.Sprintf(`{"error":{"type":%q,"code":%q,"message":%q}}`, typ, code, msg)
}

const intentJSON = `{"id":"pi_123456","object":"payment_intent","status":"succeeded","amount":2500,"amount_received":2500,
	"currency":"eur","created":1795166043,"description":null,"customer":"cus_1","livemode":false,"next_action":null,
	"last_payment_error":null,"latest_charge":{"id":"ch_123456","object":"charge","status":"succeeded","amount":2500,
	"amount_captured":2500,"amount_refunded":500,"currency":"eur","created":1763630045,"outcome":{"type":"authorized",
	"risk_level":"normal","seller_message":"Payment complete.","network_status":"approved_by_network","reason":null},
	"payment_method_details":{"type":"card","card":{"brand":"mastercard","last4":"4444","exp_month":4,"exp_year":2030,
	"country":"DE","funding":"debit","wallet":{"type":"apple_pay","apple_pay":{}}}}}}`

const refundJSON = `{"id":"re_123","object":"refund","status":"succeeded","amount":2500,"currency":"eur","payment_intent":"pi_123456","charge":"ch_123456"}`

func noKeyIn(t *testing.T, err error, logs []sdktest.Log) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Errorf("the API key is in the error: %v", err)
	}
	if strings.Contains(fmt.Sprint(logs), testKey) {
		t.Errorf("the API key is in the logs: %v", logs)
	}
}

func TestStripeRetriesA500(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			writeJSON(w, 500, stripeError("api_error", "", "An unknown error occurred"))
			return
		}
		writeJSON(w, 200, intentJSON)
	})
	p := startStripe(t, s.url, nil)
	out, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %v %v %v %v %v %v %v %v", out["id"], out["status"], out["amount_refunded"], out["amount_refundable"],
		out["latest_charge"], out["card"], out["created"], out["customer"], out["backend"])
	want := "pi_123456 succeeded 500 2000 ch_123456 map[brand:mastercard country:DE exp_month:4 exp_year:2030 funding:debit last4:4444 wallet:apple_pay] 2026-11-20T09:14:03Z cus_1 stripe"
	if got != want {
		t.Errorf("outputs\n got %s\nwant %s", got, want)
	}
	if len(s.requests()) != 2 || logs[1] != (sdktest.Log{Level: "warn", Message: "Stripe answered 500 Internal Server Error (request req_1) (try 1 of 3): retrying in 10ms"}) {
		t.Errorf("requests %d, logs %v", len(s.requests()), logs)
	}
	noKeyIn(t, err, logs)
}

func TestStripeGivesUpAfterMaxRetries(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 503, stripeError("api_error", "", "Stripe is temporarily unavailable"))
	})
	p := startStripe(t, s.url, nil)
	_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantError(t, err, "provider_unavailable", true,
		"Stripe answered 503 Service Unavailable three times to GET /v1/payment_intents/pi_123456: Stripe is temporarily unavailable (request req_3)")
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests, want 3 (max_retries 2)", n)
	}
	if len(logs) != 3 || logs[2].Message != "Stripe answered 503 Service Unavailable (request req_2) (try 2 of 3): retrying in 20ms" {
		t.Errorf("logs %v", logs)
	}
	noKeyIn(t, err, logs)

	// max_retries 0: one try.
	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 502, "<html>Bad gateway</html>") })
	p = startStripe(t, s.url, map[string]any{"max_retries": 0})
	_, _, err = p.Execute("get_authorization", map[string]any{"authorization_id": "iauth_123456"})
	sdktest.WantError(t, err, "provider_unavailable", true, "Stripe answered 502 Bad Gateway once to GET /v1/issuing/authorizations/iauth_123456: <html>Bad gateway</html> (request req_1)")

	// Different answers each time.
	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []int{500, 502, 429}[n-1], stripeError("api_error", "", "busy"))
	})
	p = startStripe(t, s.url, nil)
	_, _, err = p.Execute("list_payment_attempts", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantError(t, err, "rate_limited", true, "Stripe failed three times on GET /v1/charges (500, 502, 429); last: Stripe answered 429 Too Many Requests (request req_3): busy")
}

func TestStripeHonoursRetryAfter(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, stripeError("invalid_request_error", "rate_limit", "Too many requests"))
			return
		}
		writeJSON(w, 200, intentJSON)
	})
	p := startStripe(t, s.url, nil)
	out, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	if err != nil || out["id"] != "pi_123456" {
		t.Fatalf("%v %v", out, err)
	}
	reqs := s.requests()
	if len(reqs) != 2 || reqs[1].at.Sub(reqs[0].at) < time.Second {
		t.Errorf("%d requests; the second did not wait for Retry-After", len(reqs))
	}
	if logs[1].Message != "Stripe answered 429 Too Many Requests (request req_1) (try 1 of 3): retrying in 1s" {
		t.Errorf("logs %v", logs)
	}
}

func TestStripeRetryAfterBeyondTheDeadline(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "20")
		writeJSON(w, 429, stripeError("invalid_request_error", "rate_limit", "Too many requests"))
	})
	p := startStripe(t, s.url, nil)
	// Waiting the 20s would end at the step's deadline: the call ends
	// before it, at once.
	deadline := time.Now().Add(15 * time.Second)
	_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"}, sdktest.Deadline(deadline))
	sdktest.WantError(t, err, "rate_limited", true, "Stripe answered 429 Too Many Requests once to GET /v1/payment_intents/pi_123456: Too many requests (rate_limit) (request req_1)")
	if !time.Now().Before(deadline) || len(s.requests()) != 1 {
		t.Errorf("it waited for a Retry-After past the deadline")
	}
	if logs[1].Message != "Stripe answered 429 Too Many Requests (request req_1) (try 1 of 3): no time left before the step's deadline to wait 20s" {
		t.Errorf("logs %v", logs)
	}
}

func TestPause(t *testing.T) {
	c := &stripeClient{retryBase: 500 * time.Millisecond}
	for _, x := range []struct {
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, -1, 500 * time.Millisecond}, {2, -1, time.Second}, {3, -1, 2 * time.Second}, {5, -1, 5 * time.Second},
		{1, 3 * time.Second, 3 * time.Second}, {1, 0, 0}, {1, 2 * time.Minute, 30 * time.Second},
	} {
		if got := c.pause(x.n, &try{retryAfter: x.retryAfter}); got != x.want {
			t.Errorf("pause(%d, Retry-After %s) = %s, want %s", x.n, x.retryAfter, got, x.want)
		}
	}
}

func TestStripeBadResponses(t *testing.T) {
	for _, c := range []struct {
		action, id, body, want string
	}{
		{"get_payment", "pi_123456", `{"id":"pi_123456","object":`,
			"Stripe answered GET /v1/payment_intents/pi_123456 with malformed JSON: unexpected end of JSON input (request req_1)"},
		{"get_payment", "ch_123456", `<html>maintenance</html>`,
			"Stripe answered GET /v1/charges/ch_123456 with malformed JSON: invalid character '<' looking for beginning of value (request req_1)"},
		{"get_payment", "pi_123456", `{"amount":"lots"}`,
			"Stripe answered GET /v1/payment_intents/pi_123456 with malformed JSON: json: cannot unmarshal string into Go struct field stripePaymentIntent.amount of type int64 (request req_1)"},
		{"get_payment", "pi_123456", `{}`,
			`Stripe answered GET /v1/payment_intents/pi_123456 with an unexpected object (object "", id ""), expected payment_intent`},
		{"get_authorization", "iauth_123456", `{"id":"ch_1","object":"charge"}`,
			`Stripe answered GET /v1/issuing/authorizations/iauth_123456 with an unexpected object (object "charge", id "ch_1"), expected issuing.authorization`},
		{"list_payment_attempts", "pi_123456", `{"object":"list","data":[{"id":"pi_1","object":"payment_intent"}]}`,
			`Stripe answered GET /v1/charges with an unexpected object (object "payment_intent", id "pi_1"), expected charge in the list`},
	} {
		s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, c.body) })
		p := startStripe(t, s.url, nil)
		with := map[string]any{"payment_id": c.id}
		if c.action == "get_authorization" {
			with = map[string]any{"authorization_id": c.id}
		}
		_, _, err := p.Execute(c.action, with)
		sdktest.WantError(t, err, "bad_response", true, c.want)
		if n := len(s.requests()); n != 1 {
			t.Errorf("%s: %d requests: a malformed answer is not retried inside the call", c.body, n)
		}
	}
}

func TestStripeTimeout(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers
	})
	// A timeout the request itself meets on a loaded machine: it reaches
	// the stub before the client gives up on the answer.
	p := startStripe(t, s.url, map[string]any{"timeout": "1s", "max_retries": 1})
	_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantError(t, err, "timeout", true, "Stripe did not answer GET /v1/payment_intents/pi_123456 in 1s, twice")
	if n := s.waitRequests(t, 2); n != 2 || logs[1].Message != "Stripe did not answer in 1s (try 1 of 2): retrying in 10ms" {
		t.Errorf("%d requests, logs %v", n, logs)
	}

	// The step's deadline comes first: the client returns the context's
	// error at once (the SDK reports it as the retryable timeout), without
	// trying again.
	c := newStripeClient(StripeSettings{APIKey: testKey, BaseURL: s.url, Timeout: sdk.Duration(10 * time.Second), MaxRetries: 2}, nil, time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	before := len(s.requests())
	err = c.do(ctx, nil, stripeRequest{method: "GET", path: "/v1/charges/ch_123456", what: "charge ch_123456"}, &stripeCharge{})
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "GET /v1/charges/ch_123456: waiting for Stripe: context deadline exceeded" ||
		s.waitRequests(t, before+1) != before+1 {
		t.Errorf("%v", err)
	}
}

func TestStripeUnreachable(t *testing.T) {
	addr := peertest.RefusedAddr(t) // nothing listens there, nor can another process
	p := startStripe(t, "http://"+addr, nil)
	_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantErrorContaining(t, err, "provider_unavailable", true, "could not reach Stripe for GET /v1/payment_intents/pi_123456, three times: dial tcp "+addr)
	noKeyIn(t, err, logs)
}

func TestStripeAuthFailures(t *testing.T) {
	// Stripe's (and stripe-mock's) 401 message may quote the key: the
	// plugin never repeats it.
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, stripeError("invalid_request_error", "", "Invalid API Key provided: "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	})
	p := startStripe(t, s.url, nil)
	_, logs, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantError(t, err, "auth_failed", false,
		"Stripe refused the API key (401 Unauthorized) on GET /v1/payment_intents/pi_123456 (request req_1): check plugins.settings.payments.stripe.api_key")
	noKeyIn(t, err, logs)
	if len(s.requests()) != 1 {
		t.Error("a 401 was retried")
	}

	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, stripeError("invalid_request_error", "", "The provided key '"+testKey+"' does not have the required permissions"))
	})
	p = startStripe(t, s.url, nil)
	_, logs, err = p.Execute("refund", map[string]any{"payment_id": "pi_123456"})
	sdktest.WantError(t, err, "auth_failed", false,
		"the API key may not POST /v1/refunds (403 Forbidden) (request req_1): a restricted key needs access to it; check plugins.settings.payments.stripe.api_key")
	noKeyIn(t, err, logs)
}

func TestStripeRefusals(t *testing.T) {
	for _, c := range []struct {
		status     int
		body       string
		code, want string
	}{
		{404, stripeError("invalid_request_error", "resource_missing", "No such payment_intent: 'pi_123456'"), "not_found",
			"Stripe has no payment pi_123456: No such payment_intent: 'pi_123456' (resource_missing) (request req_1)"},
		{400, stripeError("invalid_request_error", "charge_already_refunded", "Charge ch_123456 has already been refunded."), "nothing_to_refund",
			"nothing to refund on payment pi_123456: Stripe says Charge ch_123456 has already been refunded. (charge_already_refunded) (request req_1)"},
		{400, `{"error":{"type":"invalid_request_error","code":"amount_too_large","param":"amount","message":"Refund amount (€30.00) is greater than unrefunded amount on charge (€25.00)"}}`, "invalid_request",
			"Stripe refused POST /v1/refunds (400 Bad Request): Refund amount (€30.00) is greater than unrefunded amount on charge (€25.00) (amount_too_large, param amount) (request req_1)"},
		{409, stripeError("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with."), "invalid_request",
			"Stripe refused POST /v1/refunds (409 Conflict): Keys for idempotent requests can only be used with the same parameters they were first used with. (request req_1)"},
	} {
		s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, c.status, c.body) })
		p := startStripe(t, s.url, nil)
		action, with := "refund", map[string]any{"payment_id": "pi_123456", "amount": 3000}
		if c.status == 404 {
			action, with = "get_payment", map[string]any{"payment_id": "pi_123456"}
		}
		_, _, err := p.Execute(action, with)
		sdktest.WantError(t, err, c.code, false, c.want)
	}
}

// TestStripeRetriesPostWithTheSameIdempotencyKey: a refund retried inside
// the call after 5xx answers sends the same Idempotency-Key and body each
// time, so that Stripe refunds once.
func TestStripeRetriesPostWithTheSameIdempotencyKey(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			writeJSON(w, 500, stripeError("api_error", "", "An unknown error occurred"))
		case 2:
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, stripeError("invalid_request_error", "lock_timeout", "busy"))
		default:
			writeJSON(w, 200, refundJSON)
		}
	})
	p := startStripe(t, s.url, nil)
	out, logs, err := p.Execute("refund", map[string]any{"payment_id": "pi_123456", "reason": "duplicate"}, sdktest.IdempotencyKey("run-9/refund"))
	if err != nil || fmt.Sprint(out) != "map[amount:2500 backend:stripe currency:eur payment_id:pi_123456 refund_id:re_123 status:succeeded]" {
		t.Fatalf("%v %v", out, err)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		h := r.header
		if r.method != "POST" || r.path != "/v1/refunds" || h.Get("Idempotency-Key") != "run-9/refund" || r.body != reqs[0].body ||
			h.Get("Content-Type") != "application/x-www-form-urlencoded" || h.Get("Authorization") != "Bearer "+testKey ||
			h.Get("Stripe-Version") != stripeVersion {
			t.Errorf("request %d: %s %s %v %q", i+1, r.method, r.path, h, r.body)
		}
	}
	if form, _ := url.ParseQuery(reqs[0].body); form.Encode() != "payment_intent=pi_123456&reason=duplicate" {
		t.Errorf("form %q", reqs[0].body)
	}
	noKeyIn(t, err, logs)

	// A charge and an amount.
	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, refundJSON) })
	p = startStripe(t, s.url, nil)
	if _, _, err := p.Execute("refund", map[string]any{"payment_id": "ch_123456", "amount": 700}); err != nil {
		t.Fatal(err)
	}
	if form, _ := url.ParseQuery(s.requests()[0].body); form.Encode() != "amount=700&charge=ch_123456&reason=requested_by_customer" {
		t.Errorf("form %v", form)
	}

	// No key, no refund: nothing is sent.
	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, refundJSON) })
	p = startStripe(t, s.url, nil)
	_, _, err = p.Execute("refund", map[string]any{"payment_id": "pi_123456"}, sdktest.IdempotencyKey(""))
	sdktest.WantError(t, err, "invalid_input", false, "no idempotency key: refusing to refund pi_123456, a retry could refund it twice")
	if len(s.requests()) != 0 {
		t.Error("a refund without a key was sent")
	}
}

// TestStripeClientRefusesAPostWithoutKey: the client itself, whoever
// calls it.
func TestStripeClientRefusesAPostWithoutKey(t *testing.T) {
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, refundJSON) })
	c := newStripeClient(StripeSettings{APIKey: testKey, BaseURL: s.url, Timeout: sdk.Duration(time.Second)}, nil, time.Millisecond)
	var out stripeRefund
	err := c.do(t.Context(), nil, stripeRequest{method: "POST", path: "/v1/refunds", params: url.Values{"charge": {"ch_1"}}}, &out)
	if err == nil || err.Error() != "no idempotency key: refusing to POST /v1/refunds without one, a retry could do it twice" || len(s.requests()) != 0 {
		t.Errorf("%v", err)
	}
}

func TestStripeOddAnswers(t *testing.T) {
	// A redirect is not followed: the key goes to base_url only.
	other, hits := countingServer(t)
	s := newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+"/v1/charges/ch_123456", http.StatusFound)
	})
	p := startStripe(t, s.url, nil)
	_, _, err := p.Execute("get_payment", map[string]any{"payment_id": "ch_123456"})
	sdktest.WantErrorContaining(t, err, "bad_response", true, "Stripe answered GET /v1/charges/ch_123456 with an unexpected 302 Found: ")
	if hits() != 0 {
		t.Error("the redirect was followed")
	}
	// An error object with nothing but a type.
	s = newStub(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 500, `{"error":{"type":"api_error"}}`)
	})
	p = startStripe(t, s.url, map[string]any{"max_retries": 0})
	_, _, err = p.Execute("get_payment", map[string]any{"payment_id": "ch_123456"})
	sdktest.WantError(t, err, "provider_unavailable", true, "Stripe answered 500 Internal Server Error once to GET /v1/charges/ch_123456: no details (error type api_error) (request req_1)")
}
