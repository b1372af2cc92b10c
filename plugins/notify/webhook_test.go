package main

// The webhook action against httptest servers: no Slack, Discord or Teams
// is reachable from the tests, so a local server stands in for the
// incoming webhook, records what it got and answers as those services
// document (Slack: 200 "ok", 404 "no_service", 400 "invalid_payload";
// Discord: 204; Teams: 200 "1"; any: 429 with Retry-After, 5xx).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// hookPath is the secret part of the webhook URL, as in Slack's.
const hookPath = "/services/T0001/B0001/XXXXwebhookSecretXXXX"

type hookRequest struct {
	method, path, contentType, userAgent string
	body                                 map[string]any
}

// hook is a stand-in incoming webhook answering with answer.
func hook(t *testing.T, answer func(w http.ResponseWriter)) (string, func() []hookRequest) {
	t.Helper()
	var mu sync.Mutex
	var reqs []hookRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		mu.Lock()
		reqs = append(reqs, hookRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"), body})
		mu.Unlock()
		answer(w)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + hookPath, func() []hookRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]hookRequest(nil), reqs...)
	}
}

func answer(status int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestWebhookPosts(t *testing.T) {
	with := map[string]any{"text": "Refund failed", "title": "Card payment failure", "fields": map[string]any{"payment": "pi_123"}}
	for _, c := range []struct {
		style  string
		status int
		body   string
		check  func(map[string]any) bool
	}{
		{"slack", 200, "ok", func(b map[string]any) bool {
			return b["text"] == "Card payment failure\nRefund failed" && len(b["blocks"].([]any)) == 4
		}},
		{"discord", 204, "", func(b map[string]any) bool {
			return b["content"] == "**Card payment failure**\nRefund failed\n**payment:** pi_123\nSteward run "+runID+": `steward show "+runID+"`" &&
				fmt.Sprint(b["allowed_mentions"]) == "map[parse:[]]"
		}},
		{"teams", 200, "1", func(b map[string]any) bool {
			return b["@type"] == "MessageCard" && b["title"] == "Card payment failure" && b["text"] == "Refund failed"
		}},
		{"json", 200, "", func(b map[string]any) bool {
			return fmt.Sprint(b) == "map[fields:map[payment:pi_123] text:Refund failed title:Card payment failure]"
		}},
	} {
		url, requests := hook(t, answer(c.status, c.body))
		p := start(t, map[string]any{"webhook": map[string]any{"url": url, "style": c.style}})
		out, logs, err := p.Execute("webhook", with, inRun("notify")...)
		if err != nil {
			t.Fatalf("%s: %v", c.style, err)
		}
		want := fmt.Sprint(map[string]any{"channel": "webhook", "sandbox": false, "status": float64(c.status), "style": c.style})
		if fmt.Sprint(out) != want {
			t.Errorf("%s: outputs %v, want %s", c.style, out, want)
		}
		reqs := requests()
		if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].path != hookPath || reqs[0].contentType != "application/json" ||
			reqs[0].userAgent != "steward-plugin-notify/1.0.0" || !c.check(reqs[0].body) {
			t.Errorf("%s: requests %+v", c.style, reqs)
		}
		if len(logs) != 2 || logs[1].Message != fmt.Sprintf("the webhook answered %d %s", c.status, http.StatusText(c.status)) {
			t.Errorf("%s: logs %v", c.style, logs)
		}
		noSecret(t, hookPath, out, logs, err)
	}
}

func TestWebhookFailures(t *testing.T) {
	with := map[string]any{"text": "Refund failed"}
	for _, c := range []struct {
		answer    func(http.ResponseWriter)
		code      string
		retryable bool
		want      string
	}{
		{answer(429, `{"retry_after":30}`, "Retry-After", "30"), "temporary", true,
			`the webhook at HOST is rate limited (429 Too Many Requests: {"retry_after":30}) (Retry-After 30): try again later`},
		{answer(500, "internal error"), "temporary", true, "the webhook at HOST failed (500 Internal Server Error: internal error): try again later"},
		{answer(503, ""), "temporary", true, "the webhook at HOST failed (503 Service Unavailable): try again later"},
		{answer(403, "invalid_token"), "auth_failed", false,
			"the webhook at HOST refused the message (403 Forbidden: invalid_token): the URL may have been revoked; check plugins.settings.notify.webhook.url"},
		{answer(404, "no_service"), "rejected", false,
			"the webhook at HOST is gone (404 Not Found: no_service): the URL may have been revoked or its channel removed; check plugins.settings.notify.webhook.url"},
		{answer(410, "channel_is_archived"), "rejected", false,
			"the webhook at HOST is gone (410 Gone: channel_is_archived): the URL may have been revoked or its channel removed; check plugins.settings.notify.webhook.url"},
		{answer(400, "invalid_payload"), "rejected", false,
			"the webhook at HOST refused the message (400 Bad Request: invalid_payload): check webhook.style against the service the URL belongs to"},
		// A service that echoes the URL in its answer: it is redacted.
		{answer(400, "unknown webhook "+hookPath), "rejected", false,
			"the webhook at HOST refused the message (400 Bad Request: unknown webhook ***): check webhook.style against the service the URL belongs to"},
		{answer(302, "", "Location", "https://evil.example.org/collect"), "rejected", false,
			"the webhook at HOST answered with a redirect (302 Found), which the plugin does not follow: check plugins.settings.notify.webhook.url"},
	} {
		url, requests := hook(t, c.answer)
		host := url[len("http://") : len(url)-len(hookPath)]
		p := start(t, map[string]any{"webhook": map[string]any{"url": url}})
		out, logs, err := p.Execute("webhook", with)
		sdktest.WantError(t, err, c.code, c.retryable, replaceHost(c.want, host))
		noSecret(t, url, out, logs, err)
		if len(requests()) != 1 {
			t.Errorf("%d requests: no retry inside the call", len(requests()))
		}
	}
}

func replaceHost(s, host string) string {
	for i := 0; i+4 <= len(s); i++ {
		if s[i:i+4] == "HOST" {
			return s[:i] + host + s[i+4:]
		}
	}
	return s
}

func TestWebhookUnreachableAndSlow(t *testing.T) {
	addr := peertest.RefusedAddr(t) // nothing listens there, nor can another process
	url := "http://" + addr + hookPath
	p := start(t, map[string]any{"webhook": map[string]any{"url": url}})
	out, logs, err := p.Execute("webhook", map[string]any{"text": "t"})
	sdktest.WantError(t, err, "connection", true, "could not reach the webhook at "+addr+" (dial tcp "+addr+": connect: connection refused): try again if it is down, or check webhook.url")
	noSecret(t, hookPath, out, logs, err)

	var hits atomic.Int32
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.ReadAll(r.Body) // then the server notices the client leaving
		select {                  // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first
	// A timeout the request itself meets on a loaded machine: it reaches
	// the server before the client gives up on the answer.
	p = start(t, map[string]any{"webhook": map[string]any{"url": slow.URL + hookPath, "timeout": "1s"}})
	out, logs, err = p.Execute("webhook", map[string]any{"text": "t"})
	sdktest.WantError(t, err, "connection", true, "the webhook at "+slow.Listener.Addr().String()+" did not answer within 1s (webhook.timeout): try again later, or raise webhook.timeout")
	noSecret(t, hookPath, out, logs, err)
	// The client returns once it gives up, maybe before the server's
	// handler ran: wait for the request (a generous deadline, and a
	// moment more lets a second one show).
	for deadline := time.Now().Add(30 * time.Second); hits.Load() < 1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if hits.Load() != 1 {
		t.Errorf("%d requests", hits.Load())
	}
}
