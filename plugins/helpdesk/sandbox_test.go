package main

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// TestSandboxTickets: every fixture reads back with its language, its
// category and an id the payments or evm sandbox knows in its text.
func TestSandboxTickets(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		id                 int
		language, category string
		text               string
	}{
		{1001, "en", "card_payment", "pi_sandbox_insufficient_funds"},
		{1002, "zh", "", "pi_sandbox_expired_card"},
		{1003, "en", "", "0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90"},
		{1004, "zh", "", "0xde1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1ade1a"},
		{1005, "en", "", "change the email address"},
		{1006, "en", "card_payment", "pi_sandbox_duplicate"},
	} {
		out, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": c.id})
		if err != nil {
			t.Fatalf("ticket %d: %v", c.id, err)
		}
		fields := out["fields"].(map[string]any)
		cat, _ := fields["category"].(string)
		if out["language"] != c.language || cat != c.category || !strings.Contains(out["text"].(string), c.text) || out["backend"] != "sandbox" {
			t.Errorf("ticket %d: language %v, category %v, text %q", c.id, out["language"], fields["category"], out["text"])
		}
		if last := out["last_public_comment"].(map[string]any); last["body"] != out["description"] || last["from_requester"] != true {
			t.Errorf("ticket %d: last public comment %v", c.id, last)
		}
	}
	_, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": 1})
	sdktest.WantError(t, err, "not_found", false, "the sandbox has no ticket 1: its tickets are 1001, 1002, 1003, 1004, 1005, 1006")
}

// TestSandboxComments: the sandbox posts a comment once per key, as the
// Zendesk backend does, and a reply becomes the last public comment.
func TestSandboxComments(t *testing.T) {
	p := start(t, nil)
	key := sdktest.IdempotencyKey("run:note")
	first, _, err := p.Execute("add_note", map[string]any{"ticket_id": 1001, "body": "diagnosis"}, key)
	if err != nil || first["posted"] != true || first["public"] != false || first["status"] != "open" {
		t.Fatalf("add_note = %v, %v", first, err)
	}
	again, _, err := p.Execute("add_note", map[string]any{"ticket_id": 1001, "body": "diagnosis"}, key, sdktest.Attempt(2))
	if err != nil || again["posted"] != false || again["comment_id"] != first["comment_id"] {
		t.Fatalf("add_note again = %v, %v", again, err)
	}
	out, _, err := p.Execute("reply", map[string]any{"ticket_id": 1001, "body": "Hi Ana", "status": "pending"}, sdktest.IdempotencyKey("run:reply"))
	if err != nil || out["posted"] != true || out["status"] != "pending" {
		t.Fatalf("reply = %v, %v", out, err)
	}
	tk, _, _ := p.Execute("get_ticket", map[string]any{"ticket_id": 1001})
	last := tk["last_public_comment"].(map[string]any)
	if !strings.HasPrefix(last["body"].(string), "Hi Ana\n\n[ref steward-") || last["from_requester"] != false || tk["status"] != "pending" {
		t.Fatalf("after the reply: %v, status %v", last, tk["status"])
	}
	for range 2 {
		up, _, err := p.Execute("update_ticket", map[string]any{"ticket_id": 1001, "add_tags": []any{"steward-triaged", "steward-card"}, "status": "open"})
		if err != nil || strings.Join(anyStrings(up["tags"]), ",") != "steward-card,steward-triaged" || up["status"] != "open" {
			t.Fatalf("update_ticket = %v, %v", up, err)
		}
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
