package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// steward serve serves the web console at / beside the API: a visitor
// is refused (no login configured), a bot's bearer token reads the
// console's pages, every page carries the Content-Security-Policy, the
// embedded htmx is served, and the API and health stay where they were.
// The browser test of engine/console drives the pages themselves.
func TestServeConsole(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "runbooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runbooks", "nap.yaml"), []byte(napRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	r := homeRun(t, dir, home, nil, "tokens", "create", "bot", "--role", "viewer")
	wantCode(t, r, 0, "tokens create")
	token := strings.TrimSpace(r.stdout)
	s := startServe(t, dir, home)
	get := func(path, token string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", "http://"+s.addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, _ := get("/runs", ""); res.StatusCode != http.StatusUnauthorized || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("a visitor: %s %v", res.Status, res.Header)
	}
	for _, path := range []string{"/runs", "/runbooks", "/runbooks/nap", "/approvals", "/schedules", "/audit", "/plugins"} {
		res, body := get(path, token)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Steward") || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s as the bot: %s\n%s", path, res.Status, body)
		}
	}
	if res, _ := get("/static/htmx-2.0.11.min.js", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("htmx: %s", res.Status)
	}
	if res, _ := get("/api/v1/runs", token); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("the API: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	if code, _ := s.get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	if code := s.stop(t); code != 0 {
		t.Fatalf("exit %d:\n%s", code, s.log.String())
	}
}
