package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMCPServe: the same tools over Streamable HTTP at /mcp of the real
// steward serve, with tokens made by steward tokens create: an operator
// runs, a viewer is refused, no token is 401; SIGTERM with a client
// connected still stops the server.
func TestMCPServe(t *testing.T) {
	dir, home := mcpSetup(t)
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\nserver: {url: https://steward.example.com}\nmcp:\n  runbooks: [decline-reply, refund-ask]\n")
	token := func(name, role string) string {
		r := homeRun(t, dir, home, nil, "tokens", "create", name, "--role", role)
		wantCode(t, r, 0, "tokens create "+name)
		return strings.TrimSpace(r.stdout)
	}
	op, viewer := token("support-bot", "operator"), token("vic", "viewer")
	srv := startServe(t, dir, home)
	url := "http://" + srv.addr + "/mcp"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connect := func(tok string) *mcp.ClientSession {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "support-assistant", Version: "1"}, nil).
			Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearerTransport{tok}}}, nil)
		if err != nil {
			t.Fatalf("connecting to %s: %v\n%s", url, err, srv.log.String())
		}
		return cs
	}
	cs := connect(op)
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) != 2 {
		t.Fatalf("tools %v %v", tools, err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "decline-reply", Arguments: map[string]any{"decline_code": "expired_card"}})
	if err != nil || res.IsError || res.StructuredContent.(map[string]any)["status"] != "succeeded" {
		t.Fatalf("decline-reply over HTTP: %v %s", err, mcpText(res))
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "refund-ask", Arguments: map[string]any{"payment_id": "pay_ABCDEF12", "amount": 300}})
	if err != nil || res.IsError {
		t.Fatalf("refund-ask over HTTP: %v %s", err, mcpText(res))
	}
	sc := res.StructuredContent.(map[string]any)
	id := sc["run_id"].(string)
	if w := sc["waiting"].([]any)[0].(map[string]any); w["url"] != "https://steward.example.com/runs/"+id {
		t.Errorf("waiting %v", w)
	}
	vs := connect(viewer)
	res, err = vs.CallTool(ctx, &mcp.CallToolParams{Name: "decline-reply", Arguments: map[string]any{"decline_code": "expired_card"}})
	if err != nil || !res.IsError || mcpText(res) != "refused: vic needs the operator role on runbook decline-reply, and has viewer; nothing ran" {
		t.Errorf("viewer: %v %s", err, mcpText(res))
	}
	code, body := srv.get(t, "/mcp")
	if code != http.StatusUnauthorized || !strings.Contains(body, "bearer token") {
		t.Errorf("no token: %d %s", code, body)
	}
	_ = vs.Close()

	// The journal: the token's subject, origin mcp.
	show := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	wantCode(t, show, 0, "steward show")
	if !strings.Contains(show.stdout, `"actor": "support-bot"`) || !strings.Contains(show.stdout, `"kind": "mcp"`) {
		t.Errorf("show:\n%s", show.stdout)
	}
	if n := strings.Count(homeRun(t, dir, home, nil, "runs", "--runbook", "decline-reply", "-o", "json").stdout, `"id"`); n != 1 {
		t.Errorf("%d runs of decline-reply, want the operator's only", n)
	}
	// SIGTERM while the operator's session (and its event stream) is open.
	if code := srv.stop(t); code != 0 {
		t.Errorf("steward serve exited %d:\n%s", code, srv.log.String())
	}
	_ = cs.Close()
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), 0, "steward audit verify")
}
