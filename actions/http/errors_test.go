package httpaction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/peertest"
)

// generous bounds how long a test waits for what should be prompt; it is
// a guard against hanging, not a measure.
const generous = time.Minute

// hanging is a server whose handler blocks until the client goes away or
// the test ends, so that no handler outlives the test. Each request it
// gets is announced on reached when that is not nil.
func hanging(t *testing.T, reached chan<- struct{}) *httptest.Server {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reached != nil {
			reached <- struct{}{}
		}
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)              // runs second: waits for handlers
	t.Cleanup(func() { close(done) }) // runs first: releases them
	return srv
}

func TestStatusErrors(t *testing.T) {
	t.Parallel()
	body := "upstream   down\n\tretry later"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	for code, retryable := range map[int]bool{503: true, 500: true, 502: true, 429: true, 408: true,
		404: false, 400: false, 401: false, 409: false} {
		_, err := do(t, context.Background(), map[string]any{"method": "POST", "url": srv.URL + "/" + strconv.Itoa(code)})
		ae := wantCode(t, err, CodeUnexpectedStatus, retryable)
		want := fmt.Sprintf("POST %s/%d answered %d %s, expected 2xx: upstream down retry later",
			srv.URL, code, code, http.StatusText(code))
		if ae.Message != want {
			t.Errorf("message = %q\nwant      %q", ae.Message, want)
		}
	}
}

func TestStatusErrorSnippetIsClipped(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, strings.Repeat("é", 100_000))
	}))
	t.Cleanup(srv.Close)
	_, err := do(t, context.Background(), map[string]any{"url": srv.URL})
	ae := wantCode(t, err, CodeUnexpectedStatus, true)
	_, snip, _ := strings.Cut(ae.Message, "expected 2xx: ")
	if n := utf8.RuneCountInString(snip); n == 0 || n > snippetLen || !utf8.ValidString(snip) {
		t.Errorf("snippet of %d runes (valid UTF-8: %v), want 1 to %d", n, utf8.ValidString(snip), snippetLen)
	}
}

func TestMessagesHoldNoSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + "/v1/pay?api_key=k3y#frag"
	headers := map[string]any{"Authorization": "Bearer t0ken", "X-Api-Key": "k3y2"}
	_, err := do(t, context.Background(), map[string]any{"url": u, "headers": headers})
	ae := wantCode(t, err, CodeUnexpectedStatus, true)
	if want := "GET " + srv.URL + "/v1/pay answered 502 Bad Gateway, expected 2xx"; ae.Message != want {
		t.Errorf("message = %q, want %q", ae.Message, want)
	}
	refused := "http://user:hunter2@" + peertest.RefusedAddr(t) + "/x?api_key=k3y"
	_, err = do(t, context.Background(), map[string]any{"url": refused, "headers": headers})
	ae2 := wantCode(t, err, CodeConnection, true)
	for _, msg := range []string{ae.Message, ae2.Message, ae.Error(), ae2.Error()} {
		for _, secret := range []string{"hunter2", "k3y", "t0ken", "frag"} {
			if strings.Contains(msg, secret) {
				t.Errorf("message %q shows %q", msg, secret)
			}
		}
	}
	_, err = do(t, context.Background(), map[string]any{"url": u, "headers": map[string]any{"X-Bad": "t0ken\r\nX-Injected: 1"}})
	ae3 := wantCode(t, err, actions.CodeInvalidInput, false)
	if strings.Contains(ae3.Message, "t0ken") || !strings.Contains(ae3.Message, "X-Bad") {
		t.Errorf("message = %q, want the header name and not its value", ae3.Message)
	}
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	_, err := do(t, context.Background(), map[string]any{"url": "http://" + peertest.RefusedAddr(t) + "/"})
	ae := wantCode(t, err, CodeConnection, true)
	if !strings.Contains(ae.Message, "refused") {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestOwnTimeout(t *testing.T) {
	t.Parallel()
	srv := hanging(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), generous)
	defer cancel()
	_, err := do(t, ctx, map[string]any{"url": srv.URL, "timeout": "200ms"})
	ae := wantCode(t, err, actions.CodeTimeout, true)
	if !strings.Contains(ae.Message, "no complete answer within 200ms") {
		t.Errorf("message = %q", ae.Message)
	}
	if ctx.Err() != nil {
		t.Fatal("the request outlived the test's deadline instead of its own timeout")
	}
}

func TestTimeoutWhileReadingBody(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	// A timeout the headers meet on a loaded machine: it runs out while
	// the body is read, not before the headers came.
	_, err := do(t, context.Background(), map[string]any{"url": srv.URL, "timeout": "2s"})
	ae := wantCode(t, err, actions.CodeTimeout, true)
	if !strings.Contains(ae.Message, "reading the response") {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestStepDeadline(t *testing.T) {
	t.Parallel()
	srv := hanging(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := do(t, ctx, map[string]any{"url": srv.URL}) // own timeout: the default 30s
	ae := wantCode(t, err, actions.CodeTimeout, true)
	if !strings.Contains(ae.Message, "the step timed out") {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	srv := hanging(t, reached)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-reached:
		case <-time.After(generous):
		}
		cancel()
	}()
	_, err := do(t, ctx, map[string]any{"method": "DELETE", "url": srv.URL})
	wantCode(t, err, actions.CodeCancelled, false)

	// Cancelled before it starts.
	_, err = do(t, ctx, map[string]any{"url": srv.URL})
	wantCode(t, err, actions.CodeCancelled, false)
}

func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	const total = 50 << 20
	var written atomic.Int64
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	_, err := do(t, context.Background(), map[string]any{"url": stream.URL, "max_bytes": 1 << 20})
	ae := wantCode(t, err, CodeTooLarge, false)
	if !strings.Contains(ae.Message, "max_bytes (1048576 bytes)") {
		t.Errorf("message = %q", ae.Message)
	}
	stream.Close() // waits for the handler, which stops when the client hangs up
	if n := written.Load(); n >= total {
		t.Errorf("the server wrote all %d bytes: the client read the whole body", n)
	}

	// A declared Content-Length over the limit fails before any read.
	declared := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(total))
		w.Write(make([]byte, 1024))
	}))
	t.Cleanup(declared.Close)
	_, err = do(t, context.Background(), map[string]any{"url": declared.URL, "max_bytes": 1000})
	wantCode(t, err, CodeTooLarge, false)
	// HEAD gets no body, whatever Content-Length says.
	out, err := do(t, context.Background(), map[string]any{"method": "HEAD", "url": declared.URL, "max_bytes": 1000})
	if err != nil || out["body"] != "" || out["headers"].(map[string]any)["Content-Length"] != strconv.Itoa(total) {
		t.Errorf("HEAD: %v, %v", out, err)
	}

	// A body of exactly max_bytes is fine, with or without Content-Length.
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush()
		}
		w.Write(bytes.Repeat([]byte("y"), 5000))
	}))
	t.Cleanup(exact.Close)
	for _, u := range []string{exact.URL, exact.URL + "?chunked=1"} {
		out, err = do(t, context.Background(), map[string]any{"url": u, "max_bytes": 5000})
		if err != nil || len(out["body"].(string)) != 5000 {
			t.Errorf("%s: %v", u, err)
		}
		_, err = do(t, context.Background(), map[string]any{"url": u, "max_bytes": 4999})
		wantCode(t, err, CodeTooLarge, false)
	}
}

func TestRedirects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/hops/"):
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hops/"))
			if n > 0 {
				http.Redirect(w, r, fmt.Sprintf("/hops/%d", n-1), http.StatusTemporaryRedirect)
				return
			}
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s", r.Method, body)
		}
	}))
	t.Cleanup(srv.Close)

	_, err := do(t, context.Background(), map[string]any{"url": srv.URL + "/loop"})
	ae := wantCode(t, err, CodeTooManyRedirects, false)
	if !strings.Contains(ae.Message, "stopped after 5 redirects") {
		t.Errorf("message = %q", ae.Message)
	}

	// Five redirects are allowed; a 307 keeps the method and the body.
	out, err := do(t, context.Background(), map[string]any{"method": "POST", "url": srv.URL + "/hops/5", "body": "b"})
	if err != nil || out["body"] != "POST b" {
		t.Errorf("5 redirects: %v, %v", out, err)
	}
	_, err = do(t, context.Background(), map[string]any{"url": srv.URL + "/hops/6"})
	wantCode(t, err, CodeTooManyRedirects, false)

	// Not following: the redirect is the answer.
	out, err = do(t, context.Background(), map[string]any{"url": srv.URL + "/loop", "follow_redirects": false, "expect_status": 302})
	if err != nil || out["status"] != 302 || out["headers"].(map[string]any)["Location"] != "/loop" {
		t.Errorf("not following: %v, %v", out, err)
	}
	_, err = do(t, context.Background(), map[string]any{"url": srv.URL + "/loop", "follow_redirects": false})
	wantCode(t, err, CodeUnexpectedStatus, false)
}

func TestClassification(t *testing.T) {
	t.Parallel()
	for _, err := range []error{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, io.ErrUnexpectedEOF} {
		if !isConnection(err) {
			t.Errorf("%v is not classed as a connection failure", err)
		}
	}
	if isConnection(fmt.Errorf("other")) {
		t.Error("any error is classed as a connection failure")
	}
}

func TestTLSFailures(t *testing.T) {
	t.Parallel()
	// The action does not trust the test server's certificate.
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error it sees is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	_, err := do(t, context.Background(), map[string]any{"url": tlsSrv.URL})
	wantCode(t, err, CodeTLS, false)

	// https:// to a server that speaks plain HTTP: net/http names it in
	// its own words (code failed); either way it is not worth a retry.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)
	_, err = do(t, context.Background(), map[string]any{"url": strings.Replace(plain.URL, "http://", "https://", 1)})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Retryable || !strings.Contains(ae.Message, "HTTP response to HTTPS client") {
		t.Errorf("https to http: %v", err)
	}
}
