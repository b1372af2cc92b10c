package httpaction

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/peertest"
)

func TestSpec(t *testing.T) {
	t.Parallel()
	s := New("ua").Spec()
	if s.Name != "http.request" || !s.Mutates || s.Idempotent {
		t.Errorf("spec = %s mutates=%v idempotent=%v", s.Name, s.Mutates, s.Idempotent)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	// Every default fits its own property.
	for name, p := range s.Input.Properties {
		if p.Default != nil {
			if err := s.Input.Check(map[string]any{"url": "http://x", name: p.Default}); err != nil {
				t.Errorf("default of %s: %v", name, err)
			}
		}
	}
	full := map[string]any{
		"method": "POST", "url": "https://x/y", "headers": map[string]any{"A": "b"},
		"query": map[string]any{"a": "b", "n": 1, "f": 1.5, "t": true}, "json": []any{1, "x", nil},
		"timeout": "1m30s", "expect_status": []any{200, 201}, "max_bytes": 1024, "follow_redirects": false,
	}
	if err := s.Input.Check(full); err != nil {
		t.Errorf("a full with does not fit: %v", err)
	}
	// The whole action registers next to others.
	reg := actions.NewRegistry()
	if err := reg.Register(New("")); err != nil {
		t.Fatal(err)
	}
	if !reg.Covers("http") {
		t.Error("http is not covered")
	}
}

func TestMutates(t *testing.T) {
	t.Parallel()
	a := New("")
	for _, tc := range []struct {
		with map[string]any
		want bool
	}{
		{nil, false},
		{map[string]any{"url": "http://x"}, false},
		{map[string]any{"method": "GET"}, false},
		{map[string]any{"method": "HEAD"}, false},
		{map[string]any{"method": "OPTIONS"}, false},
		{map[string]any{"method": "get"}, false},
		{map[string]any{"method": "POST"}, true},
		{map[string]any{"method": "PUT"}, true},
		{map[string]any{"method": "PATCH"}, true},
		{map[string]any{"method": "DELETE"}, true},
		{map[string]any{"method": 7}, true},
	} {
		if got := actions.Mutates(a, tc.with); got != tc.want {
			t.Errorf("Mutates(%v) = %v, want %v", tc.with, got, tc.want)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		with map[string]any
		msg  string
	}{
		{map[string]any{"url": "http://127.0.0.1:1/", "json": map[string]any{"a": 1}, "body": "x"}, "json and body are exclusive"},
		{map[string]any{"url": "http://127.0.0.1:1/", "json": "", "body": ""}, "json and body are exclusive"},
		{nil, `missing required field "url"`},
		{map[string]any{"url": "ftp://x"}, "must match"},
		{map[string]any{"url": "http://"}, "with a host"},
		{map[string]any{"url": "http://x/%zz"}, "with.url"},
		{map[string]any{"url": "http://x", "method": "TRACE"}, "must be one of"},
		{map[string]any{"url": "http://x", "timeout": "soon"}, "invalid duration"},
		{map[string]any{"url": "http://x", "timeout": "0s"}, "positive duration"},
		{map[string]any{"url": "http://x", "timeout": "-1s"}, "positive duration"},
		{map[string]any{"url": "http://x", "expect_status": []any{}}, "empty list"},
		{map[string]any{"url": "http://x", "expect_status": 99}, "at least 100"},
		{map[string]any{"url": "http://x", "expect_status": []any{200, 700}}, "at most 599"},
		{map[string]any{"url": "http://x", "expect_status": "200"}, "must be an integer or a list"},
		{map[string]any{"url": "http://x", "max_bytes": 200 << 20}, "at most"},
		{map[string]any{"url": "http://x", "max_bytes": -1}, "at least 0"},
		{map[string]any{"url": "http://x", "headers": map[string]any{"Bad Name": "v"}}, "not a valid header name"},
		{map[string]any{"url": "http://x", "headers": map[string]any{"A": 1}}, "must be a string"},
		{map[string]any{"url": "http://x", "query": map[string]any{"a": []any{1}}}, "with.query.a"},
		// Of several bad headers, the first by name, every time (not in the map's order).
		{map[string]any{"url": "http://x", "headers": map[string]any{"F x": "v", "E x": "v", "D x": "v", "C x": "v", "B x": "v", "A x": "v"}}, `"A x" is not a valid header name`},
		{map[string]any{"url": "http://x", "follow": true}, `unknown field "follow"`},
	} {
		_, err := do(t, context.Background(), tc.with)
		ae := wantCode(t, err, actions.CodeInvalidInput, false)
		if !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("with %v: message %q, want it to hold %q", tc.with, ae.Message, tc.msg)
		}
	}
	// A null json is no json: body alone is sent.
	_, err := do(t, context.Background(), map[string]any{"url": "http://" + peertest.RefusedAddr(t), "json": nil, "body": "x"})
	wantCode(t, err, CodeConnection, true)
	// A nil request is an empty with, not a panic.
	_, err = New("").Execute(context.Background(), nil)
	wantCode(t, err, actions.CodeInvalidInput, false)
}
