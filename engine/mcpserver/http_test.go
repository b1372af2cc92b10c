package mcpserver_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/mcpserver"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	helloRunbook = `version: 1
name: hello
title: Say hello
description: Greets someone.
inputs:
  name: {type: string, required: true, description: Who to greet}
steps:
  - id: greet
    action: core.set
    with: {text: 'hello ${{ inputs.name }}'}
  - id: log
    action: core.log
    with: {message: done}
outputs:
  greeting: ${{ steps.greet.outputs.text }}
`
	askRunbook = `version: 1
name: ask
title: Ask before acting
steps:
  - id: act
    approval: {message: 'go on?', approvers: [lead]}
    action: core.set
    with: {done: true}
`
)

// fixture is a run service on a real SQLite journal, the tokens it
// records, and the MCP server mounted at /mcp of a real HTTP server, as
// steward serve mounts it.
type fixture struct {
	store  *sqlite.Store
	svc    *runs.Service
	tokens *auth.Tokens
	url    string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"hello": helloRunbook, "ask": askRunbook} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{Store: store, Clock: clock, Host: "test", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		}})
	tokens := auth.NewTokens(auth.TokensConfig{Store: store, Service: svc, Clock: clock, Log: slog.New(slog.DiscardHandler)})
	srv, err := mcpserver.New(mcpserver.Config{
		Runs:     svc,
		Runbooks: []string{"hello", "ask"},
		Resolve:  func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, []string{dir}) },
		URL:      "https://steward.example.com",
		Version:  "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", srv.Handler(tokens.Middleware))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		store.Close()
	})
	return &fixture{store: store, svc: svc, tokens: tokens, url: hs.URL + "/mcp"}
}

func (f *fixture) token(t *testing.T, name string, role auth.Role, glob string) string {
	t.Helper()
	tok, _, err := f.tokens.Create(context.Background(), auth.CreateRequest{Name: name, Role: role, Runbooks: glob, Actor: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// bearer adds a bearer token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func (f *fixture) connect(t *testing.T, ctx context.Context, token string, progress func(*mcp.ProgressNotificationParams)) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "ops-assistant", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			if progress != nil {
				progress(r.Params)
			}
		},
	})
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.url, HTTPClient: &http.Client{Transport: bearer{token}},
		DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// runs are the runs of hello (the journal also records the tokens'
// creations as runs).
func (f *fixture) runs(t *testing.T) []journal.Run {
	t.Helper()
	var out []journal.Run
	if err := f.store.Runs(context.Background(), journal.Filter{Runbook: "hello"}, func(r journal.Run) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestHTTPOperatorRunsWithProgress(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var notes []string
	cs := f.connect(t, ctx, f.token(t, "ops-bot", auth.Operator, ""), func(p *mcp.ProgressNotificationParams) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, p.Message)
	})
	params := &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Ana"}}
	params.SetProgressToken(7)
	res, err := cs.CallTool(ctx, params)
	if err != nil || res.IsError {
		t.Fatalf("hello: %v %s", err, text(res))
	}
	sc := res.StructuredContent.(map[string]any)
	id := sc["run_id"].(string)
	if sc["status"] != "succeeded" || sc["outputs"].(map[string]any)["greeting"] != "hello Ana" {
		t.Fatalf("hello: %v", sc)
	}
	// Notifications are sent before the result; the client may hand them
	// to the handler after it returned the result: wait for them.
	want := "run " + id + " started; step greet succeeded; step log succeeded"
	got := ""
	for ctx.Err() == nil {
		mu.Lock()
		got = strings.Join(notes, "; ")
		mu.Unlock()
		if len(got) >= len(want) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got != want {
		t.Errorf("progress over HTTP: %q, want %q", got, want)
	}
	// The journal: the token's subject is the actor, the origin says mcp.
	st, err := f.svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State.Run.Actor != "ops-bot" || st.State.Origin.Trigger == nil || *st.State.Origin.Trigger != (journal.Trigger{Kind: "mcp", Name: "ops-assistant"}) {
		t.Errorf("run %+v origin %+v", st.State.Run, st.State.Origin)
	}

	// A waiting run links to the server's page of the run.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("ask: %v %s", err, text(res))
	}
	sc = res.StructuredContent.(map[string]any)
	askID := sc["run_id"].(string)
	w := sc["waiting"].([]any)[0].(map[string]any)
	if sc["status"] != "waiting" || w["url"] != "https://steward.example.com/runs/"+askID || w["approve"] != "steward approve "+askID+" act" ||
		!strings.Contains(text(res), "waiting for a person to approve") {
		t.Errorf("ask: %v\n%s", sc, text(res))
	}

	// Its runs, and a run's record.
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "steward://runs"})
	if err != nil {
		t.Fatal(err)
	}
	if body := rr.Contents[0].Text; !strings.Contains(body, `"actor": "ops-bot"`) || strings.Count(body, `"id": `) != 2 {
		t.Errorf("steward://runs: %s", body)
	}
	rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: mcpserver.RunURI(id)})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Run     journal.Run    `json:"run"`
		Outputs map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(rr.Contents[0].Text), &doc); err != nil || doc.Run.ID != id || doc.Outputs["greeting"] != "hello Ana" {
		t.Errorf("run record: %v %s", err, rr.Contents[0].Text)
	}
}

func TestHTTPViewerRefused(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op := f.connect(t, ctx, f.token(t, "ops-bot", auth.Operator, ""), nil)
	res, err := op.CallTool(ctx, &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Ana"}})
	if err != nil || res.IsError {
		t.Fatalf("hello: %v %s", err, text(res))
	}
	opRun := res.StructuredContent.(map[string]any)["run_id"].(string)

	viewer := f.connect(t, ctx, f.token(t, "vic", auth.Viewer, ""), nil)
	res, err = viewer.CallTool(ctx, &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Bo"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "refused: vic needs the operator role on runbook hello, and has viewer; nothing ran"; !res.IsError || text(res) != want {
		t.Errorf("viewer's call: error %v %q, want %q", res.IsError, text(res), want)
	}
	if n := len(f.runs(t)); n != 1 {
		t.Errorf("%d runs in the journal, want only the operator's", n)
	}
	// A viewer of the runbook reads its runs; one with a role on other
	// runbooks only does not learn they exist.
	if _, err := viewer.ReadResource(ctx, &mcp.ReadResourceParams{URI: mcpserver.RunURI(opRun)}); err != nil {
		t.Errorf("a viewer cannot read the run: %v", err)
	}
	other := f.connect(t, ctx, f.token(t, "carla", auth.Operator, "card-*"), nil)
	if _, err := other.ReadResource(ctx, &mcp.ReadResourceParams{URI: mcpserver.RunURI(opRun)}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("an operator of card-* read a run of hello: %v", err)
	}
	res, err = other.CallTool(ctx, &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Bo"}})
	if err != nil || !res.IsError || !strings.Contains(text(res), "carla needs the operator role on runbook hello, and has none") {
		t.Errorf("carla's call: %v %s", err, text(res))
	}
}

func TestHTTPNoToken(t *testing.T) {
	f := newFixture(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, auth := range []string{"", "Bearer stw_not-a-token"} {
		req, _ := http.NewRequest(http.MethodPost, f.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
			resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("Authorization %q: %d %v", auth, resp.StatusCode, resp.Header)
		}
	}
	// The SDK's client cannot connect without one either.
	client := mcp.NewClient(&mcp.Implementation{Name: "x", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.url, MaxRetries: -1}, nil); err == nil {
		cs.Close()
		t.Fatal("connected without a token")
	}
	if n := len(f.runs(t)); n != 0 {
		t.Errorf("%d runs", n)
	}
}

// A session belongs to the subject that opened it: its id presented with
// another subject's token is refused.
func TestHTTPSessionBoundToSubject(t *testing.T) {
	f := newFixture(t)
	ana, bo := f.token(t, "ana", auth.Operator, ""), f.token(t, "bo", auth.Operator, "")
	post := func(token, session, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, f.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post(ana, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
	session := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || session == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, session)
	}
	resp = post(bo, session, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another subject's token on the session: %d, want 403", resp.StatusCode)
	}
	// Ana ends her session, as a client does.
	req, _ := http.NewRequest(http.MethodDelete, f.url, nil)
	req.Header.Set("Authorization", "Bearer "+ana)
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Errorf("DELETE the session: %d", resp.StatusCode)
	}
}
