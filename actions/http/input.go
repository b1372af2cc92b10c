package httpaction

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/schema"
)

func ptr(f float64) *float64 { return &f }

var spec = actions.Spec{
	Name: Name,
	Description: "Sends one HTTP request and returns the answer's status, headers, body and, when the " +
		"answer is JSON, json. A status other than expect_status (default: any 2xx) fails the step " +
		"(retryable for 408, 429 and 5xx), as do a timeout, a connection failure (both retryable), " +
		"a body larger than max_bytes, or more than 5 redirects. GET, HEAD and OPTIONS do not mutate; " +
		"other methods do. The time to the first response byte is also capped at 5m by the transport.",
	Input: &schema.DataSchema{
		Type: schema.Types{"object"},
		Properties: map[string]*schema.DataSchema{
			"method": {
				Type:        schema.Types{"string"},
				Enum:        []any{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
				Default:     "GET",
				Description: "The HTTP method.",
			},
			"url": {
				Type:        schema.Types{"string"},
				Pattern:     "^https?://",
				Description: "The URL, http:// or https://.",
			},
			"headers": {
				Type:                 schema.Types{"object"},
				AdditionalProperties: &schema.DataSchema{Type: schema.Types{"string"}},
				Description:          "Request headers, name to value.",
			},
			"query": {
				Type:                 schema.Types{"object"},
				AdditionalProperties: &schema.DataSchema{Type: schema.Types{"string", "number", "boolean"}},
				Description:          "Query parameters added to the URL's own; numbers and booleans are sent as text.",
			},
			"json": {
				Description: "A value sent as the JSON body, with Content-Type application/json unless headers set one. Not with body.",
			},
			"body": {
				Type:        schema.Types{"string"},
				Description: "The raw request body. Not with json.",
			},
			"timeout": {
				Type:        schema.Types{"string"},
				Format:      "duration",
				Default:     "30s",
				Description: "The longest the whole exchange may take, body included; the step's own timeout also applies.",
			},
			"expect_status": {
				Type:        schema.Types{"integer", "array"},
				Items:       &schema.DataSchema{Type: schema.Types{"integer"}, Minimum: ptr(100), Maximum: ptr(599)},
				Minimum:     ptr(100),
				Maximum:     ptr(599),
				Description: "The status, or list of statuses, that counts as success. Default: any 2xx.",
			},
			"max_bytes": {
				Type:        schema.Types{"integer"},
				Minimum:     ptr(0),
				Maximum:     ptr(maxMaxBytes),
				Default:     defaultMaxBytes,
				Description: "The largest response body accepted, in bytes; a larger one fails the step.",
			},
			"follow_redirects": {
				Type:        schema.Types{"boolean"},
				Default:     true,
				Description: "Follow up to 5 redirects. When false, a 3xx is the answer.",
			},
		},
		Required: []string{"url"},
	},
	Output: &schema.DataSchema{
		Type: schema.Types{"object"},
		Properties: map[string]*schema.DataSchema{
			"status": {Type: schema.Types{"integer"}, Description: "The response status code."},
			"headers": {
				Type:                 schema.Types{"object"},
				AdditionalProperties: &schema.DataSchema{Type: schema.Types{"string"}},
				Description:          "Response headers: canonical name to first value.",
			},
			"json": {Description: "The parsed body when the answer is JSON (application/json, +json), else null."},
			"body": {Type: schema.Types{"string"}, Description: "The response body as text."},
		},
	},
	Mutates:    true,
	Idempotent: false,
}

// args is the with, as decoded.
type args struct {
	Method          string                     `json:"method"`
	URL             string                     `json:"url"`
	Headers         map[string]string          `json:"headers"`
	Query           map[string]json.RawMessage `json:"query"`
	JSON            json.RawMessage            `json:"json"`
	Body            *string                    `json:"body"`
	Timeout         string                     `json:"timeout"`
	ExpectStatus    json.RawMessage            `json:"expect_status"`
	MaxBytes        *int64                     `json:"max_bytes"`
	FollowRedirects *bool                      `json:"follow_redirects"`
}

// input is one request, checked and with its defaults.
type input struct {
	method   string
	url      *url.URL
	shown    string // the URL for messages: no user info, query or fragment
	headers  map[string]string
	body     []byte
	hasBody  bool
	isJSON   bool
	timeout  time.Duration
	expect   []int // nil: any 2xx
	maxBytes int64
	follow   bool
}

func invalid(format string, args ...any) *actions.Error {
	return actions.Errorf(actions.CodeInvalidInput, format, args...)
}

func parse(with map[string]any) (*input, error) {
	if err := spec.Input.Check(with); err != nil {
		return nil, invalid("%v", err)
	}
	var a args
	if err := actions.Decode(with, &a); err != nil {
		return nil, err
	}
	in := &input{
		method:   "GET",
		headers:  a.Headers,
		timeout:  defaultTimeout,
		maxBytes: defaultMaxBytes,
		follow:   true,
	}
	if a.Method != "" {
		in.method = a.Method
	}
	u, err := url.Parse(a.URL)
	if err != nil {
		// url.Error quotes the URL, which may hold a token: keep only the reason.
		var ue *url.Error
		reason := err
		if errors.As(err, &ue) {
			reason = ue.Err
		}
		return nil, invalid("with.url: %v", reason)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalid("with.url must be an absolute http:// or https:// URL with a host")
	}
	in.url = u
	in.shown = shownURL(u)

	for _, name := range slices.Sorted(maps.Keys(a.Headers)) {
		v := a.Headers[name]
		if !validHeaderName(name) {
			return nil, invalid("with.headers: %q is not a valid header name", name)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, invalid("with.headers.%s: the value holds a line break or NUL", name)
		}
	}
	if len(a.Query) > 0 {
		q := url.Values{}
		for k, raw := range a.Query {
			s, err := queryText(raw)
			if err != nil {
				return nil, invalid("with.query.%s: %v", k, err)
			}
			q.Add(k, s)
		}
		if u.RawQuery != "" {
			u.RawQuery += "&" + q.Encode()
		} else {
			u.RawQuery = q.Encode()
		}
	}

	hasJSON := len(a.JSON) > 0 && string(a.JSON) != "null"
	switch {
	case hasJSON && a.Body != nil:
		return nil, invalid("with: json and body are exclusive: set one")
	case hasJSON:
		in.body, in.hasBody, in.isJSON = a.JSON, true, true
	case a.Body != nil:
		in.body, in.hasBody = []byte(*a.Body), true
	}

	if a.Timeout != "" {
		d, err := time.ParseDuration(a.Timeout)
		if err != nil || d <= 0 {
			return nil, invalid("with.timeout must be a positive duration such as 30s, got %q", a.Timeout)
		}
		in.timeout = d
	}
	if in.expect, err = parseExpect(a.ExpectStatus); err != nil {
		return nil, err
	}
	if a.MaxBytes != nil {
		if *a.MaxBytes < 0 || *a.MaxBytes > maxMaxBytes {
			return nil, invalid("with.max_bytes must be between 0 and %d, got %d", maxMaxBytes, *a.MaxBytes)
		}
		in.maxBytes = *a.MaxBytes
	}
	if a.FollowRedirects != nil {
		in.follow = *a.FollowRedirects
	}
	return in, nil
}

// queryText turns a query value (a string, number or boolean) into text.
func queryText(raw json.RawMessage) (string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v.(type) {
	case float64, bool:
		return string(raw), nil // the literal as written: 10, 2.5, true
	}
	return "", errors.New("must be a string, a number or a boolean")
}

func parseExpect(raw json.RawMessage) ([]int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []int
	if raw[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid("with.expect_status must be a status or a list of statuses")
		}
		if len(list) == 0 {
			return nil, invalid("with.expect_status is an empty list: no answer could succeed")
		}
	} else {
		var one int
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, invalid("with.expect_status must be a status or a list of statuses")
		}
		list = []int{one}
	}
	for _, s := range list {
		if s < 100 || s > 599 {
			return nil, invalid("with.expect_status: %d is not an HTTP status (100 to 599)", s)
		}
	}
	return list, nil
}

// request builds the HTTP request.
func (in *input) request(ctx context.Context, userAgent string) (*http.Request, error) {
	var body io.Reader
	if in.hasBody {
		body = bytes.NewReader(in.body)
	}
	req, err := http.NewRequestWithContext(ctx, in.method, in.url.String(), body)
	if err != nil {
		return nil, invalid("with.url: cannot make a request of %s", in.shown)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if in.isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range in.headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

func (in *input) expected(status int) bool {
	if in.expect == nil {
		return status >= 200 && status <= 299
	}
	for _, s := range in.expect {
		if s == status {
			return true
		}
	}
	return false
}

// shownURL is u without user info, query or fragment: what messages show.
func shownURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
