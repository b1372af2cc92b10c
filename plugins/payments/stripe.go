package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stewardhq/steward/plugins/internal/backoff"
	"github.com/stewardhq/steward/plugins/internal/httpmsg"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// stripeVersion is the Stripe API version every request asks for, so that
// the shapes this plugin reads do not change under it when the account's
// default version moves. It is the version of the OpenAPI spec stripe-mock
// serves (the conformance tests run against it).
const stripeVersion = "2026-08-26.dahlia"

// Limits of the client's answers (its retries: plugins/internal/backoff).
const (
	maxBody = 16 << 20 // bytes read of an answer
)

// stripeClient speaks Stripe's HTTP API: form-encoded requests, Bearer
// auth, a pinned Stripe-Version, JSON answers. It retries 429s, 5xx and
// timeouts up to maxRetries times inside one call, which is safe because
// every POST carries its Idempotency-Key. Its errors are sdk errors with
// the codes of docs/plugins-payments.md; none quotes the API key.
type stripeClient struct {
	key        string
	baseURL    string // without a trailing slash
	timeout    time.Duration
	maxRetries int
	retryBase  time.Duration
	http       *http.Client
}

func newStripeClient(s StripeSettings, transport http.RoundTripper, retryBase time.Duration) *stripeClient {
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &stripeClient{
		key:        s.APIKey,
		baseURL:    strings.TrimRight(s.BaseURL, "/"),
		timeout:    s.Timeout.Std(),
		maxRetries: s.MaxRetries,
		retryBase:  retryBase,
		// Stripe does not redirect: an answer that does is not followed,
		// so that the key is sent to base_url only.
		http: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// stripeRequest is one API request.
type stripeRequest struct {
	method         string
	path           string     // /v1/charges
	params         url.Values // the query of a GET, the form of a POST
	idempotencyKey string     // required for a POST
	what           string     // what is asked for, for messages: "payment pi_123"
}

func (r stripeRequest) String() string { return r.method + " " + r.path }

// stripeAPIError is the error object of Stripe's answers.
type stripeAPIError struct {
	Type        string `json:"type"`
	Code        string `json:"code"`
	DeclineCode string `json:"decline_code"`
	Message     string `json:"message"`
	Param       string `json:"param"`
	// NetworkDeclineCode, AdviceCode and NetworkAdviceCode are set in a
	// PaymentIntent's last_payment_error.
	NetworkDeclineCode string `json:"network_decline_code"`
	AdviceCode         string `json:"advice_code"`
	NetworkAdviceCode  string `json:"network_advice_code"`
}

// try is the outcome of one HTTP exchange.
type try struct {
	status     int           // 0: no answer
	timedOut   bool          // no answer within the timeout
	netErr     error         // no answer for another reason
	retryAfter time.Duration // -1 when the answer has no Retry-After
	requestID  string
	body       []byte
	apiErr     stripeAPIError // when the body has one
}

// retryable says whether trying again inside the call may help.
func (t *try) retryable() bool {
	return t.timedOut || t.netErr != nil || t.status == http.StatusTooManyRequests || t.status >= 500
}

// code is the error code of a retryable failure.
func (t *try) code() string {
	switch {
	case t.timedOut:
		return "timeout"
	case t.status == http.StatusTooManyRequests:
		return "rate_limited"
	}
	return "provider_unavailable"
}

// do sends req, retries what may be retried, and decodes the answer into
// out.
func (c *stripeClient) do(ctx context.Context, call *sdk.Call, req stripeRequest, out any) error {
	if req.method == http.MethodPost && req.idempotencyKey == "" {
		return sdk.Error(sdk.CodeInvalidInput, "no idempotency key: refusing to %s without one, a retry could do it twice", req)
	}
	tries := c.maxRetries + 1
	var fails []*try
	for n := 1; ; n++ {
		t := c.once(ctx, req)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: waiting for Stripe: %w", req, err)
		}
		if t.status >= 200 && t.status < 300 {
			if err := json.Unmarshal(t.body, out); err != nil {
				return sdk.Retryable("bad_response", "Stripe answered %s with malformed JSON: %s%s", req, c.scrub(err.Error()), requestRef(t.requestID))
			}
			return nil
		}
		if !t.retryable() {
			return c.refusal(req, t)
		}
		fails = append(fails, t)
		if n >= tries {
			return c.exhausted(req, fails)
		}
		wait := c.pause(n, t)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			call.Warnf("%s (try %d of %d): no time left before the step's deadline to wait %s", c.describe(t), n, tries, wait)
			return c.exhausted(req, fails)
		}
		call.Warnf("%s (try %d of %d): retrying in %s", c.describe(t), n, tries, wait)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%s: waiting to retry: %w", req, ctx.Err())
		case <-timer.C:
		}
	}
}

// once makes one HTTP exchange, within the client's timeout.
func (c *stripeClient) once(ctx context.Context, req stripeRequest) *try {
	t := &try{retryAfter: -1}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.baseURL + req.path
	var body io.Reader
	if req.method == http.MethodGet {
		if len(req.params) > 0 {
			u += "?" + req.params.Encode()
		}
	} else {
		body = strings.NewReader(req.params.Encode())
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		t.netErr = err
		return t
	}
	hr.Header.Set("Authorization", "Bearer "+c.key)
	hr.Header.Set("Stripe-Version", stripeVersion)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "steward-plugin-payments/"+version)
	if req.method != http.MethodGet {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		hr.Header.Set("Idempotency-Key", req.idempotencyKey)
	}
	resp, err := c.http.Do(hr)
	if err == nil {
		defer resp.Body.Close()
		t.body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		t.status = resp.StatusCode
		t.requestID = resp.Header.Get("Request-Id")
		t.retryAfter = backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.status, t.timedOut = 0, true
		return t
	default:
		t.status = 0
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the request's description
		}
		t.netErr = err
		return t
	}
	if t.status < 200 || t.status >= 300 {
		var e struct {
			Error *stripeAPIError `json:"error"`
		}
		if json.Unmarshal(t.body, &e) == nil && e.Error != nil {
			t.apiErr = *e.Error
		}
	}
	return t
}

// pause is how long to wait after the n-th try failed with t: Stripe's
// Retry-After, or a doubling pause (see backoff.Pause).
func (c *stripeClient) pause(n int, t *try) time.Duration {
	return backoff.Pause(n, t.retryAfter, c.retryBase)
}

// describe says what one failed try got, for a log line.
func (c *stripeClient) describe(t *try) string {
	switch {
	case t.timedOut:
		return fmt.Sprintf("Stripe did not answer in %s", c.timeout)
	case t.netErr != nil:
		return "could not reach Stripe: " + c.scrub(t.netErr.Error())
	}
	return fmt.Sprintf("Stripe answered %s%s", httpmsg.Status(t.status), requestRef(t.requestID))
}

// detail is what Stripe said in a failed answer: its error message, or the
// start of the body.
func (c *stripeClient) detail(t *try) string {
	var parts []string
	if t.apiErr.Code != "" {
		parts = append(parts, t.apiErr.Code)
	}
	if t.apiErr.Param != "" {
		parts = append(parts, "param "+t.apiErr.Param)
	}
	msg := t.apiErr.Message
	if msg == "" && t.apiErr.Type == "" {
		msg = httpmsg.Snippet(t.body)
	}
	s := strings.Join(parts, ", ")
	switch {
	case s != "" && msg != "":
		s = msg + " (" + s + ")"
	case msg != "":
		s = msg
	case s == "":
		s = "no details (error type " + t.apiErr.Type + ")"
	}
	return c.scrub(s)
}

// refusal is the error of an answer that trying again will not change.
// A 401 or 403 says nothing Stripe said: its message may echo the key.
func (c *stripeClient) refusal(req stripeRequest, t *try) error {
	ref := requestRef(t.requestID)
	switch {
	case t.status == http.StatusUnauthorized:
		return sdk.Error("auth_failed", "Stripe refused the API key (401 Unauthorized) on %s%s: check plugins.settings.payments.stripe.api_key", req, ref)
	case t.status == http.StatusForbidden:
		return sdk.Error("auth_failed", "the API key may not %s (403 Forbidden)%s: a restricted key needs access to it; check plugins.settings.payments.stripe.api_key", req, ref)
	case t.status == http.StatusNotFound:
		return sdk.Error("not_found", "Stripe has no %s: %s%s", req.what, c.detail(t), ref)
	case t.apiErr.Code == "charge_already_refunded":
		return sdk.Error("nothing_to_refund", "nothing to refund on %s: Stripe says %s%s", req.what, c.detail(t), ref)
	case t.status >= 400 && t.status < 500:
		return sdk.Error("invalid_request", "Stripe refused %s (%s): %s%s", req, httpmsg.Status(t.status), c.detail(t), ref)
	}
	return sdk.Retryable("bad_response", "Stripe answered %s with an unexpected %s: %s%s", req, httpmsg.Status(t.status), c.detail(t), ref)
}

// exhausted is the retryable error after the last try failed: it says
// what Stripe answered each time, so that a specialist can escalate with
// it.
func (c *stripeClient) exhausted(req stripeRequest, fails []*try) error {
	last := fails[len(fails)-1]
	n := timesWord(len(fails))
	same := true
	for _, f := range fails {
		if f.status != last.status || f.timedOut != last.timedOut || (f.netErr == nil) != (last.netErr == nil) {
			same = false
		}
	}
	var msg string
	switch {
	case same && last.timedOut:
		msg = fmt.Sprintf("Stripe did not answer %s in %s, %s", req, c.timeout, n)
	case same && last.netErr != nil:
		msg = fmt.Sprintf("could not reach Stripe for %s, %s: %s", req, n, c.scrub(last.netErr.Error()))
	case same:
		msg = fmt.Sprintf("Stripe answered %s %s to %s: %s%s", httpmsg.Status(last.status), n, req, c.detail(last), requestRef(last.requestID))
	default:
		var seen []string
		for _, f := range fails {
			switch {
			case f.timedOut:
				seen = append(seen, "no answer in "+c.timeout.String())
			case f.netErr != nil:
				seen = append(seen, "unreachable")
			default:
				seen = append(seen, strconv.Itoa(f.status))
			}
		}
		msg = fmt.Sprintf("Stripe failed %s on %s (%s); last: %s", n, req, strings.Join(seen, ", "), c.describe(last))
		if last.status != 0 {
			msg += ": " + c.detail(last)
		}
	}
	return sdk.Retryable(last.code(), "%s", msg)
}

// scrub takes the API key out of a text from elsewhere.
func (c *stripeClient) scrub(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[api key]")
}

func requestRef(id string) string {
	if id == "" {
		return ""
	}
	return " (request " + id + ")"
}

func timesWord(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	words := []string{"", "", "", "three", "four", "five", "six"}
	if n < len(words) {
		return words[n] + " times"
	}
	return strconv.Itoa(n) + " times"
}
