package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stewardhq/steward/plugins/internal/backoff"
	"github.com/stewardhq/steward/plugins/internal/httpmsg"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Limits of the client's internal retries and answers.
const (
	maxAnswer = 16 << 20 // bytes read of an answer
)

// zendeskClient speaks the Zendesk Ticketing API: JSON requests and
// answers, basic auth EMAIL/token:API_TOKEN. Its errors are sdk errors
// with the codes of docs/plugins-helpdesk.md; none quotes the token.
type zendeskClient struct {
	auth       string // the Authorization header
	token      string // to scrub
	baseURL    string // without a trailing slash
	timeout    time.Duration
	maxRetries int
	retryBase  time.Duration
	http       *http.Client
}

func newZendeskClient(s ZendeskSettings, transport http.RoundTripper, retryBase time.Duration) *zendeskClient {
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &zendeskClient{
		auth:       "Basic " + base64.StdEncoding.EncodeToString([]byte(s.Email+"/token:"+s.APIToken)),
		token:      s.APIToken,
		baseURL:    s.BaseURL,
		timeout:    s.Timeout.Std(),
		maxRetries: s.MaxRetries,
		retryBase:  retryBase,
		// An answer that redirects is not followed: the token goes to
		// base_url only.
		http: &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// request is one API request.
type request struct {
	method string
	path   string // /api/v2/tickets/1.json, with its query; or a full URL of base_url (a next page)
	body   any    // JSON; nil for none
	what   string // what is asked for, for messages: "ticket 1"
	// once: not retried inside the call (posting a comment: the caller
	// checks for it before trying again).
	once bool
}

func (r request) String() string {
	p, _, _ := strings.Cut(r.path, "?")
	return r.method + " " + p
}

// outcome is one HTTP exchange.
type outcome struct {
	status     int // 0: no answer
	timedOut   bool
	netErr     error
	retryAfter time.Duration // -1: none
	body       []byte
}

func (o *outcome) retryable() bool {
	return o.timedOut || o.netErr != nil || o.status == http.StatusTooManyRequests || o.status == http.StatusConflict || o.status >= 500
}

func (o *outcome) code() string {
	switch {
	case o.timedOut:
		return "timeout"
	case o.status == http.StatusTooManyRequests:
		return "rate_limited"
	case o.status == http.StatusConflict:
		return "conflict"
	}
	return "provider_unavailable"
}

// do sends req, retries what may be retried, and decodes the answer into
// out.
func (c *zendeskClient) do(ctx context.Context, call *sdk.Call, req request, out any) error {
	tries := c.maxRetries + 1
	if req.once {
		tries = 1
	}
	for n := 1; ; n++ {
		o := c.once(ctx, req)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: waiting for Zendesk: %w", req, err)
		}
		if o.status >= 200 && o.status < 300 {
			if out == nil || len(bytes.TrimSpace(o.body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(o.body, out); err != nil {
				return sdk.Retryable("bad_response", "Zendesk answered %s with malformed JSON: %s", req, c.scrub(err.Error()))
			}
			return nil
		}
		if !o.retryable() {
			return c.refusal(req, o)
		}
		if n >= tries {
			return sdk.Retryable(o.code(), "%s", c.describe(req, o, n))
		}
		wait := c.pause(n, o)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return sdk.Retryable(o.code(), "%s; no time left before the step's deadline to wait %s", c.describe(req, o, n), wait)
		}
		call.Warnf("%s (try %d of %d): retrying in %s", c.describe(req, o, 1), n, tries, wait)
		if !sleep(ctx, wait) {
			return fmt.Errorf("%s: waiting to retry: %w", req, ctx.Err())
		}
	}
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// once makes one HTTP exchange, within the client's timeout.
func (c *zendeskClient) once(ctx context.Context, req request) *outcome {
	o := &outcome{retryAfter: -1}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := req.path
	if !strings.HasPrefix(u, c.baseURL+"/") {
		u = c.baseURL + req.path
	}
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			o.netErr = err
			return o
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		o.netErr = err
		return o
	}
	hr.Header.Set("Authorization", c.auth)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "steward-plugin-helpdesk/"+version)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(hr)
	if err == nil {
		defer resp.Body.Close()
		o.body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		o.status = resp.StatusCode
		o.retryAfter = backoff.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		o.status, o.timedOut = 0, true
	default:
		o.status = 0
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the request's description
		}
		o.netErr = err
	}
	return o
}

// pause is how long to wait after the n-th try failed: Zendesk's
// Retry-After, or a doubling pause (see backoff.Pause).
func (c *zendeskClient) pause(n int, o *outcome) time.Duration {
	return backoff.Pause(n, o.retryAfter, c.retryBase)
}

// describe says what a retryable failure was, after n tries.
func (c *zendeskClient) describe(req request, o *outcome, n int) string {
	times := ""
	if n > 1 {
		times = fmt.Sprintf(" (%d tries)", n)
	}
	switch {
	case o.timedOut:
		return fmt.Sprintf("Zendesk did not answer %s in %s%s", req, c.timeout, times)
	case o.netErr != nil:
		return fmt.Sprintf("could not reach Zendesk for %s%s: %s", req, times, c.scrub(o.netErr.Error()))
	case o.status == http.StatusTooManyRequests:
		return fmt.Sprintf("Zendesk rate-limited %s (429 Too Many Requests)%s", req, times)
	}
	return fmt.Sprintf("Zendesk answered %s to %s%s: %s", httpmsg.Status(o.status), req, times, c.detail(o))
}

// zendeskError is the error body of Zendesk's answers: {"error":
// "RecordNotFound", "description": "Not found"}, with details for a 422;
// error may also be an object {"title", "message"}.
type zendeskError struct {
	Error       json.RawMessage `json:"error"`
	Description string          `json:"description"`
	Details     map[string][]struct {
		Description string `json:"description"`
	} `json:"details"`
}

// detail is what Zendesk said in a failed answer.
func (c *zendeskClient) detail(o *outcome) string {
	var e zendeskError
	if json.Unmarshal(o.body, &e) != nil || (len(e.Error) == 0 && e.Description == "") {
		return c.scrub(httpmsg.Snippet(o.body))
	}
	var parts []string
	var name string
	var obj struct{ Title, Message string }
	switch {
	case json.Unmarshal(e.Error, &name) == nil && name != "":
		parts = append(parts, name)
	case json.Unmarshal(e.Error, &obj) == nil && (obj.Title != "" || obj.Message != ""):
		parts = append(parts, strings.TrimSpace(obj.Title+" "+obj.Message))
	}
	if e.Description != "" {
		parts = append(parts, e.Description)
	}
	for _, field := range slices.Sorted(maps.Keys(e.Details)) {
		for _, d := range e.Details[field] {
			parts = append(parts, field+": "+d.Description)
		}
	}
	return c.scrub(strings.Join(parts, "; "))
}

// refusal is the error of an answer that trying again will not change. A
// 401 or 403 quotes nothing Zendesk said: it may echo the credentials.
func (c *zendeskClient) refusal(req request, o *outcome) error {
	switch {
	case o.status == http.StatusUnauthorized:
		return sdk.Error("auth_failed", "Zendesk refused the credentials (401 Unauthorized) on %s: check plugins.settings.helpdesk.zendesk.email and api_token", req)
	case o.status == http.StatusForbidden:
		return sdk.Error("auth_failed", "the agent of plugins.settings.helpdesk.zendesk.email may not %s (403 Forbidden)", req)
	case o.status == http.StatusNotFound:
		return sdk.Error("not_found", "Zendesk has no %s (404 Not Found)", req.what)
	case o.status == http.StatusUnprocessableEntity:
		return sdk.Error("invalid_request", "Zendesk refused %s (422 Unprocessable Entity): %s", req, c.detail(o))
	case o.status >= 400 && o.status < 500:
		return sdk.Error("invalid_request", "Zendesk refused %s (%s): %s", req, httpmsg.Status(o.status), c.detail(o))
	}
	return sdk.Retryable("bad_response", "Zendesk answered %s with an unexpected %s: %s", req, httpmsg.Status(o.status), c.detail(o))
}

// scrub takes the API token out of a text from elsewhere.
func (c *zendeskClient) scrub(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[api token]")
}
