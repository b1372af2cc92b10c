package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/api/client"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"go.uber.org/goleak"
)

// The server's runs and the client's connections: none may outlive the
// tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const napRunbook = `version: 1
name: nap
inputs:
  who: {type: string, pattern: '^[a-z]+$', default: ana}
steps:
  - id: hello
    action: core.log
    with: {message: 'hello ${{ inputs.who }}'}
  - id: nap
    action: core.sleep
    with: {duration: 300ms}
  - id: done
    action: core.set
    with: {done: true}
`

// server is a real API server (engine/api over the run service on a
// real SQLite store) authenticating real bearer tokens (engine/auth),
// behind a proxy the test may make cut a response.
type server struct {
	store  *sqlite.Store
	tokens map[string]string // by role
	direct string            // the API server's URL
	url    string            // the proxy's
	// cut, when set, decides whether to cut a response (its request's
	// path) after the first write holding after.
	mu  sync.Mutex
	cut func(path string) (after string, ok bool)
	// drop: a cut ends the response cleanly rather than aborting it.
	drop bool
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nap.yaml"), []byte(napRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	folders := []string{dir}
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, folders)
		},
		Host: "test", PID: os.Getpid(),
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens := auth.NewTokens(auth.TokensConfig{Store: store, Service: svc, Log: quiet})
	s := &server{store: store, tokens: map[string]string{}}
	for _, role := range []auth.Role{auth.Viewer, auth.Operator} {
		tok, _, err := tokens.Create(context.Background(), auth.CreateRequest{Name: role.String(), Role: role, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[role.String()] = tok
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := api.New(ctx, api.Config{Runs: svc, Store: store,
		Runbooks:     func() ([]*runbooks.Entry, error) { return runbooks.List(folders) },
		Resolve:      func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, folders) },
		Authenticate: tokens.Middleware, KeepAlive: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	direct := httptest.NewServer(a)
	target, _ := url.Parse(direct.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0) // the cuts the tests make
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var after string
		ok, drop := false, s.drop
		if s.cut != nil {
			after, ok = s.cut(r.URL.Path)
		}
		s.mu.Unlock()
		if ok {
			w = &cutWriter{ResponseWriter: w, after: after, drop: drop}
		}
		rp.ServeHTTP(w, r)
	}))
	s.direct, s.url = direct.URL, proxy.URL
	t.Cleanup(func() {
		proxy.Close()
		direct.Close()
		if err := a.Wait(context.Background()); err != nil {
			t.Error(err)
		}
		cancel()
		store.Close()
	})
	return s
}

// cutWriter cuts a response right after the first time what it sent
// holds after: it aborts the connection, or with drop it ends the
// response there, cleanly.
type cutWriter struct {
	http.ResponseWriter
	after string
	drop  bool
	sent  bytes.Buffer
	done  bool
}

func (w *cutWriter) Write(b []byte) (int, error) {
	if w.done {
		return len(b), nil
	}
	before := w.sent.Len()
	w.sent.Write(b)
	i := strings.Index(w.sent.String(), w.after)
	if i < 0 {
		return w.ResponseWriter.Write(b)
	}
	_, _ = w.ResponseWriter.Write(b[:i+len(w.after)-before])
	_ = http.NewResponseController(w.ResponseWriter).Flush()
	w.done = true
	if !w.drop {
		panic(http.ErrAbortHandler)
	}
	return len(b), nil
}

func (w *cutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// cutting sets how the proxy cuts responses (see server.cut).
func (s *server) cutting(drop bool, cut func(path string) (string, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut, s.drop = cut, drop
}

func (s *server) client(t *testing.T, role string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{URL: s.url, Token: s.tokens[role], Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// records are the run's records in the store.
func (s *server) records(t *testing.T, id string) []journal.Record {
	t.Helper()
	var recs []journal.Record
	if err := s.store.Records(context.Background(), id, time.Time{}, func(r journal.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestEventsReconnect: a run's event stream cut after its first event is
// connected again with Last-Event-ID: every record arrives once, in
// order, up to the run's end; the run document then gives its result.
func TestEventsReconnect(t *testing.T) {
	s := newServer(t)
	cuts := 0 // counted under s.mu
	s.cutting(false, func(path string) (string, bool) {
		if strings.HasSuffix(path, "/events") && cuts == 0 {
			cuts++
			return "\n\n", true // after the first event
		}
		return "", false
	})
	c := s.client(t, "operator")
	ctx := context.Background()
	st, err := c.Start(ctx, api.StartRequest{Runbook: "nap"})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	last, err := c.Events(ctx, st.ID, 0, func(e api.Event) error {
		got = append(got, e.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	recs := s.records(t, st.ID)
	s.mu.Lock()
	n := cuts
	s.mu.Unlock()
	if len(got) != len(recs) || last != recs[len(recs)-1].Seq || n != 1 {
		t.Fatalf("received %v (last %d) after %d cut, the journal holds %d records", got, last, n, len(recs))
	}
	for i, r := range recs {
		if got[i] != r.Seq {
			t.Fatalf("event %d is record %d, want %d: %v", i, got[i], r.Seq, got)
		}
	}
	d, err := c.Get(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	res := d.Result()
	if res.Status != engine.StatusSucceeded || res.Duration <= 0 || len(res.Steps) != 3 || res.Steps[2].Outputs == nil {
		t.Fatalf("result %+v", res)
	}
}

// TestProblems: the API's errors arrive as typed problems.
func TestProblems(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		call   func() error
		status int
		slug   string
		detail string
	}{
		{"no such run", func() error { _, err := s.client(t, "viewer").Get(ctx, "20261121-101502-3fa9c2d1"); return err },
			404, "run-not-found", ""},
		{"a viewer starts", func() error { _, err := s.client(t, "viewer").Start(ctx, api.StartRequest{Runbook: "nap"}); return err },
			403, "forbidden", "viewer needs the operator role on runbook nap, and has viewer"},
		{"invalid inputs", func() error {
			_, err := s.client(t, "operator").Start(ctx, api.StartRequest{Runbook: "nap", Inputs: map[string]any{"who": "Ana"}})
			return err
		}, 422, "invalid-inputs", ""},
		{"an unknown token", func() error {
			c, err := client.New(client.Config{URL: s.url, Token: "stw_nope"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Verify(ctx, "")
			return err
		}, 401, "", "the bearer token is not valid"},
	}
	for _, c := range cases {
		err := c.call()
		var pe *client.ProblemError
		if !errors.As(err, &pe) || pe.Status != c.status || (c.slug != "" && pe.Slug() != c.slug) || !strings.Contains(pe.Error(), c.detail) {
			t.Fatalf("%s: %#v (%v)", c.name, err, err)
		}
		if c.slug == "invalid-inputs" && (len(pe.Errors) != 1 || pe.Errors[0].Path != "inputs.who") {
			t.Fatalf("%s: errors %+v", c.name, pe.Errors)
		}
	}
}

// TestUnreachable: a server that does not listen is named.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c, err := client.New(client.Config{URL: addr, Token: "stw_x"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(context.Background(), "x")
	var un *client.UnreachableError
	if !errors.As(err, &un) || !strings.HasPrefix(err.Error(), "cannot reach steward serve at "+addr+": ") {
		t.Fatalf("%v", err)
	}
	for _, bad := range []client.Config{{URL: "localhost:8080", Token: "t"}, {URL: addr}} {
		if _, err := client.New(bad); !errors.Is(err, client.ErrConfig) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}

// TestExport: the export arrives whole and verifies; one cut before its
// export.end line is ErrTruncated.
func TestExport(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	op := s.client(t, "operator")
	st, err := op.Start(ctx, api.StartRequest{Runbook: "nap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Events(ctx, st.ID, 0, func(api.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := s.client(t, "viewer").Export(ctx, "", time.Time{}, &b)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := journal.VerifyFile(bytes.NewReader(b.Bytes()))
	if err != nil || rep.Problem != nil || rep.Records != n || n == 0 {
		t.Fatalf("export of %d records: %+v %v", n, rep, err)
	}
	// Cut inside a record: the connection broke, or the answer ended
	// early (the server failed mid-export: it logs it and stops).
	cut := func(path string) (string, bool) {
		return `"type":"run.finished"`, strings.HasSuffix(path, "/audit/export")
	}
	s.cutting(false, cut)
	_, err = s.client(t, "viewer").Export(ctx, "", time.Time{}, io.Discard)
	var un *client.UnreachableError
	if !errors.As(err, &un) {
		t.Fatalf("an export whose connection broke: %v", err)
	}
	s.cutting(true, cut)
	_, err = s.client(t, "viewer").Export(ctx, "", time.Time{}, io.Discard)
	if !errors.Is(err, client.ErrTruncated) {
		t.Fatalf("an export that ended early: %v", err)
	}
}
