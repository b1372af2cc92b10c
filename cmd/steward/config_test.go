package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigDiagnostics: a steward.yaml with mistakes is reported as
// runbooks are, FILE:LINE:COL: KEY.PATH: message with a did-you-mean, by
// validate (on stdout, or as JSON) and by any command that reads it (on
// stderr, exit 2), never as a raw Go error.
func TestConfigDiagnostics(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "a.yaml"), runbook("first"))
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbook: [runbooks]\nplugins:\n  start_timeout: soon\n")
	want := `steward.yaml:1:1: runbook: unknown key "runbook"
    1 | runbook: [runbooks]
      | ^
  hint: did you mean "runbooks"?
steward.yaml:3:18: plugins.start_timeout: invalid duration "soon"
    3 |   start_timeout: soon
      |                  ^
  hint: write a duration such as 10s or 1m
`
	r := run(t, dir, "validate")
	if r.code != exitInvalid || r.stdout != want || r.stderr != "2 problems in the configuration; runbooks are checked once it is valid\n" {
		t.Fatalf("validate: exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	r = run(t, dir, "validate", "-o", "json")
	var diags []struct {
		File, Path, Message, Hint string
		Line, Column              int
	}
	if err := json.Unmarshal([]byte(r.stdout), &diags); err != nil || len(diags) != 2 || diags[0].Path != "runbook" || diags[0].Hint != `did you mean "runbooks"?` {
		t.Fatalf("validate -o json: %v %+v\n%s", err, diags, r.stdout)
	}
	r = run(t, dir, "run", "decline-reply", "--input", "decline_code=expired_card")
	if r.code != exitInvalid || r.stderr != want+"steward: steward.yaml is invalid: 2 problems\n" || strings.Contains(r.stderr, "config.Config") {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	// A YAML syntax error too.
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [runbooks\n")
	r = run(t, dir, "run", "decline-reply", "--input", "decline_code=expired_card")
	if r.code != exitInvalid || !strings.HasPrefix(r.stderr, "steward.yaml:1:") || !strings.Contains(r.stderr, "steward: steward.yaml is invalid: 1 problem\n") {
		t.Fatalf("syntax error: exit %d\n%s", r.code, r.stderr)
	}
}

// TestConfigPluginSettings: validate checks plugins.settings against the
// settings schema an installed plugin declares (a typo timeot is an
// error with a did-you-mean); the settings of a plugin that is not
// installed are a warning, an error with --strict.
func TestConfigPluginSettings(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "payments")
	writeFile(t, filepath.Join(dir, "runbooks", "a.yaml"), runbook("first"))
	writeFile(t, filepath.Join(dir, "steward.yaml"), `plugins:
  settings:
    payments:
      backend: stirpe
      stripe:
        timeot: 10s
        max_retries: 9
        api_key: {secret: STRIPE_API_KEY}
    paymnts: {backend: sandbox}
`)
	want := `steward.yaml:4:16: plugins.settings.payments.backend: backend must be one of ["sandbox", "stripe"], got "stirpe"
    4 |       backend: stirpe
      |                ^
  hint: did you mean "stripe"?
steward.yaml:6:9: plugins.settings.payments.stripe.timeot: unknown setting "timeot" of plugin payments
    6 |         timeot: 10s
      |         ^
  hint: did you mean "timeout"?
steward.yaml:7:22: plugins.settings.payments.stripe.max_retries: max_retries must be at most 5, got 9
    7 |         max_retries: 9
      |                      ^
steward.yaml:9:5: warning: plugins.settings.paymnts: plugin "paymnts" is not installed: its settings are not checked
    9 |     paymnts: {backend: sandbox}
      |     ^
  hint: did you mean "payments"?
`
	r := homeRun(t, dir, home, nil, "validate")
	if r.code != exitInvalid || r.stdout != want || r.stderr != "3 problems (3 in the configuration) in 1 file of 1 runbook, 1 warning\n" {
		t.Fatalf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr: %s", r.code, r.stdout, want, r.stderr)
	}
	// Fixed, only the warning is left: valid, but not with --strict.
	writeFile(t, filepath.Join(dir, "steward.yaml"), "plugins:\n  settings:\n    payments: {backend: stripe, stripe: {timeout: 10s}}\n    paymnts: {backend: sandbox}\n")
	r = homeRun(t, dir, home, nil, "validate")
	if r.code != exitOK || r.stderr != "1 runbook valid, 1 warning\n" {
		t.Fatalf("fixed: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	wantCode(t, homeRun(t, dir, home, nil, "validate", "--strict"), exitInvalid, "--strict")
}

// TestInit: steward init writes a commented steward.yaml with the approval
// groups the bundled runbooks name and the bundled plugins on their
// sandboxes; the bundled runbooks validate against it with --strict and
// every bundled plugin installed; it never overwrites a file unless
// --force.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	r := run(t, dir, "init")
	if r.code != exitOK || !strings.Contains(r.stderr, "wrote steward.yaml") {
		t.Fatalf("init: exit %d %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "steward.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"# steward.yaml", "payments-leads: [change-me]", "access-admins: [change-me]", "backend: sandbox", "{type: sandbox}"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("steward.yaml lacks %q", s)
		}
	}
	home := pinnedBundled(t)
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	r = homeRun(t, dir, home, nil, "validate", "--strict", filepath.Join(repo, "runbooks"))
	if r.code != exitOK {
		t.Fatalf("the bundled runbooks against the written steward.yaml: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A bundled runbook runs with it, on the sandbox.
	r = homeRun(t, dir, home, nil, "run", "card-payment-failure", "--input", "id=pi_sandbox_insufficient_funds", "-o", "json")
	wantCode(t, r, exitOK, "run with the written steward.yaml")

	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [mine]\n")
	r = run(t, dir, "init")
	if r.code != exitInvalid || r.stderr != "steward: steward.yaml exists: nothing written (steward init --force overwrites it)\n" {
		t.Fatalf("init over a file: exit %d %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "steward.yaml")); string(b) != "runbooks: [mine]\n" {
		t.Fatalf("the file was changed: %q", b)
	}
	wantCode(t, run(t, dir, "init", "--force"), exitOK, "init --force")
	if b, _ := os.ReadFile(filepath.Join(dir, "steward.yaml")); !strings.HasPrefix(string(b), "# steward.yaml") {
		t.Fatalf("--force did not write: %q", b)
	}
	// --config names another file.
	wantCode(t, run(t, dir, "--config", "etc.yaml", "init"), exitOK, "init --config")
	if _, err := os.Stat(filepath.Join(dir, "etc.yaml")); err != nil {
		t.Fatal(err)
	}
}
