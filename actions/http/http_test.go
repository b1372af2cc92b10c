package httpaction

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/actions"
)

const testUA = "steward-test/1"

// do runs http.request with a fresh action.
func do(t *testing.T, ctx context.Context, with map[string]any) (map[string]any, error) {
	t.Helper()
	return New(testUA).Execute(ctx, &actions.Request{Action: Name, With: with, Index: -1, Attempt: 1})
}

// wantCode checks that err is an *actions.Error with the code and
// retryability given, and returns it.
func wantCode(t *testing.T, err error, code actions.Code, retryable bool) *actions.Error {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want *actions.Error %s", err, err, code)
	}
	if ae.Code != code || ae.Retryable != retryable {
		t.Fatalf("error = %s retryable=%v (%q), want %s retryable=%v", ae.Code, ae.Retryable, ae.Message, code, retryable)
	}
	return ae
}

// recorder is a server that keeps the last request it got.
type recorder struct {
	mu     sync.Mutex
	method string
	header http.Header
	query  url.Values
	body   []byte
}

func (rc *recorder) server(t *testing.T, status int, contentType, answer string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.method, rc.header, rc.query, rc.body = r.Method, r.Header.Clone(), r.URL.Query(), b
		rc.mu.Unlock()
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("x-request-id", "r-1")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGetJSON(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 200, "application/json; charset=utf-8",
		`{"id": 12345678901234567, "name": "db-1", "ok": true, "load": 0.5, "tags": ["a"], "none": null}`)
	out, err := do(t, context.Background(), map[string]any{"url": srv.URL + "/hosts/1"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.method != "GET" {
		t.Errorf("method = %q, want the default GET", rc.method)
	}
	if out["status"] != 200 {
		t.Errorf("status = %v", out["status"])
	}
	want := map[string]any{"id": int64(12345678901234567), "name": "db-1", "ok": true, "load": 0.5,
		"tags": []any{"a"}, "none": nil}
	if !reflect.DeepEqual(out["json"], want) {
		t.Errorf("json = %#v\nwant %#v", out["json"], want)
	}
	if !strings.Contains(out["body"].(string), `"name": "db-1"`) {
		t.Errorf("body = %q", out["body"])
	}
	h := out["headers"].(map[string]any)
	if h["Content-Type"] != "application/json; charset=utf-8" || h["X-Request-Id"] != "r-1" || h["X-Multi"] != "first" {
		t.Errorf("headers = %v", h)
	}
	// Outputs are plain data: they survive a JSON round trip.
	if _, err := json.Marshal(out); err != nil {
		t.Errorf("outputs do not marshal: %v", err)
	}
	if err := New("").Spec().Output.Check(out); err != nil {
		t.Errorf("outputs do not fit the output schema: %v", err)
	}
}

func TestPlusJSONAndTextAnswers(t *testing.T) {
	t.Parallel()
	var rc recorder
	problem := rc.server(t, 200, "application/problem+json", `{"title":"x"}`)
	out, err := do(t, context.Background(), map[string]any{"url": problem.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out["json"], map[string]any{"title": "x"}) {
		t.Errorf("+json answer: json = %#v", out["json"])
	}
	text := rc.server(t, 200, "text/plain", `{"looks":"like json"}`)
	out, err = do(t, context.Background(), map[string]any{"url": text.URL})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out["json"]; !ok || v != nil {
		t.Errorf("text answer: json = %#v, want present and null", out["json"])
	}
	if out["body"] != `{"looks":"like json"}` {
		t.Errorf("body = %q", out["body"])
	}
}

func TestPostJSON(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 201, "application/json", `{"created":true}`)
	payload := map[string]any{"name": "refund", "amount": 12.5, "items": []any{"a", "b"}, "big": int64(1) << 60}
	out, err := do(t, context.Background(), map[string]any{"method": "POST", "url": srv.URL, "json": payload})
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != 201 {
		t.Errorf("status = %v", out["status"])
	}
	if rc.method != "POST" || rc.header.Get("Content-Type") != "application/json" {
		t.Errorf("server got %s with Content-Type %q", rc.method, rc.header.Get("Content-Type"))
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(string(rc.body)))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("server got %q: %v", rc.body, err)
	}
	if got["name"] != "refund" || got["amount"] != json.Number("12.5") || got["big"] != json.Number("1152921504606846976") {
		t.Errorf("server got %s", rc.body)
	}

	// A scalar is a JSON body too, and a Content-Type header wins.
	_, err = do(t, context.Background(), map[string]any{"method": "PUT", "url": srv.URL, "json": "text",
		"headers": map[string]any{"content-type": "application/vnd.api+json"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(rc.body) != `"text"` || rc.header.Get("Content-Type") != "application/vnd.api+json" {
		t.Errorf("server got %q with Content-Type %q", rc.body, rc.header.Get("Content-Type"))
	}
}

func TestRawBody(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 204, "", "")
	out, err := do(t, context.Background(), map[string]any{"method": "PATCH", "url": srv.URL, "body": "a=1&b=2",
		"headers": map[string]any{"Content-Type": "application/x-www-form-urlencoded"}})
	if err != nil {
		t.Fatal(err)
	}
	if rc.method != "PATCH" || string(rc.body) != "a=1&b=2" || rc.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("server got %s %q (%q)", rc.method, rc.body, rc.header.Get("Content-Type"))
	}
	if out["status"] != 204 || out["body"] != "" || out["json"] != nil {
		t.Errorf("out = %v", out)
	}
}

func TestHeadersAndQuery(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 200, "", "ok")
	_, err := do(t, context.Background(), map[string]any{
		"url":     srv.URL + "/search?keep=1",
		"headers": map[string]any{"X-Token": "abc", "accept": "text/plain"},
		"query":   map[string]any{"q": "a b&c", "n": 10, "big": int64(1) << 53, "f": true, "x": 2.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rc.header.Get("X-Token") != "abc" || rc.header.Get("Accept") != "text/plain" || rc.header.Get("User-Agent") != testUA {
		t.Errorf("server got headers %v", rc.header)
	}
	want := url.Values{"keep": {"1"}, "q": {"a b&c"}, "n": {"10"}, "big": {"9007199254740992"}, "f": {"true"}, "x": {"2.5"}}
	if !reflect.DeepEqual(rc.query, want) {
		t.Errorf("server got query %v, want %v", rc.query, want)
	}

	// The step's User-Agent wins over the engine's.
	if _, err := do(t, context.Background(), map[string]any{"url": srv.URL, "headers": map[string]any{"User-Agent": "mine"}}); err != nil {
		t.Fatal(err)
	}
	if ua := rc.header.Get("User-Agent"); ua != "mine" {
		t.Errorf("User-Agent = %q, want mine", ua)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 200, "application/json", `{"a":1}`)
	out, err := do(t, context.Background(), map[string]any{"method": "HEAD", "url": srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if rc.method != "HEAD" || out["status"] != 200 || out["body"] != "" || out["json"] != nil {
		t.Errorf("server got %s; out = %v", rc.method, out)
	}
}

func TestExpectStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		json.Unmarshal([]byte(strings.TrimPrefix(r.URL.Path, "/")), &code)
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		status int
		expect any
		ok     bool
		words  string
	}{
		{200, nil, true, ""},
		{299, nil, true, ""},
		{301, nil, false, "expected 2xx"},
		{404, []any{200, 404}, true, ""},
		{204, 204, true, ""},
		{200, 204, false, "answered 200 OK, expected 204"},
		{500, []any{200, 201, 404}, false, "answered 500 Internal Server Error, expected 200, 201 or 404"},
		{599, nil, false, "answered 599, expected 2xx"},
	} {
		with := map[string]any{"url": srv.URL + "/" + jsonText(tc.status), "follow_redirects": false}
		if tc.expect != nil {
			with["expect_status"] = tc.expect
		}
		out, err := do(t, context.Background(), with)
		if tc.ok {
			if err != nil || out["status"] != tc.status {
				t.Errorf("%d with expect_status %v: %v, %v", tc.status, tc.expect, out, err)
			}
			continue
		}
		ae := wantCode(t, err, CodeUnexpectedStatus, tc.status >= 500)
		if !strings.Contains(ae.Message, tc.words) {
			t.Errorf("%d with expect_status %v: message %q, want it to hold %q", tc.status, tc.expect, ae.Message, tc.words)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestInvalidJSONAnswerWarns(t *testing.T) {
	t.Parallel()
	var rc recorder
	srv := rc.server(t, 200, "application/json", `{"broken": `)
	var logs []string
	req := &actions.Request{Action: Name, With: map[string]any{"url": srv.URL}, Log: func(level, msg string) {
		logs = append(logs, level+": "+msg)
	}}
	out, err := New("").Execute(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out["body"] != `{"broken": ` || out["json"] != nil {
		t.Errorf("out = %v", out)
	}
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "warn: ") || !strings.Contains(logs[0], "not valid JSON") {
		t.Errorf("logs = %q", logs)
	}
	// Without a Log (direct calls), the same answer does not panic.
	if _, err := New("").Execute(context.Background(), &actions.Request{With: map[string]any{"url": srv.URL}}); err != nil {
		t.Fatal(err)
	}
	// Trailing garbage after a valid value is invalid too.
	trailing := rc.server(t, 200, "application/json", `{"a":1} x`)
	out, err = do(t, context.Background(), map[string]any{"url": trailing.URL})
	if err != nil || out["json"] != nil {
		t.Errorf("trailing data: %v, %v", out, err)
	}
}
