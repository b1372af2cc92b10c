package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// wantErr checks an action's error code, retryable and message.
func wantErr(t *testing.T, err error, code string, retryable bool, msg string) {
	t.Helper()
	sdktest.WantError(t, err, code, retryable, msg)
}

// TestFaults: each backend's failures are clear, retryable when trying
// again may help, and never quote a credential. The server is a real HTTP
// server answering as a failing Prometheus (the same client serves
// every backend).
func TestFaults(t *testing.T) {
	const token = "prom-bearer-SECRET"
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.Form.Get("query") {
		case "unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("Unauthorized"))
		case "throttled":
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"too_many_requests","error":"per-tenant limit"}`))
		case "down":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"ingesters unavailable"}`))
		case "html":
			_, _ = w.Write([]byte("<html>login page</html>"))
		case "shape":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x"]}]}}`))
		case "string":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"string","result":[1,"a"]}}`))
		case "huge":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[` + strings.Repeat(`{"metric":{"a":"b"},"value":[1,"1"]},`, 150000) + `]}}`))
		case "nan":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765015200,"NaN"]}]}}`))
		case "hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	// A timeout that a loaded machine meets for every answer (a 4 MiB body
	// included), and a short one for the server that hangs.
	settings := func(timeout string) map[string]any {
		return map[string]any{"metrics": "prometheus", "prometheus": map[string]any{"url": srv.URL, "bearer_token": token, "timeout": timeout}}
	}
	p := start(t, settings("30s"), time.Time{})
	hung := start(t, settings("300ms"), time.Time{})
	for _, c := range []struct {
		query, code string
		retryable   bool
		msg         string
	}{
		{"unauthorized", "auth_failed", false, "prometheus refused the credentials (401 Unauthorized: Unauthorized): check plugins.settings.observability.prometheus"},
		{"throttled", "rate_limited", true, "prometheus is rate limiting us (429 Too Many Requests: too_many_requests: per-tenant limit): try again in 30s (Retry-After)"},
		{"down", "unavailable", true, "prometheus failed (503 Service Unavailable: unavailable: ingesters unavailable): try again later"},
		{"html", "bad_response", false, "prometheus answered 200 with a body that is not the expected JSON (invalid character '<' looking for beginning of value): <html>login page</html>"},
		{"shape", "bad_response", false, "prometheus answered a vector result that is not the documented shape: a sample is [time, \"value\"], got [\"x\"]"},
		{"string", "bad_response", false, `prometheus answered a string result that is not the documented shape: result type "string": query a number (a vector, a matrix or a scalar), not a string`},
		{"huge", "bad_response", false, "prometheus answered more than 4 MiB: narrow the query (fewer series, a shorter window)"},
		{"hang", "timeout", true, "prometheus did not answer within 300ms (prometheus.timeout): it may be overloaded; try again, or narrow the query"},
	} {
		q := p
		if c.query == "hang" {
			q = hung
		}
		out, logs, err := q.Execute("query", map[string]any{"query": c.query})
		wantErr(t, err, c.code, c.retryable, c.msg)
		noSecret(t, token, out, logs, err)
	}
	// NaN is no value, not a number in the output.
	out, _, err := p.Execute("query", map[string]any{"query": "nan"})
	if err != nil || out["empty"] != true || out["series_count"] != float64(0) {
		t.Errorf("NaN: %v %v", out, err)
	}
	srv.Close()
	// Its port, held, refuses connections, and no other process is handed
	// it while the test runs (peertest.Hold).
	unhold, err := peertest.Hold(srv.Listener.Addr().(*net.TCPAddr).Port)
	if err != nil {
		t.Fatal(err)
	}
	defer unhold()
	_, _, err = p.Execute("query", map[string]any{"query": "x"})
	if err == nil || !strings.HasPrefix(err.Error(), "could not reach prometheus at "+srv.URL+": ") {
		t.Fatalf("closed: %v", err)
	}
	wantErr(t, err, "unavailable", true, err.Error())
}
