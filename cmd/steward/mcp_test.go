package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The runbooks of the MCP tests beside the bundled decline-reply: one
// that waits for an approval, one with a secret input.
const (
	mcpRefund = `version: 1
name: refund-ask
title: Refund a card payment
description: Refunds after a lead approves.
inputs:
  payment_id: {type: string, required: true, pattern: '^pay_[A-Za-z0-9]{6,}$', description: Payment id from the ticket}
  amount: {type: integer, required: true, min: 1, description: In cents}
steps:
  - id: check
    action: core.set
    with: {payment: '${{ inputs.payment_id }}'}
  - id: refund
    approval: {message: 'Refund ${{ inputs.amount }}?'}
    action: core.set
    with: {refunded: '${{ inputs.amount }}'}
outputs:
  refunded: ${{ steps.refund.outputs.refunded ?? 0 }}
`
	mcpSecret = `version: 1
name: with-secret
title: Uses an API token
inputs:
  api_token: {type: string, secret: true, required: true}
  note: {type: string, default: hello}
steps:
  - id: use
    action: core.set
    with: {seen: '${{ len(inputs.api_token) }}', echo: 'token ${{ inputs.api_token }}'}
outputs:
  length: ${{ steps.use.outputs.seen }}
  echo: ${{ steps.use.outputs.echo }}
`
	mcpSecretValue = "sk_test_mcp_Zq81x"
)

// mcpSetup writes steward.yaml with the allow-list and the runbooks.
func mcpSetup(t *testing.T) (dir, home string) {
	dir, home = t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund-ask.yaml"), mcpRefund)
	writeFile(t, filepath.Join(dir, "runbooks", "with-secret.yaml"), mcpSecret)
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks]\nmcp:\n  runbooks: [decline-reply, refund-ask, with-secret]\n")
	return dir, home
}

// mcpConnect starts the real steward mcp process and connects the SDK's
// own client to it, as a desktop assistant named claude-desktop.
func mcpConnect(t *testing.T, ctx context.Context, dir, home string, progress func(*mcp.ProgressNotificationParams)) *mcp.ClientSession {
	t.Helper()
	cmd := exec.Command(steward, "--home", home, "--config", filepath.Join(dir, "steward.yaml"), "mcp", "--as", "alice")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "STEWARD_SECRET_API_TOKEN="+mcpSecretValue)
	cmd.Stderr = &lockedBuffer{}
	client := mcp.NewClient(&mcp.Implementation{Name: "Claude Desktop", Version: "1.0"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			if progress != nil {
				progress(req.Params)
			}
		},
	})
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connecting to steward mcp: %v\nstderr:\n%s", err, cmd.Stderr)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestMCPStdio(t *testing.T) {
	dir, home := mcpSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var notes []*mcp.ProgressNotificationParams
	cs := mcpConnect(t, ctx, dir, home, func(p *mcp.ProgressNotificationParams) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, p)
	})

	// The tools: the allow-list, with schemas from the runbooks' inputs.
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	var names []string
	for _, tl := range tools.Tools {
		byName[tl.Name] = tl
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	if want := []string{"decline-reply", "refund-ask", "with-secret"}; !slices.Equal(names, want) {
		t.Fatalf("tools %q, want %q", names, want)
	}
	dr := byName["decline-reply"]
	if !strings.HasPrefix(dr.Description, "Draft the customer reply for a declined card payment\n\nTurns a card decline code") {
		t.Errorf("decline-reply description %q", dr.Description)
	}
	wantSchema := map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []any{"decline_code"},
		"properties": map[string]any{
			"decline_code": map[string]any{"type": "string", "pattern": "^[a-z_]+$", "description": "The decline code from the payment, e.g. insufficient_funds"},
			"customer":     map[string]any{"type": "string", "default": "", "description": "The customer's first name, for the greeting; empty for a greeting without a name"},
			"language":     map[string]any{"type": "string", "enum": []any{"en", "zh"}, "default": "en", "description": "Language of the reply (zh is Simplified Chinese)"},
			"dry_run":      byName["decline-reply"].InputSchema.(map[string]any)["properties"].(map[string]any)["dry_run"],
		},
	}
	if !reflect.DeepEqual(dr.InputSchema, wantSchema) {
		got, _ := json.MarshalIndent(dr.InputSchema, "", "  ")
		t.Errorf("decline-reply input schema:\n%s", got)
	}
	for name, tl := range byName {
		props := tl.InputSchema.(map[string]any)["properties"].(map[string]any)
		if d, _ := props["dry_run"].(map[string]any); d["type"] != "boolean" || d["default"] != false {
			t.Errorf("%s: dry_run argument %v", name, props["dry_run"])
		}
	}
	rs := byName["refund-ask"].InputSchema.(map[string]any)
	if amt := rs["properties"].(map[string]any)["amount"].(map[string]any); amt["type"] != "integer" || amt["minimum"] != 1.0 {
		t.Errorf("refund-ask amount schema %v", amt)
	}
	ws := byName["with-secret"].InputSchema.(map[string]any)
	if _, ok := ws["properties"].(map[string]any)["api_token"]; ok || ws["required"] != nil {
		t.Errorf("with-secret exposes its secret input: %v", ws)
	}
	if !strings.Contains(byName["with-secret"].Description, "Secret inputs (api_token) are supplied by the Steward server") {
		t.Errorf("with-secret description %q", byName["with-secret"].Description)
	}

	// Nothing the assistant gets wrong runs, and each is a tool error
	// naming the problem.
	before := mcpRunCount(t, dir, home)
	for _, tc := range []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"with-secret", map[string]any{"api_token": "sk_from_the_assistant"}, []string{"input api_token: is a secret input: an assistant never passes it", "STEWARD_SECRET_API_TOKEN"}},
		{"decline-reply", map[string]any{"decline_code": "expired_card", "colour": "red"}, []string{"input colour: is not an input of decline-reply"}},
		{"decline-reply", map[string]any{"decline_code": 42}, []string{"input decline_code: 42 is not a string"}},
		{"refund-ask", map[string]any{"payment_id": "pay_ABCDEF12", "amount": "ten"}, []string{"input amount:", "is not an integer"}},
		{"refund-ask", map[string]any{"payment_id": "nope", "amount": 5}, []string{"input payment_id:", "does not match pattern"}},
		{"decline-reply", map[string]any{"decline_code": "expired_card", "dry_run": "yes"}, []string{"input dry_run: must be true or false"}},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
		if err != nil {
			t.Fatalf("%s %v: %v", tc.tool, tc.args, err)
		}
		text := mcpText(res)
		if !res.IsError {
			t.Errorf("%s %v: not a tool error: %s", tc.tool, tc.args, text)
		}
		for _, w := range append(tc.want, "nothing ran") {
			if !strings.Contains(text, w) {
				t.Errorf("%s %v: %q lacks %q", tc.tool, tc.args, text, w)
			}
		}
		if strings.Contains(text, "sk_from_the_assistant") {
			t.Errorf("the secret given is echoed: %s", text)
		}
	}
	if after := mcpRunCount(t, dir, home); after != before {
		t.Fatalf("invalid calls started runs: %d runs before, %d after", before, after)
	}

	// A read-only runbook: its outputs are the CLI's for the same inputs.
	params := &mcp.CallToolParams{Name: "decline-reply", Arguments: map[string]any{"decline_code": "insufficient_funds", "customer": "Ana"}}
	params.SetProgressToken("reply-1")
	res, err := cs.CallTool(ctx, params)
	if err != nil || res.IsError {
		t.Fatalf("decline-reply: %v %s", err, mcpText(res))
	}
	sc := res.StructuredContent.(map[string]any)
	cli := homeRun(t, dir, t.TempDir(), nil, "run", "decline-reply", "--input", "decline_code=insufficient_funds", "--input", "customer=Ana", "-o", "json")
	wantCode(t, cli, 0, "steward run decline-reply")
	var cliDoc struct {
		Outputs map[string]any `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(cli.stdout), &cliDoc); err != nil {
		t.Fatal(err)
	}
	if sc["status"] != "succeeded" || !reflect.DeepEqual(sc["outputs"], cliDoc.Outputs) || len(cliDoc.Outputs) != 5 {
		t.Fatalf("decline-reply structured content %v, want outputs %v", sc, cliDoc.Outputs)
	}
	replyID := sc["run_id"].(string)
	if text := mcpText(res); !strings.Contains(text, "Run "+replyID+" of decline-reply succeeded.") || !strings.Contains(text, "steward://runs/"+replyID) {
		t.Errorf("decline-reply text %q", text)
	}
	// Progress: the run's start, then each of its three steps, counting
	// up. The client may hand a notification to its handler after it
	// returned the result: wait for the four.
	for ctx.Err() == nil {
		mu.Lock()
		n := len(notes)
		mu.Unlock()
		if n >= 4 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	var msgs []string
	last := -1.0
	for _, n := range notes {
		if n.ProgressToken != "reply-1" || n.Progress <= last || n.Total != 3 {
			t.Errorf("progress notification %+v", n)
		}
		last = n.Progress
		msgs = append(msgs, n.Message)
	}
	mu.Unlock()
	if want := []string{"run " + replyID + " started", "step classify succeeded", "step unknown_code skipped", "step draft succeeded"}; !slices.Equal(msgs, want) {
		t.Errorf("progress messages %q, want %q", msgs, want)
	}

	// A run that reaches an approval waits; the assistant is told who
	// decides and how, and cannot.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "refund-ask", Arguments: map[string]any{"payment_id": "pay_ABCDEF12", "amount": 1250}})
	if err != nil || res.IsError {
		t.Fatalf("refund-ask: %v %s", err, mcpText(res))
	}
	sc = res.StructuredContent.(map[string]any)
	refundID := sc["run_id"].(string)
	text := mcpText(res)
	if sc["status"] != "waiting" || !strings.Contains(text, "is waiting for a person to approve") ||
		!strings.Contains(text, "steward approve "+refundID+" refund") {
		t.Fatalf("refund-ask: %v\n%s", sc, text)
	}
	if w := sc["waiting"].([]any)[0].(map[string]any); w["step"] != "refund" || w["approve"] != "steward approve "+refundID+" refund" {
		t.Errorf("waiting %v", w)
	}
	for _, never := range []string{"approve", "deny", "resume", "cancel"} {
		if byName[never] != nil {
			t.Errorf("a %s tool is exposed", never)
		}
	}

	// The secret input comes from the server's secret source, and is
	// redacted in what the assistant gets and in the journal.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "with-secret", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("with-secret: %v %s", err, mcpText(res))
	}
	sc = res.StructuredContent.(map[string]any)
	secretID := sc["run_id"].(string)
	if out := sc["outputs"].(map[string]any); out["length"] != float64(len(mcpSecretValue)) || out["echo"] != "token ***" {
		t.Fatalf("with-secret outputs %v", out)
	}

	// A dry run is recorded as one.
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "refund-ask", Arguments: map[string]any{"payment_id": "pay_ABCDEF12", "amount": 5, "dry_run": true}})
	if err != nil || res.IsError || res.StructuredContent.(map[string]any)["dry_run"] != true {
		t.Fatalf("dry run: %v %s", err, mcpText(res))
	}

	// The run's record, and the runs the caller started.
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "steward://runs/" + secretID})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Run struct {
			Actor  string `json:"actor"`
			Status string `json:"status"`
		} `json:"run"`
		Origin struct {
			Trigger struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"trigger"`
		} `json:"origin"`
		Inputs map[string]any `json:"inputs"`
	}
	body := rr.Contents[0].Text
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.Actor != "mcp:claude-desktop (alice)" || doc.Origin.Trigger.Kind != "mcp" || doc.Origin.Trigger.Name != "claude-desktop" ||
		doc.Inputs["api_token"] != "***" || doc.Run.Status != "succeeded" {
		t.Errorf("run record: %s", body)
	}
	if strings.Contains(body, mcpSecretValue) {
		t.Errorf("the run record holds the secret")
	}
	show := homeRun(t, dir, home, nil, "show", secretID, "-o", "json")
	wantCode(t, show, 0, "steward show")
	var shown map[string]any
	if err := json.Unmarshal([]byte(show.stdout), &shown); err != nil {
		t.Fatal(err)
	}
	var fromResource map[string]any
	_ = json.Unmarshal([]byte(body), &fromResource)
	if !reflect.DeepEqual(shown, fromResource) {
		t.Errorf("the run resource differs from steward show -o json:\n%s\n%s", body, show.stdout)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "steward://runs/20990101-000000-00000000"}); err == nil {
		t.Errorf("a run that does not exist was read")
	}
	rr, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "steward://runs"})
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Actor string `json:"actor"`
		Runs  []struct {
			ID string `json:"id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(rr.Contents[0].Text), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Runs) != 4 || list.Actor != "mcp:claude-desktop (alice)" || list.Runs[3].ID != replyID || list.Runs[2].ID != refundID {
		t.Errorf("steward://runs: %s", rr.Contents[0].Text)
	}
	// A run started at the CLI by alice is not among them.
	wantCode(t, homeRun(t, dir, home, nil, "run", "decline-reply", "--as", "alice", "--input", "decline_code=expired_card"), 0, "steward run")
	rr, _ = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "steward://runs"})
	if strings.Count(rr.Contents[0].Text, `"id"`) != 4 {
		t.Errorf("steward://runs lists runs another started: %s", rr.Contents[0].Text)
	}

	// The runs are in the journal, waiting as a person decides it.
	runsOut := homeRun(t, dir, home, nil, "runs", "-o", "json")
	wantCode(t, runsOut, 0, "steward runs")
	if !strings.Contains(runsOut.stdout, `"actor": "mcp:claude-desktop (alice)"`) {
		t.Errorf("steward runs:\n%s", runsOut.stdout)
	}
	// Alice asked her assistant to start it: four eyes hold, she may not
	// approve it; bruno may.
	self := homeRun(t, dir, home, nil, "approve", refundID, "refund", "--as", "alice")
	wantCode(t, self, 1, "steward approve --as alice")
	if !strings.Contains(self.stderr, "alice started run "+refundID+" and cannot approve its steps: four eyes") {
		t.Errorf("alice approving her assistant's run: %s", self.stderr)
	}
	wantCode(t, homeRun(t, dir, home, nil, "approve", refundID, "refund", "--as", "bruno"), 0, "steward approve")
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), 0, "steward audit verify")
}

// mcpRunCount is how many runs steward runs lists.
func mcpRunCount(t *testing.T, dir, home string) int {
	t.Helper()
	r := homeRun(t, dir, home, nil, "runs", "-o", "json")
	wantCode(t, r, 0, "steward runs")
	var list []any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		var doc struct {
			Runs []any `json:"runs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("steward runs -o json: %v\n%s", err, r.stdout)
		}
		return len(doc.Runs)
	}
	return len(list)
}

func mcpText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// An allow-list naming a runbook that is not there, or one that cannot
// run here, stops steward mcp before it serves anything.
func TestMCPStdioBadAllowList(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "mcp:\n  runbooks: [decline-reply, no-such-runbook]\n")
	r := run(t, dir, "mcp")
	wantCode(t, r, 2, "steward mcp")
	if !strings.Contains(r.stderr, "mcp.runbooks: no-such-runbook:") || r.stdout != "" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}
