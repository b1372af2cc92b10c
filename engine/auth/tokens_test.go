package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
)

// replica is one process's view of a shared store: its own store handle,
// run service and Tokens.
type replica struct {
	store  *sqlite.Store
	svc    *runs.Service
	tokens *auth.Tokens
}

func newReplica(t *testing.T, home string, clock clockwork.Clock, grants func(string) []auth.Grant) *replica {
	t.Helper()
	s, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	svc := runs.New(runs.Config{Store: s, Clock: clock, Host: "test", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			_ = reg.Register(core.Actions(clock, sub)...)
			return reg
		}})
	return &replica{store: s, svc: svc, tokens: auth.NewTokens(auth.TokensConfig{Store: s, Service: svc, Grants: grants, Clock: clock})}
}

func TestTokensCreateAuthenticateRevoke(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
	home := t.TempDir()
	grants := func(subject string) []auth.Grant {
		if subject == "ana" {
			return []auth.Grant{{Role: auth.Approver, Runbooks: "card-*"}}
		}
		return nil
	}
	a := newReplica(t, home, clock, grants)
	b := newReplica(t, home, clock, grants)

	token, tok, err := a.tokens.Create(ctx, auth.CreateRequest{Name: "ana-laptop", Subject: "ana", Role: auth.Viewer, Actor: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, auth.TokenPrefix) || len(token) != len(auth.TokenPrefix)+43 || tok.Subject != "ana" || tok.Role != "viewer" || tok.CreatedBy != "root" {
		t.Fatalf("token %q %+v", token, tok)
	}
	// The other replica knows it at once: it reads the journal the
	// first time it is asked.
	p, _, err := b.tokens.Authenticate(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "ana" || p.Via != "token ana-laptop" || !p.Can(auth.Viewer, "anything") || !p.Can(auth.Approver, "card-refund") || p.Can(auth.Approver, "leaver") {
		t.Fatalf("principal %+v", p)
	}
	if _, _, err := b.tokens.Authenticate(ctx, token+"x"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("a tampered token: %v", err)
	}
	// A live name cannot be created again, on either replica.
	if _, _, err := b.tokens.Create(ctx, auth.CreateRequest{Name: "ana-laptop", Role: auth.Admin, Actor: "root"}); !errors.Is(err, auth.ErrTokenExists) {
		t.Fatalf("a second ana-laptop: %v", err)
	}

	if _, err := a.tokens.Revoke(ctx, "ana-laptop", "root"); err != nil {
		t.Fatal(err)
	}
	// Replica b looked at the journal less than Refresh ago: it goes on
	// with what it knows until Refresh has passed, then refuses.
	if _, _, err := b.tokens.Authenticate(ctx, token); err != nil {
		t.Fatalf("within the refresh interval: %v", err)
	}
	clock.Advance(auth.DefaultRefresh)
	if _, name, err := b.tokens.Authenticate(ctx, token); !errors.Is(err, auth.ErrTokenRevoked) || name != "ana-laptop" {
		t.Fatalf("after a refresh: %v (%s); want revoked", err, name)
	}
	if _, err := b.tokens.Revoke(ctx, "ana-laptop", "root"); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("revoked twice: %v", err)
	}
	if _, err := b.tokens.Revoke(ctx, "nobody", "root"); !errors.Is(err, auth.ErrTokenNotFound) {
		t.Fatalf("revoking an unknown token: %v", err)
	}
	// The name is free again; the new token is another one.
	token2, _, err := b.tokens.Create(ctx, auth.CreateRequest{Name: "ana-laptop", Subject: "ana", Role: auth.Operator, Runbooks: "card-*", Actor: "root"})
	if err != nil || token2 == token {
		t.Fatalf("recreated: %v", err)
	}
	clock.Advance(auth.DefaultRefresh)
	if p, _, err := a.tokens.Authenticate(ctx, token2); err != nil || !p.Can(auth.Operator, "card-x") || p.Can(auth.Operator, "other") {
		t.Fatalf("the new token: %+v %v", p, err)
	}
	if _, _, err := a.tokens.Authenticate(ctx, token); !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("the old token: %v", err)
	}

	list, err := a.tokens.List(ctx)
	if err != nil || len(list) != 1 || list[0].Revoked || list[0].Role != "operator" {
		t.Fatalf("list %+v %v", list, err)
	}
	// The journal holds the changes, never a token, and verifies.
	var changes []string
	err = a.store.Records(ctx, "", time.Time{}, func(r journal.Record) error {
		if bytes.Contains(r.Body, []byte(token)) || bytes.Contains(r.Body, []byte(token2)) {
			t.Errorf("record %d holds a token", r.Seq)
		}
		if r.Type == journal.ChangeRecorded {
			d, _ := r.Decode()
			changes = append(changes, d.Change.Kind)
		}
		return nil
	})
	if err != nil || strings.Join(changes, ",") != "token.created,token.revoked,token.created" {
		t.Fatalf("changes %v %v", changes, err)
	}
	if rep, err := journal.Verify(ctx, a.store, ""); err != nil || rep.Problem != nil {
		t.Fatalf("verify %+v %v", rep, err)
	}
}

func TestTokensCreateRefusesBadInput(t *testing.T) {
	r := newReplica(t, t.TempDir(), clockwork.NewRealClock(), nil)
	for _, req := range []auth.CreateRequest{
		{Name: "Bad Name", Role: auth.Viewer, Actor: "root"},
		{Name: "ok", Subject: "two words", Role: auth.Viewer, Actor: "root"},
		{Name: "ok", Role: auth.None, Actor: "root"},
		{Name: "ok", Role: auth.Viewer, Runbooks: "[", Actor: "root"},
		{Name: "ok", Role: auth.Viewer},
	} {
		if _, _, err := r.tokens.Create(context.Background(), req); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%+v: %v", req, err)
		}
	}
	if list, err := r.tokens.List(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("something was recorded: %v %v", list, err)
	}
}

// The middleware against tokens in a real store: the principal reaches
// the handler; no token, an unknown or a revoked one get 401 problem+json
// with WWW-Authenticate: Bearer, and the log never holds the token.
func TestMiddleware(t *testing.T) {
	ctx := context.Background()
	r := newReplica(t, t.TempDir(), clockwork.NewRealClock(), nil)
	var logs bytes.Buffer
	tokens := auth.NewTokens(auth.TokensConfig{Store: r.store, Service: r.svc, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	token, _, err := tokens.Create(ctx, auth.CreateRequest{Name: "ci", Subject: "ci-bot", Role: auth.Operator, Actor: "root"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := tokens.Create(ctx, auth.CreateRequest{Name: "old", Role: auth.Admin, Actor: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Revoke(ctx, "old", "root"); err != nil {
		t.Fatal(err)
	}
	h := tokens.Middleware(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p, ok := auth.From(req.Context())
		if !ok {
			t.Error("no principal")
		}
		io.WriteString(w, p.Subject+" via "+p.Via)
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	call := func(authz string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/runs", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	if res, body := call("Bearer " + token); res.StatusCode != 200 || body != "ci-bot via token ci" {
		t.Fatalf("valid token: %d %s", res.StatusCode, body)
	}
	for _, authz := range []string{"", "Basic abc", "Bearer stw_unknown", "Bearer " + revoked} {
		res, body := call(authz)
		var p map[string]any
		if res.StatusCode != 401 || res.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") || json.Unmarshal([]byte(body), &p) != nil ||
			p["status"] != 401.0 || p["title"] != "Unauthorized" || p["type"] != "urn:steward:problem:unauthenticated" || p["detail"] == "" {
			t.Errorf("%q: %d %v %s", authz, res.StatusCode, res.Header, body)
		}
	}
	if strings.Contains(logs.String(), revoked) || strings.Contains(logs.String(), token) {
		t.Fatalf("the log holds a token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "token_name=old") || strings.Count(logs.String(), "request refused") != 4 {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// BenchmarkAuthenticate: one request's authentication with 100 live
// tokens in a real SQLite journal, the head re-read every DefaultRefresh
// (real clock).
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	home := b.TempDir()
	s, err := sqlite.Open(home)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{Store: s, Clock: clock, Host: "bench", PID: os.Getpid()})
	tokens := auth.NewTokens(auth.TokensConfig{Store: s, Service: svc, Clock: clock})
	var token string
	for i := range 100 {
		if token, _, err = tokens.Create(ctx, auth.CreateRequest{Name: fmt.Sprintf("t%03d", i), Role: auth.Operator, Actor: "root"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := tokens.Authenticate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Two replicas creating the same name at once: one token is recorded,
// the other request is refused.
func TestTokensCreateRace(t *testing.T) {
	home := t.TempDir()
	clock := clockwork.NewRealClock()
	reps := []*replica{newReplica(t, home, clock, nil), newReplica(t, home, clock, nil)}
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = reps[i%2].tokens.Create(context.Background(), auth.CreateRequest{Name: "ci", Role: auth.Operator, Actor: "root"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, auth.ErrTokenExists):
			t.Fatalf("create: %v", err)
		}
	}
	list, err := reps[0].tokens.List(context.Background())
	if ok != 1 || err != nil || len(list) != 1 {
		t.Fatalf("%d created, list %v %v", ok, list, err)
	}
}

// blockingRuns is a journal whose Runs waits for release once block is
// set: a journal slow to list the token runs.
type blockingRuns struct {
	journal.Reader
	block   chan struct{} // Runs waits on it when not nil
	entered chan struct{}
}

func (b *blockingRuns) Runs(ctx context.Context, f journal.Filter, fn func(journal.Run) error) error {
	if b.block != nil {
		b.entered <- struct{}{}
		<-b.block
	}
	return b.Reader.Runs(ctx, f, fn)
}

// A request whose refresh is due does not wait while another request
// reads the journal: it is authenticated with the tokens known. The one
// reading sees the revocation another replica recorded.
func TestAuthenticateDoesNotWaitForARefresh(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
	home := t.TempDir()
	a := newReplica(t, home, clock, nil)
	slow := &blockingRuns{Reader: a.store}
	tokens := auth.NewTokens(auth.TokensConfig{Store: slow, Service: a.svc, Clock: clock})
	token, _, err := a.tokens.Create(ctx, auth.CreateRequest{Name: "bot", Role: auth.Operator, Actor: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tokens.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.tokens.Revoke(ctx, "bot", "root"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(auth.DefaultRefresh)
	slow.block, slow.entered = make(chan struct{}), make(chan struct{})
	reading := make(chan error, 1)
	go func() { _, _, err := tokens.Authenticate(ctx, token); reading <- err }()
	<-slow.entered // that request reads the journal, and waits

	done := make(chan error, 1)
	go func() { _, _, err := tokens.Authenticate(ctx, token); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a request during the refresh: %v, want the token known before it", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a request waited for another one's refresh")
	}
	close(slow.block)
	if err := <-reading; !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("the refreshing request: %v, want %v", err, auth.ErrTokenRevoked)
	}
	if _, _, err := tokens.Authenticate(ctx, token); !errors.Is(err, auth.ErrTokenRevoked) {
		t.Fatalf("after the refresh: %v, want %v", err, auth.ErrTokenRevoked)
	}
}
