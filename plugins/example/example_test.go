package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

var now = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// start runs a fresh example plugin with settings, its clock stopped at now.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	p := sdktest.Start(t, newDesk(func() time.Time { return now }).plugin())
	if err := p.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v sensitive=%v", a.Name, a.Mutates, a.Idempotent, a.Sensitive))
	}
	want := `example.add_ticket_note mutates=true idempotent=true sensitive=[]
example.issue_support_token mutates=true idempotent=true sensitive=[token]
example.list_ticket_notes mutates=false idempotent=false sensitive=[]
example.lookup_transaction mutates=false idempotent=false sensitive=[]`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	in := p.Action("lookup_transaction").Input
	if strings.Join(in.Required, ",") != "chain,tx_hash" || len(in.Properties["chain"].Enum) != 3 {
		t.Errorf("lookup input: %+v", in)
	}
	if !strings.Contains(string(d.Config), `"token_key":{"type":"string","description":"key that signs support tokens","x-sensitive":true}`) {
		t.Errorf("config schema: %s", d.Config)
	}
}

func TestLookupTransaction(t *testing.T) {
	p := start(t, nil)
	out, logs, err := p.Execute("lookup_transaction", map[string]any{
		"chain": "ethereum", "tx_hash": "0x5C504ED432CB51138BCF09AA5E8A410DD4A1E204EF84BFED1BE16DFBA1B22060"})
	if err != nil {
		t.Fatal(err)
	}
	if out["status"] != "confirmed" || out["confirmations"] != 42.0 || out["asset"] != "ETH" || out["seen_at"] != "2026-11-20T09:14:03Z" {
		t.Errorf("outputs %v", out)
	}
	if _, ok := out["failure_reason"]; ok {
		t.Error("failure_reason of a confirmed transaction")
	}
	want := []sdktest.Log{{Level: "info", Message: "looking up 0x5C504E…B22060 on ethereum"}, {Level: "info", Message: "confirmed with 42 confirmations"}}
	if fmt.Sprint(logs) != fmt.Sprint(want) {
		t.Errorf("logs %v", logs)
	}

	out, logs, err = p.Execute("lookup_transaction", map[string]any{
		"chain": "solana", "tx_hash": "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"})
	if err != nil || out["status"] != "failed" || out["failure_reason"] != "insufficient funds for the transaction fee" ||
		logs[1] != (sdktest.Log{Level: "warn", Message: "failed: insufficient funds for the transaction fee"}) {
		t.Errorf("solana: %v %v %v", out, logs, err)
	}

	_, _, err = p.Execute("lookup_transaction", map[string]any{"chain": "bitcoin", "tx_hash": "00000000000000000000"})
	sdktest.WantError(t, err, "not_found", false, "no transaction 00000000000000000000 on bitcoin")
	_, _, err = p.Execute("lookup_transaction", map[string]any{"chain": "dogecoin", "tx_hash": "00000000000000000000"})
	sdktest.WantError(t, err, "invalid_input", false, `with.chain must be one of ["ethereum", "bitcoin", "solana"], got "dogecoin"`)
	_, _, err = p.Execute("lookup_transaction", map[string]any{"chain": "bitcoin", "txhash": "00000000000000000000"})
	sdktest.WantError(t, err, "invalid_input", false, `with: missing required field "tx_hash"`)
}

func TestASyncingNodeIsRetryable(t *testing.T) {
	p := start(t, map[string]any{"syncing_chains": []any{"bitcoin"}})
	with := map[string]any{"chain": "bitcoin", "tx_hash": "3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"}
	_, logs, err := p.Execute("lookup_transaction", with)
	sdktest.WantError(t, err, "node_syncing", true, "the bitcoin node is catching up with the chain: try again")
	if len(logs) != 2 || logs[1].Level != "warn" {
		t.Errorf("logs %v", logs)
	}
	out, _, err := p.Execute("lookup_transaction", with, sdktest.Attempt(2))
	if err != nil || out["status"] != "confirmed" {
		t.Errorf("attempt 2: %v %v", out, err)
	}
	if err := p.Configure(map[string]any{"syncing_chains": []any{"litecoin"}}); err == nil ||
		err.Error() != `settings.syncing_chains[0] must be one of ["ethereum", "bitcoin", "solana"], got "litecoin"` {
		t.Errorf("bad settings: %v", err)
	}
}

func TestAddTicketNoteIsIdempotent(t *testing.T) {
	p := start(t, nil)
	note := map[string]any{"ticket": "T-1042", "text": "customer sent the tx hash"}
	out, _, err := p.Execute("add_ticket_note", note, sdktest.IdempotencyKey("run-1/note"))
	if err != nil || fmt.Sprint(out) != "map[created:true note_id:N-1]" {
		t.Fatalf("first: %v %v", out, err)
	}
	// A retry of the same step: the same key, no second note.
	out, logs, err := p.Execute("add_ticket_note", note, sdktest.IdempotencyKey("run-1/note"), sdktest.Attempt(2))
	if err != nil || fmt.Sprint(out) != "map[created:false note_id:N-1]" || logs[0].Message != "note N-1 was added by an earlier attempt of this step" {
		t.Fatalf("retry: %v %v %v", out, logs, err)
	}
	// Another step: another note.
	out, _, err = p.Execute("add_ticket_note", map[string]any{"ticket": "T-1042", "text": "refund sent", "visibility": "customer"},
		sdktest.IdempotencyKey("run-1/refund_note"))
	if err != nil || out["note_id"] != "N-2" {
		t.Fatalf("second: %v %v", out, err)
	}
	out, _, err = p.Execute("list_ticket_notes", map[string]any{"ticket": "T-1042"})
	if err != nil {
		t.Fatal(err)
	}
	want := "[map[created_at:2026-11-21T08:00:00Z id:N-1 text:customer sent the tx hash visibility:internal] " +
		"map[created_at:2026-11-21T08:00:00Z id:N-2 text:refund sent visibility:customer]]"
	if got := fmt.Sprint(out["notes"]); got != want {
		t.Errorf("notes %s", got)
	}
	// Never in a dry-run.
	_, _, err = p.Execute("add_ticket_note", note, sdktest.DryRun())
	sdktest.WantError(t, err, "dry_run", false, "example.add_ticket_note mutates: it does not run in a dry-run")
	_, _, err = p.Execute("add_ticket_note", map[string]any{"ticket": "1042", "text": "x"})
	sdktest.WantError(t, err, "invalid_input", false, `with.ticket must match ^T-[0-9]+$, got "1042"`)
}

func TestNotesSurviveARestartWithDataDir(t *testing.T) {
	dir := t.TempDir()
	note := map[string]any{"ticket": "T-7", "text": "escalated"}
	first := start(t, map[string]any{"data_dir": dir})
	if out, _, err := first.Execute("add_ticket_note", note, sdktest.IdempotencyKey("k")); err != nil || out["created"] != true {
		t.Fatalf("%v %v", out, err)
	}
	// A fresh process (after a crash, say) retries the step.
	second := start(t, map[string]any{"data_dir": dir})
	out, _, err := second.Execute("add_ticket_note", note, sdktest.IdempotencyKey("k"), sdktest.Attempt(2))
	if err != nil || fmt.Sprint(out) != "map[created:false note_id:N-1]" {
		t.Fatalf("after restart: %v %v", out, err)
	}
}

func TestIssueSupportToken(t *testing.T) {
	p := start(t, nil)
	_, _, err := p.Execute("issue_support_token", map[string]any{"ticket": "T-1"})
	sdktest.WantError(t, err, "not_configured", false, "no token_key: set plugins.settings.example.token_key to {secret: EXAMPLE_TOKEN_KEY}")

	p = start(t, map[string]any{"token_key": "k-123"})
	out, logs, err := p.Execute("issue_support_token", map[string]any{"ticket": "T-1"}, sdktest.IdempotencyKey("r/s"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := out["token"].(string)
	if !strings.HasPrefix(tok, "sup_") || len(tok) != 36 || out["expires_at"] != "2026-11-21T08:15:00Z" || out["ticket"] != "T-1" {
		t.Errorf("outputs %v", out)
	}
	if strings.Contains(fmt.Sprint(logs), tok) {
		t.Error("the token was logged")
	}
	again, _, err := p.Execute("issue_support_token", map[string]any{"ticket": "T-1"}, sdktest.IdempotencyKey("r/s"), sdktest.Attempt(2))
	if err != nil || again["token"] != tok {
		t.Errorf("retry: %v %v", again, err)
	}
	other, _, err := p.Execute("issue_support_token", map[string]any{"ticket": "T-1", "ttl": "1h"}, sdktest.IdempotencyKey("r/t"))
	if err != nil || other["token"] == tok || other["expires_at"] != "2026-11-21T09:00:00Z" {
		t.Errorf("other step: %v %v", other, err)
	}
	_, _, err = p.Execute("issue_support_token", map[string]any{"ticket": "T-1", "ttl": "2h"})
	sdktest.WantError(t, err, "invalid_input", false, "with.ttl must be between 0s and 1h, got 2h0m0s")
	_, _, err = p.Execute("issue_support_token", map[string]any{"ticket": "T-1", "ttl": "soon"})
	sdktest.WantError(t, err, "invalid_input", false, `with.ttl: invalid duration "soon"`)
}
