package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Tokens through the real binary: create prints the token once (stdout
// holds only it), list shows what the journal says (never the token),
// revoke records the revocation; bad input exits 2 and records nothing;
// audit verify passes over the token changes.
func TestTokensCLI(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	r := homeRun(t, dir, home, nil, "tokens", "create", "ana-laptop", "--subject", "ana", "--role", "approver", "--runbooks", "card-*")
	wantCode(t, r, 0, "create")
	token := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(token, "stw_") || strings.Contains(token, "\n") || !strings.Contains(r.stderr, "not shown again") {
		t.Fatalf("create printed %q / %q", r.stdout, r.stderr)
	}
	r = homeRun(t, dir, home, nil, "tokens", "create", "ci", "--role", "operator", "-o", "json")
	wantCode(t, r, 0, "create -o json")
	var created map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || !strings.HasPrefix(created["token"].(string), "stw_") ||
		created["subject"] != "ci" || created["role"] != "operator" {
		t.Fatalf("create -o json: %v %s", err, r.stdout)
	}

	for _, bad := range [][]string{
		{"tokens", "create", "ana-laptop", "--role", "viewer"},           // live name
		{"tokens", "create", "x", "--role", "boss"},                      // unknown role
		{"tokens", "create", "x"},                                        // no role
		{"tokens", "create", "Bad Name", "--role", "viewer"},             // name
		{"tokens", "create", "x", "--role", "viewer", "--runbooks", "["}, // glob
		{"tokens", "revoke", "nobody"},
	} {
		wantCode(t, homeRun(t, dir, home, nil, bad...), 2, strings.Join(bad, " "))
	}

	wantCode(t, homeRun(t, dir, home, nil, "tokens", "revoke", "ana-laptop"), 0, "revoke")
	wantCode(t, homeRun(t, dir, home, nil, "tokens", "revoke", "ana-laptop"), 2, "revoke twice")

	r = homeRun(t, dir, home, nil, "tokens", "list", "-o", "json")
	wantCode(t, r, 0, "list")
	if strings.Contains(r.stdout, token) {
		t.Fatal("list shows a token")
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v %s", err, r.stdout)
	}
	if l := list[0]; l["name"] != "ana-laptop" || l["subject"] != "ana" || l["role"] != "approver" || l["runbooks"] != "card-*" ||
		l["revoked"] != true || l["created_by"] == "" || l["revoked_by"] != l["created_by"] {
		t.Fatalf("ana-laptop listed as %v", l)
	}
	if l := list[1]; l["name"] != "ci" || l["revoked"] != false {
		t.Fatalf("ci listed as %v", l)
	}
	r = homeRun(t, dir, home, nil, "tokens", "list")
	wantCode(t, r, 0, "list text")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.Contains(lines[1], "card-*") || !strings.Contains(lines[2], "operator") {
		t.Fatalf("list text:\n%s", r.stdout)
	}

	// Three changes, each a run of steward.token; the journal holds no
	// token and verifies.
	r = homeRun(t, dir, home, nil, "runs", "--runbook", "steward.token", "-o", "json")
	wantCode(t, r, 0, "runs")
	if n := strings.Count(r.stdout, `"runbook": "steward.token"`); n != 3 {
		t.Fatalf("%d token changes in runs:\n%s", n, r.stdout)
	}
	r = homeRun(t, dir, home, nil, "audit", "export")
	wantCode(t, r, 0, "export")
	if strings.Contains(r.stdout, token) || strings.Contains(r.stdout, created["token"].(string)) || strings.Count(r.stdout, `"kind":"token.`) != 3 {
		t.Fatalf("export:\n%s", r.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), 0, "verify")
}
