package main

// Faults: a directory that is down, refuses the bind or the write, or has
// a certificate from an unknown CA (a real slapd); a GitHub that refuses
// the token, fails, throttles or hangs (the httptest fake of
// github_test.go). Secrets never appear in any message.

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/access/ldaptest"
	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// TestLDAPDown: a stopped directory is a retryable connection error; once
// it is back, on the same data, the call succeeds.
func TestLDAPDown(t *testing.T) {
	s := startDirectory(t, ldaptest.GroupOfNames)
	p := ldapPlugin(t, s)
	mustRun(t, p, s, "revoke", map[string]any{"backend": "directory", "group": "vpn", "user": "dmitri"})
	s.Stop()
	settings := "plugins.settings.access.backends.directory.ldap"
	for _, action := range []string{"list_members", "grant", "revoke"} {
		with := map[string]any{"backend": "directory", "group": "vpn", "user": "dmitri"}
		if action == "list_members" {
			delete(with, "user")
		}
		_, _, err := run(t, p, s, action, with)
		sdktest.WantError(t, err, "connection", true, fmt.Sprintf("could not reach the directory at %s (backend directory) while connecting: dial tcp %s: connect: connection refused; check that it is up and that %s.url is right",
			s.Addr(), s.Addr(), settings))
	}
	_, _, err := run(t, p, s, "list_grants", map[string]any{"user": "ana"})
	sdktest.WantErrorContaining(t, err, "connection", true, "could not reach the directory at "+s.Addr())
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, p, s, "grant", map[string]any{"backend": "directory", "group": "vpn", "user": "dmitri"})
	if out["changed"] != true || holds(t, s, "vpn") != "[ana ben carla dmitri]" {
		t.Errorf("after the restart: %v, vpn holds %s", out, holds(t, s, "vpn"))
	}
}

// TestLDAPRefusals: a wrong password, a bind DN that may read but not
// write, plain LDAP where the directory wants TLS.
func TestLDAPRefusals(t *testing.T) {
	s := startDirectory(t, ldaptest.PosixGroup)
	const wrong = "Wr0ng-Passw0rd-Never-Shown"
	p := ldapPlugin(t, s, "bind_password", wrong)
	out, logs, err := p.Execute("list_grants", map[string]any{"user": "ana"})
	sdktest.WantError(t, err, "auth_failed", false, fmt.Sprintf("the directory at %s refused the bind as cn=admin,dc=example,dc=org (invalid credentials): check plugins.settings.access.backends.directory.ldap.bind_dn and bind_password", s.Addr()))
	secretNowhere(t, wrong, err, logs)
	secretNowhere(t, s.BindPassword, err, logs)
	if strings.Contains(fmt.Sprint(out), wrong) {
		t.Errorf("outputs %v", out)
	}

	// ana may read the directory (slapd's default access), not write it.
	p = ldapPlugin(t, s, "bind_dn", ldaptest.UserDN("ana"), "bind_password", ldaptest.UserPassword("ana"))
	if out := mustRun(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "vpn"}); fmt.Sprint(out["members"]) != "[ana ben carla dmitri]" {
		t.Errorf("vpn: %v", out)
	}
	_, logs, err = run(t, p, s, "grant", map[string]any{"backend": "directory", "group": "vpn", "user": "eve"})
	sdktest.WantError(t, err, "auth_failed", false, fmt.Sprintf("the directory at %s does not let uid=ana,ou=people,dc=example,dc=org do this while adding eve to vpn (insufficient access rights): give the bind DN the access docs/plugins-access.md lists", s.Addr()))
	secretNowhere(t, ldaptest.UserPassword("ana"), err, logs)
}

// TestLDAPUnknownCA: StartTLS and ldaps:// against a certificate of a CA
// the plugin does not trust.
func TestLDAPUnknownCA(t *testing.T) {
	s := startDirectory(t, ldaptest.GroupOfNames)
	other, err := ldaptest.UntrustedCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.LDAPSURL, "ldaps://")
	for _, c := range []struct {
		kv    []any
		addr  string
		doing string
	}{
		{[]any{"ca_file", other}, s.Addr(), "starting TLS"},
		{[]any{"ca_file", other, "url", s.LDAPSURL, "start_tls", nil}, addr, "connecting"},
	} {
		p := ldapPlugin(t, s, c.kv...)
		_, _, err := run(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "vpn"})
		sdktest.WantError(t, err, "tls", false, fmt.Sprintf("TLS with the directory at %s (backend directory) failed while %s: its certificate is signed by a CA this plugin does not trust (x509: certificate signed by unknown authority): set plugins.settings.access.backends.directory.ldap.ca_file to that CA's PEM file",
			c.addr, c.doing))
	}
	// ldaps:// to the plain port.
	p := ldapPlugin(t, s, "url", strings.Replace(s.URL, "ldap:", "ldaps:", 1), "start_tls", nil)
	_, _, err = run(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "vpn"})
	sdktest.WantError(t, err, "tls", false, fmt.Sprintf("TLS with the directory at %s (backend directory) failed while connecting: the server closed the connection during the TLS handshake; check that plugins.settings.access.backends.directory.ldap.url names the server's TLS port for ldaps://, or its plain port for start_tls",
		s.Addr()))
	// The system's roots do not know the test CA either.
	p = ldapPlugin(t, s, "ca_file", nil)
	_, _, err = run(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "vpn"})
	sdktest.WantErrorContaining(t, err, "tls", false, "certificate signed by unknown authority")
}

// TestTLSProblems: what the plugin says of the TLS failures go-ldap
// reports as text.
func TestTLSProblems(t *testing.T) {
	const settings = "plugins.settings.access.backends.directory.ldap"
	for _, c := range []struct{ err, want string }{
		{"TLS handshake failed (tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not ldap.example.org)",
			"its certificate is not for ldap.example.org:389 (tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not ldap.example.org): put a host name the certificate names in " + settings + ".url"},
		{"TLS handshake failed (tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time ...)",
			"its certificate is not valid (tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time ...)"},
		{"TLS handshake failed (tls: first record does not look like a TLS handshake)",
			"the TLS handshake failed (tls: first record does not look like a TLS handshake): check that " + settings + ".url names the server's TLS port for ldaps://, or its plain port for start_tls"},
	} {
		got, ok := tlsProblem(errors.New(c.err), "ldap.example.org:389", settings)
		if !ok || got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.err, got, c.want)
		}
	}
	if _, ok := tlsProblem(errors.New("dial tcp: connection refused"), "x", settings); ok {
		t.Error("a refused connection is a TLS problem")
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestLDAPTimeout: a directory that accepts and never answers.
func TestLDAPTimeout(t *testing.T) {
	s := startDirectory(t, ldaptest.GroupOfNames)
	addr := silentServer(t)
	for _, kv := range [][]any{
		{"url", "ldap://" + addr, "timeout", "200ms"},
		{"url", "ldap://" + addr, "timeout", "200ms", "start_tls", nil},
	} {
		p := ldapPlugin(t, s, kv...)
		_, _, err := run(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "vpn"})
		sdktest.WantErrorContaining(t, err, "connection", true, "the directory at "+addr+" (backend directory) did not answer within 200ms while ")
	}
}

// ghFault makes the fake answer status with body (and headers) to every
// request.
func ghFault(f *fakeGitHub, status int, body string, header ...string) {
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	})
}

func TestGitHubFaults(t *testing.T) {
	f := newFakeGitHub(t)
	settings := "plugins.settings.access.backends.github.github"
	reset := strconv.FormatInt(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Unix(), 10)
	for _, c := range []struct {
		status    int
		body      string
		header    []string
		code      string
		retryable bool
		want      string
	}{
		{401, `{"message":"Bad credentials: ` + testToken + `","documentation_url":"https://docs.github.com/rest"}`, nil, "auth_failed", false,
			"GitHub refused the token (401 Unauthorized) while reading the organization membership of ana: check " + settings + ".token"},
		{403, `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest"}`, nil, "auth_failed", false,
			"the token may not do this (403 Forbidden: Resource not accessible by integration) while reading the organization membership of ana: it needs the admin:org scope, or a fine-grained token with the organization's Members permission (read and write)"},
		{500, `{"message":"Server Error"}`, nil, "connection", true, "GitHub answered 500 Internal Server Error while reading the organization membership of ana: Server Error"},
		{502, `<html>bad gateway</html>`, nil, "connection", true, "GitHub answered 502 Bad Gateway while reading the organization membership of ana: no details"},
		{429, `{"message":"Too many requests"}`, nil, "connection", true, "GitHub answered 429 Too Many Requests while reading the organization membership of ana: Too many requests"},
		{403, `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			[]string{"Retry-After", "60"}, "connection", true, "GitHub's secondary rate limit stopped reading the organization membership of ana: try again in 1m0s"},
		{422, `{"message":"Validation Failed","errors":[{"code":"invalid"}]}`, nil, "backend_error", false,
			"GitHub refused reading the organization membership of ana (422 Unprocessable Entity): Validation Failed"},
		{301, ``, []string{"Location", "https://evil.example.org/steal"}, "backend_error", false,
			"GitHub answered 301 Moved Permanently while reading the organization membership of ana (a redirect, not followed: the token goes to base_url only): check " + settings + ".base_url and org"},
		{200, `{"state": 7}`, nil, "backend_error", false,
			"GitHub answered malformed JSON while reading the organization membership of ana: json: cannot unmarshal number into Go struct field Membership.state of type string"},
	} {
		p := githubPlugin(t, f) // a fresh client: go-github remembers rate limits
		ghFault(f, c.status, c.body, c.header...)
		f.reset()
		_, _, err := ghRun(t, p, "list_grants", map[string]any{"user": "ana", "backend": "github"})
		sdktest.WantError(t, err, c.code, c.retryable, c.want)
		if n := len(f.calls()); n != 1 {
			t.Errorf("%d: %d requests", c.status, n)
		}
	}

	// The primary rate limit: go-github then refuses without asking until
	// the reset.
	p := githubPlugin(t, f)
	ghFault(f, 403, `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`,
		"X-RateLimit-Limit", "5000", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", reset)
	f.reset()
	for range 2 {
		_, _, err := ghRun(t, p, "disable_account", map[string]any{"backend": "github", "user": "ana"})
		sdktest.WantError(t, err, "connection", true, "GitHub's rate limit for the token is used up until 2030-01-02T03:04:05Z, while reading the organization membership of ana: try again after that")
	}
	if n := len(f.calls()); n != 1 {
		t.Errorf("%d requests: the second call should not have asked", n)
	}
	f.setFault(nil)
}

func TestGitHubUnreachable(t *testing.T) {
	f := newFakeGitHub(t)
	// Hangs: the timeout.
	f.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		f.mu.Unlock()
		defer f.mu.Lock()
		<-r.Context().Done()
		return true
	})
	p := githubPlugin(t, f, "timeout", "100ms")
	host := strings.TrimSuffix(strings.TrimPrefix(f.url, "http://"), "/")
	_, _, err := ghRun(t, p, "list_members", map[string]any{"backend": "github", "group": "sre"})
	sdktest.WantError(t, err, "connection", true, "GitHub at "+host+" did not answer within 100ms while listing the members of the team sre")

	// Nothing listens.
	addr := peertest.RefusedAddr(t) // nothing listens there, nor can another process
	p = start(t, map[string]any{"backends": map[string]any{"gh": map[string]any{"type": "github",
		"github": map[string]any{"org": "stewardhq", "token": testToken, "base_url": "http://" + addr + "/"}}}})
	_, _, err = ghRun(t, p, "grant", map[string]any{"backend": "gh", "group": "sre", "user": "ana"})
	sdktest.WantError(t, err, "connection", true, "could not reach GitHub at "+addr+" while reading the membership of ana in the team sre: dial tcp "+addr+
		": connect: connection refused; check plugins.settings.access.backends.gh.github.base_url")
}
