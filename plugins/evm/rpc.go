package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// transport answers JSON-RPC calls: rpcClient over HTTP, or the sandbox's
// fixtures. result is decoded from the call's result ("null" leaves a
// pointer nil). An error is a *rpcError when the node answered with a
// JSON-RPC error object, an *sdk.ActionError when the request failed
// (rpc_unavailable, rate_limited, bad_response, rpc_error), or the
// context's error when the call's context ended.
type transport interface {
	call(ctx context.Context, method string, params []any, result any) error
}

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("error %d: %s", e.Code, e.Message) }

// rpcClient is a small JSON-RPC 2.0 client over HTTP for one chain's node.
// Its messages name the chain, never the URL: rpc_url may embed an API key.
type rpcClient struct {
	chain   string // the chain's name, for messages
	url     string
	secrets []string // parts of the URL that must never be printed
	timeout time.Duration
	http    *http.Client
	ids     atomic.Uint64
}

// maxResponse bounds an answer: a block with its transactions is the
// largest thing asked for.
const maxResponse = 64 << 20

func newRPCClient(chain, rawURL string, timeout time.Duration, hc *http.Client) *rpcClient {
	return &rpcClient{chain: chain, url: rawURL, secrets: urlSecrets(rawURL), timeout: timeout, http: hc}
}

// newHTTPClient is the plugin's HTTP client: no redirects (a JSON-RPC
// endpoint does not redirect; following one could carry a request where
// the operator did not mean it to go).
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type rpcRequest struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *rpcError       `json:"error"`
}

func (c *rpcClient) call(ctx context.Context, method string, params []any, result any) error {
	if params == nil {
		params = []any{}
	}
	id := c.ids.Add(1)
	body, err := json.Marshal(rpcRequest{JSONRPC: "2.0", ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("%s: %v", method, err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		// Never print err: it quotes the URL.
		return sdk.Error("rpc_error", "the rpc_url of %s is not a usable URL", c.chain)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.netError(method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return c.netError(method, err)
	}
	if len(raw) > maxResponse {
		return sdk.Retryable("bad_response", "the node for %s answered %s with more than %d MiB", c.chain, method, maxResponse>>20)
	}
	if resp.StatusCode != http.StatusOK {
		return c.statusError(method, resp.StatusCode, raw)
	}
	var r rpcResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return sdk.Retryable("bad_response", "the node for %s answered %s with malformed JSON (%d bytes): %s", c.chain, method, len(raw), c.redact(jsonProblem(err)))
	}
	if r.Error != nil {
		r.Error.Message = clip(c.redact(r.Error.Message), 300)
		return r.Error
	}
	if r.Result == nil {
		return sdk.Retryable("bad_response", "the node for %s answered %s with neither a result nor an error", c.chain, method)
	}
	if string(r.ID) != fmt.Sprint(id) {
		return sdk.Retryable("bad_response", "the node for %s answered %s with the id of another request", c.chain, method)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return sdk.Retryable("bad_response", "the node for %s answered %s with an unexpected result: %s", c.chain, method, c.redact(jsonProblem(err)))
	}
	return nil
}

// statusError explains an HTTP status other than 200.
func (c *rpcClient) statusError(method string, status int, body []byte) error {
	text := fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	switch {
	case status == http.StatusTooManyRequests:
		return sdk.Retryable("rate_limited", "the node for %s answered %s with %s: it limits our requests", c.chain, method, text)
	case status >= 500:
		return sdk.Retryable("rpc_unavailable", "the node for %s answered %s with %s", c.chain, method, text)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return sdk.Error("rpc_error", "the node for %s answered %s with %s: check the API key in rpc_url", c.chain, method, text)
	case status >= 300 && status < 400:
		return sdk.Error("rpc_error", "the node for %s answered %s with %s (a redirect): check rpc_url", c.chain, method, text)
	}
	// Some providers send a JSON-RPC error object with a 4xx status.
	var r rpcResponse
	if json.Unmarshal(body, &r) == nil && r.Error != nil {
		r.Error.Message = clip(c.redact(r.Error.Message), 300)
		return r.Error
	}
	return sdk.Error("rpc_error", "the node for %s answered %s with %s", c.chain, method, text)
}

// netError explains a failed HTTP exchange in words that name neither the
// URL nor its host: net/http's own messages quote the URL.
func (c *rpcClient) netError(method string, err error) error {
	var why string
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		why = fmt.Sprintf("did not answer %s within %s", method, c.timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "refused the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		why = fmt.Sprintf("closed the connection during %s", method)
	case errors.As(err, &dnsErr):
		why = "is unreachable: its host name does not resolve"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		why = "presented a TLS certificate that does not verify"
	case errors.As(err, &netErr) && netErr.Timeout():
		why = fmt.Sprintf("did not answer %s within %s", method, c.timeout)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		why = "is unreachable: " + clip(c.redact(err.Error()), 200)
	}
	return sdk.Retryable("rpc_unavailable", "the node for %s %s", c.chain, why)
}

// redact removes the URL and its parts that may be secret (user info,
// path segments, query values, host) from text that came from elsewhere.
func (c *rpcClient) redact(s string) string {
	for _, p := range c.secrets {
		s = strings.ReplaceAll(s, p, "[rpc_url]")
	}
	return s
}

// urlSecrets lists what of rawURL must never be printed, longest first.
func urlSecrets(rawURL string) []string {
	out := []string{rawURL}
	if u, err := url.Parse(rawURL); err == nil {
		out = append(out, u.Host, u.Hostname(), u.RawQuery, u.EscapedPath(), u.Path)
		if u.User != nil {
			out = append(out, u.User.String(), u.User.Username())
			if pw, ok := u.User.Password(); ok {
				out = append(out, pw)
			}
		}
		out = append(out, strings.Split(u.Path, "/")...)
		for _, vs := range u.Query() {
			out = append(out, vs...)
		}
	}
	seen := map[string]bool{}
	var keep []string
	for _, p := range out {
		// Short parts ("v3", "eth", "/") are not secrets, and replacing
		// them would garble messages.
		if len(p) >= 6 && !seen[p] {
			seen[p] = true
			keep = append(keep, p)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
	return keep
}

// jsonProblem words a decoding error without quoting the document.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
