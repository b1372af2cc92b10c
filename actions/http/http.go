package httpaction

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/actions"
)

// Name is the action's name in runbooks.
const Name = "http.request"

const (
	defaultTimeout  = 30 * time.Second
	defaultMaxBytes = 10 << 20  // 10 MiB
	maxMaxBytes     = 100 << 20 // 100 MiB
	maxRedirects    = 5

	// Transport limits. The input's timeout bounds the whole exchange;
	// these only stop one phase from hanging on its own.
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 5 * time.Minute
)

// action is http.request. It is safe for concurrent use.
type action struct {
	userAgent string
	client    *http.Client
}

var (
	_ actions.RequestMutator    = (*action)(nil)
	_ actions.RequestIdempotent = (*action)(nil)
)

// New returns the http.request action. userAgent is sent as User-Agent
// unless the step sets that header; empty leaves Go's default.
func New(userAgent string) actions.Action {
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ResponseHeaderTimeout: responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		ForceAttemptHTTP2:     true,
	}
	return &action{
		userAgent: userAgent,
		client:    &http.Client{Transport: tr, CheckRedirect: checkRedirect},
	}
}

// noFollowKey marks, in a request's context, a request whose redirects
// must not be followed.
type noFollowKey struct{}

var errTooManyRedirects = errors.New("too many redirects")

func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.Context().Value(noFollowKey{}) != nil {
		return http.ErrUseLastResponse
	}
	if len(via) > maxRedirects {
		return errTooManyRedirects
	}
	return nil
}

// Spec implements actions.Action.
func (a *action) Spec() actions.Spec { return spec }

// Mutates implements actions.RequestMutator: GET, HEAD and OPTIONS (and a
// with without method, which means GET) do not mutate; anything else may.
func (a *action) Mutates(with map[string]any) bool {
	m, ok := with["method"]
	if !ok || m == nil {
		return false
	}
	s, ok := m.(string)
	if !ok {
		return true
	}
	switch strings.ToUpper(s) {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// Idempotent implements actions.RequestIdempotent: methods that do not
// mutate, and PUT and DELETE (idempotent by RFC 9110), may be sent again;
// POST and PATCH may not, even though Steward sends them an
// Idempotency-Key header, because not every server honours it.
func (a *action) Idempotent(with map[string]any) bool {
	if !a.Mutates(with) {
		return true
	}
	s, _ := with["method"].(string)
	switch strings.ToUpper(s) {
	case http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Execute implements actions.Action.
func (a *action) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	var with map[string]any
	var logf func(level, message string)
	if req != nil {
		with, logf = req.With, req.Log
	}
	in, err := parse(with)
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, in.timeout)
	defer cancel()
	if !in.follow {
		ctx = context.WithValue(ctx, noFollowKey{}, true)
	}
	hreq, err := in.request(ctx, a.userAgent)
	if err != nil {
		return nil, err
	}
	// The same key on every attempt of the step lets the server drop a
	// request it has already done (the Idempotency-Key header draft).
	if req != nil && req.IdempotencyKey != "" && a.Mutates(with) && hreq.Header.Get("Idempotency-Key") == "" {
		hreq.Header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	resp, err := a.client.Do(hreq)
	if err != nil {
		return nil, in.fail(parent, ctx, "", err)
	}
	defer resp.Body.Close()

	if !in.expected(resp.StatusCode) {
		// A few bytes for the message are enough: the rest is not read.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 4*snippetLen+1))
		cut := len(head) > 4*snippetLen
		if cut {
			head = head[:4*snippetLen]
		}
		return nil, in.statusError(req, resp.StatusCode, head, cut)
	}
	// The Content-Length of an answer to HEAD is that of the body a GET
	// would get: there is no body to refuse.
	if resp.ContentLength > in.maxBytes && in.method != http.MethodHead {
		return nil, in.tooLarge()
	}
	body, err := readLimited(resp.Body, in.maxBytes+1, resp.ContentLength)
	if err != nil {
		return nil, in.fail(parent, ctx, "reading the response: ", err)
	}
	if int64(len(body)) > in.maxBytes {
		return nil, in.tooLarge()
	}

	headers := make(map[string]any, len(resp.Header))
	for k, vs := range resp.Header {
		if len(vs) > 0 {
			headers[http.CanonicalHeaderKey(k)] = vs[0]
		}
	}
	out := map[string]any{
		"status":  resp.StatusCode,
		"headers": headers,
		"body":    string(body),
		"json":    nil,
	}
	ct := resp.Header.Get("Content-Type")
	if isJSON(ct) && len(bytes.TrimSpace(body)) > 0 {
		v, err := decodeJSON(body)
		if err != nil {
			if logf != nil {
				logf("warn", fmt.Sprintf("%s: the answer says %s but is not valid JSON (%v); json is null, body holds the text",
					in.what(), ct, err))
			}
		} else {
			out["json"] = v
		}
	}
	return out, nil
}

// readLimited reads r to its end or to limit bytes, whichever comes first.
// Its buffer never grows beyond limit; hint is the expected size, or -1.
func readLimited(r io.Reader, limit, hint int64) ([]byte, error) {
	size := int64(4096)
	if hint >= 0 {
		size = hint + 1 // room to see the end without growing
	}
	buf := make([]byte, 0, min(size, limit))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf))+512, limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// isJSON reports whether a Content-Type names JSON: application/json,
// text/json, or any +json type such as application/problem+json.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// decodeJSON parses one JSON document into plain data. Whole numbers that
// fit an int64 stay exact (int64); others become float64.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return nil, fmt.Errorf("unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return plain(v), nil
}

func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String() // beyond float64: keep the digits as text
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	}
	return v
}
