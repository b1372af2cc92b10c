package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if largeHome != "" {
		os.RemoveAll(largeHome)
	}
	if code == 0 {
		// database/sql's connection opener of the stores the tests close.
		if err := goleak.Find(goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// refundRunbook needs an approval by payments-leads: a run started by a
// member waits, and the member who started it may not decide it (four
// eyes).
const refundRunbook = `version: 1
name: refund-card
title: Refund a card payment
description: Looks the payment up, then refunds it once a lead approves.
tags: [payments, card]
inputs:
  payment_id:
    type: string
    required: true
    pattern: '^pay_[A-Za-z0-9]{6,}$'
    description: Payment id from the ticket
  channel:
    type: string
    enum: [email, chat]
    default: email
  amount:
    type: integer
    default: 10
  api_token:
    type: string
    secret: true
    description: Token of the payments API
steps:
  - id: lookup
    name: Look up the payment
    action: core.set
    with:
      payment: '${{ inputs.payment_id }}'
      token: '${{ inputs.api_token ?? "none" }}'
  - id: note
    action: core.log
    with:
      message: 'looking at ${{ inputs.payment_id }}'
  - id: refund
    approval:
      message: 'Refund ${{ inputs.amount }} on ${{ inputs.payment_id }}?'
      approvers: [payments-leads]
    action: core.set
    with:
      refunded: true
outputs:
  refunded: '${{ steps.refund.outputs.refunded }}'
`

// fixture is a console over a real run service on SQLite, with the
// refund-card runbook in a folder.
type fixture struct {
	t       testing.TB
	store   *sqlite.Store
	svc     *runs.Service
	folder  string
	grants  map[string][]auth.Grant
	console *Console
}

func newFixture(t testing.TB, oidc *OIDC) *fixture {
	t.Helper()
	return newFixtureAt(t, oidc, t.TempDir())
}

// newFixtureAt is a fixture over the journal under home.
func newFixtureAt(t testing.TB, oidc *OIDC, home string) *fixture {
	t.Helper()
	folder := t.TempDir()
	if err := os.WriteFile(filepath.Join(folder, "refund-card.yaml"), []byte(refundRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := clockwork.NewRealClock()
	folders := []string{folder}
	svc := runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				panic(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, folders)
		},
		Policy: journal.Policy{Groups: map[string][]string{"payments-leads": {"ana", "lea"}}, Config: "steward.yaml"},
		Host:   "test", PID: os.Getpid(),
	})
	f := &fixture{store: store, svc: svc, folder: folder, grants: map[string][]auth.Grant{
		"ana":    {{Role: auth.Approver, Runbooks: "*"}},
		"lea":    {{Role: auth.Admin, Runbooks: "*"}},
		"viewer": {{Role: auth.Viewer, Runbooks: "*"}},
	}}
	f.t = t
	c, err := New(context.Background(), Config{Runs: svc, Store: store, OIDC: oidc,
		Runbooks:   func() ([]*runbooks.Entry, error) { return runbooks.List(folders) },
		Resolve:    func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, folders) },
		Grants:     func(sub string) []auth.Grant { return f.grants[sub] },
		SessionKey: []byte("0123456789abcdef0123456789abcdef"), Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.console = c
	return f
}

// client is a browser-like HTTP client of the console, logged in as
// subject (a session cookie the console signed), that does not follow
// redirects.
type client struct {
	t    testing.TB
	srv  *httptest.Server
	http *http.Client
}

func (f *fixture) client(srv *httptest.Server, subject string) *client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(srv.URL)
	if subject != "" {
		s := session{ID: "sid-" + subject, Subject: subject, Expires: time.Now().Add(time.Hour)}
		b := f.console.cookies
		jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: b.sign(mustJSON(s)), Path: "/"}})
	}
	return &client{t: f.t, srv: srv, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, readBody(c.t, resp)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.srv.URL+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, readBody(c.t, resp)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the CSRF token of the page at path.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF token in %s", path)
	}
	return m[1]
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// waitStatus polls the run service until the run has status (the
// timeline's own condition, not a timed assertion: the test fails only
// at its deadline).
func (f *fixture) waitStatus(t testing.TB, id, status string) *runs.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		r, err := f.svc.Get(ctx, id)
		if err == nil && r.State.Run.Status == status && !r.Live {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("run %s never reached %s (last: %v, %v)", id, status, r, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
