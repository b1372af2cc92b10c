package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stewardhq/steward/plugins/internal/httpmsg"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Error codes of the actions, besides the SDK's (invalid_input,
// not_configured, timeout). docs/plugins-observability.md lists them.
const (
	codeInvalidQuery = "invalid_query" // the backend refused the query (400, 422)
	codeAuthFailed   = "auth_failed"   // 401, 403
	codeRateLimited  = "rate_limited"  // 429: retryable, the message says when
	codeUnavailable  = "unavailable"   // 5xx, connection refused: retryable
	codeBadResponse  = "bad_response"  // not the documented shape, or too large
)

// maxBody is the most a backend's answer may weigh: the actions return
// small tables, and a larger answer means the query is too wide.
const maxBody = 4 << 20

// client sends the JSON requests of one backend and turns its failures
// into the actions' errors, naming the backend and never quoting a
// credential.
type client struct {
	backend string // prometheus, datadog, elasticsearch: in messages
	base    string // the API's address, without a trailing /
	timeout time.Duration
	http    *http.Client
	header  http.Header // credentials and fixed headers
}

func newClient(backend, base string, timeout time.Duration, rt http.RoundTripper, header http.Header) *client {
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &client{backend: backend, base: strings.TrimRight(base, "/"), timeout: timeout,
		http: &http.Client{Timeout: timeout, Transport: rt}, header: header}
}

// do sends method path (with form, a url-encoded body, or body, a JSON
// body) and decodes the answer's JSON into out. errBody, when not nil,
// decodes an error answer to find the backend's own message.
func (c *client) do(ctx context.Context, method, path string, query url.Values, body any, out any, errMsg func([]byte) string) error {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("%s request: %v", c.backend, err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return sdk.Error(sdk.CodeNotConfigured, "%s: cannot make a request to %s: %v", c.backend, redactURL(c.base), err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "steward-plugin-observability/"+version)
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return c.transportError(ctx, err)
	}
	if len(b) > maxBody {
		return sdk.Error(codeBadResponse, "%s answered more than %d MiB: narrow the query (fewer series, a shorter window)", c.backend, maxBody>>20)
	}
	if resp.StatusCode/100 != 2 {
		return c.statusError(resp, b, errMsg)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return sdk.Error(codeBadResponse, "%s answered %d with a body that is not the expected JSON (%v): %s", c.backend, resp.StatusCode, err, httpmsg.Snippet(b))
	}
	return nil
}

func (c *client) transportError(ctx context.Context, err error) error {
	var ue *url.Error
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", c.backend, ctx.Err())
	case errors.As(err, &ue) && ue.Timeout():
		return sdk.Retryable(sdk.CodeTimeout, "%s did not answer within %s (%s.timeout): it may be overloaded; try again, or narrow the query", c.backend, c.timeout, c.backend)
	}
	msg := err.Error()
	if errors.As(err, &ue) {
		msg = ue.Err.Error()
	}
	return sdk.Retryable(codeUnavailable, "could not reach %s at %s: %s", c.backend, redactURL(c.base), msg)
}

func (c *client) statusError(resp *http.Response, b []byte, errMsg func([]byte) string) error {
	code := resp.StatusCode
	detail := ""
	if errMsg != nil {
		detail = errMsg(b)
	}
	if detail == "" {
		detail = httpmsg.Snippet(b)
	}
	status := fmt.Sprintf("%d %s", code, http.StatusText(code))
	if detail != "" {
		status += ": " + detail
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return sdk.Error(codeAuthFailed, "%s refused the credentials (%s): check plugins.settings.observability.%s", c.backend, status, c.backend)
	case code == http.StatusTooManyRequests:
		return sdk.Retryable(codeRateLimited, "%s is rate limiting us (%s): try again %s", c.backend, status, retryAfter(resp.Header.Get("Retry-After")))
	case code >= 500:
		return sdk.Retryable(codeUnavailable, "%s failed (%s): try again later", c.backend, status)
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return sdk.Error(codeInvalidQuery, "%s refused the query (%s)", c.backend, status)
	case code == http.StatusNotFound:
		return sdk.Error(sdk.CodeNotConfigured, "%s has nothing at %s (%s): check plugins.settings.observability.%s", c.backend, redactURL(resp.Request.URL.Redacted()), status, c.backend)
	}
	return sdk.Error(codeBadResponse, "%s answered %s", c.backend, status)
}

// retryAfter says when to try again from a Retry-After header (seconds or
// an HTTP date).
func retryAfter(h string) string {
	if h == "" {
		return "later"
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n >= 0 {
		return "in " + (time.Duration(n) * time.Second).String() + " (Retry-After)"
	}
	if t, err := http.ParseTime(h); err == nil {
		return "after " + t.UTC().Format(time.RFC3339) + " (Retry-After)"
	}
	return "later"
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
