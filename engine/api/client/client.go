// Package client calls the HTTP API of steward serve (package api) for
// the CLI's --server mode. Its methods return the types the API's
// handlers answer with (runs.Document, runs.Summary, api.Event, …), so
// that a command renders a run followed over HTTP as it renders one read
// from the journal or executed in its own process.
//
// Errors: a server that cannot be reached is an *UnreachableError; an
// answer of problem+json is a *ProblemError carrying its status, type,
// title, detail and field errors.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/api"
)

// Defaults of Config.
const (
	DefaultTimeout = 2 * time.Minute
	DefaultRetries = 10
	DefaultBackoff = 200 * time.Millisecond
	// DefaultIdle is how long an event stream may say nothing before it
	// is taken as lost: the server sends a comment every 15s.
	DefaultIdle = 45 * time.Second
)

// Config says which server to call, as whom.
type Config struct {
	// URL is the server's base URL, as http://host:8080; a path is
	// kept as a prefix of /api/v1.
	URL string
	// Token is the bearer token (steward tokens create).
	Token string
	// Timeout bounds each call but the streams (events, export);
	// default DefaultTimeout.
	Timeout time.Duration
	// Retries is how many times in a row an event stream is connected
	// again after it broke without news; default DefaultRetries.
	Retries int
	// Backoff is the wait before the first reconnection, doubled up to
	// 16 times it for the next; default DefaultBackoff.
	Backoff time.Duration
	// Idle: default DefaultIdle.
	Idle time.Duration
	// HTTP is the client to use; default one with dial and header
	// timeouts.
	HTTP *http.Client
}

// Client calls one server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
}

// ErrConfig: the Config cannot make a client.
var ErrConfig = errors.New("client: bad configuration")

// New returns the client of cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: the server URL %q is not http(s)://HOST[:PORT]", ErrConfig, cfg.URL)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: no token", ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries <= 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   4,
		}}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + api.Prefix
	return &Client{cfg: cfg, base: u}, nil
}

// Close closes the connections kept for the next calls.
func (c *Client) Close() { c.cfg.HTTP.CloseIdleConnections() }

// URL is the server's URL as configured.
func (c *Client) URL() string { return c.cfg.URL }

// UnreachableError: no answer from the server (it does not listen, the
// name does not resolve, the connection broke, the call timed out).
type UnreachableError struct {
	URL string
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach steward serve at %s: %v", e.URL, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ProblemError is an error answer of the API (problem+json, RFC 9457).
type ProblemError struct {
	api.Problem
}

func (e *ProblemError) Error() string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Title
}

// Slug is the problem's kind: its type after urn:steward:problem: (as
// "run-not-found"), or "" for about:blank.
func (e *ProblemError) Slug() string {
	return strings.TrimPrefix(e.Type, "urn:steward:problem:")
}

// request makes a request of path (under /api/v1) with query q and body
// in as JSON (none when nil).
func (c *Client) request(ctx context.Context, method, path string, q url.Values, in any) (*http.Request, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// do sends req and returns the response of a 2xx status; any other is
// read as a problem.
func (c *Client) do(req *http.Request) (*http.Response, error) {
	res, err := c.cfg.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil && !errors.Is(ctxErr, context.DeadlineExceeded) {
			return nil, ctxErr // the caller gave up
		}
		return nil, &UnreachableError{URL: c.cfg.URL, Err: unwrapURL(err)}
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		return res, nil
	}
	defer res.Body.Close()
	return nil, readProblem(res)
}

// unwrapURL drops url.Error's "Get "URL": " before the cause: the
// message names the server once.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer in time (%w)", ue.Err)
		}
		return ue.Err
	}
	return err
}

// readProblem reads an error answer.
func readProblem(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var p api.Problem
	if err := json.Unmarshal(b, &p); err != nil || p.Status == 0 {
		detail := strings.TrimSpace(string(b))
		if len(detail) > 200 {
			detail = detail[:200] + "…"
		}
		if detail == "" {
			detail = http.StatusText(res.StatusCode)
		}
		p = api.Problem{Type: "about:blank", Title: http.StatusText(res.StatusCode), Detail: detail}
	}
	p.Status = res.StatusCode
	return &ProblemError{Problem: p}
}

// call makes a call answered by JSON into out (nil: the body is
// dropped), within the configured timeout.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := c.request(ctx, method, path, q, in)
	if err != nil {
		return err
	}
	res, err := c.do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return &UnreachableError{URL: c.cfg.URL, Err: fmt.Errorf("reading the answer to %s %s: %w", method, path, err)}
	}
	return nil
}
