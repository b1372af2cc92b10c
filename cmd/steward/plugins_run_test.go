package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// txRunbook uses three actions of the reference plugin.
const txRunbook = `version: 1
name: tx-check
inputs:
  tx: {type: string, required: true}
steps:
  - id: lookup
    action: example.lookup_transaction
    with:
      chain: ethereum
      tx_hash: ${{ inputs.tx }}
  - id: note
    action: example.add_ticket_note
    with: {ticket: T-1042, text: "status ${{ steps.lookup.outputs.status }}"}
  - id: notes
    action: example.list_ticket_notes
    with: {ticket: T-1042}
outputs:
  status: ${{ steps.lookup.outputs.status }}
  notes: ${{ len(steps.notes.outputs.notes) }}
`

// confirmedTx is a transaction of the reference plugin's fixtures.
const confirmedTx = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"

// TestPluginValidate: each step's with is checked against the plugin's
// input schema, at the field's line and column.
func TestPluginValidate(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "example")
	writeFile(t, filepath.Join(dir, "tx.yaml"), txRunbook)
	wantPrinted(t, homeRun(t, dir, home, nil, "validate", "tx.yaml"), home, exitOK, "", "1 runbook valid\n")

	writeFile(t, filepath.Join(dir, "bad.yaml"), `version: 1
name: tx-bad
steps:
  - id: lookup
    action: example.lookup_transaction
    with:
      chain: ethereum
      tx_hsh: "0x5c504ed4"
  - id: note
    action: example.add_ticket_note
    with: {ticket: T-1}
  - id: token
    action: example.issue_support_token
    with: {ticket: 5}
  - id: typo
    action: example.lookup_transactoin
  - id: chain
    action: example.lookup_transaction
    with: {chain: ethereun, tx_hash: "0x5c504ed432cb51138bcf"}
`)
	wantPrinted(t, homeRun(t, dir, home, nil, "validate", "bad.yaml"), home, exitInvalid, `bad.yaml:8:7: steps[0].with.tx_hsh: unknown field "tx_hsh" for example.lookup_transaction
    8 |       tx_hsh: "0x5c504ed4"
      |       ^
  hint: did you mean "tx_hash"?
bad.yaml:11:5: steps[1].with: missing required field "text" for example.add_ticket_note
   11 |     with: {ticket: T-1}
      |     ^
bad.yaml:14:20: steps[2].with.ticket: ticket must be a string, got an integer
   14 |     with: {ticket: 5}
      |                    ^
bad.yaml:16:13: steps[3].action: unknown action "example.lookup_transactoin"
   16 |     action: example.lookup_transactoin
      |             ^
  hint: did you mean "example.lookup_transaction"?
bad.yaml:19:19: steps[4].with.chain: chain must be one of ["ethereum", "bitcoin", "solana"], got "ethereun"
   19 |     with: {chain: ethereun, tx_hash: "0x5c504ed432cb51138bcf"}
      |                   ^
  hint: did you mean "ethereum"?
`, "5 problems in 1 file of 1 runbook\n")
}

// TestPluginNotInstalled: a step whose plugin is not installed is a
// warning (exit 0), an error with --strict, and a run refuses it.
func TestPluginNotInstalled(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "example")
	writeFile(t, filepath.Join(dir, "refund.yaml"), `version: 1
name: refund
steps:
  - id: refund
    action: payments.refund
    with: {payment_id: pay_1}
  - id: note
    action: exampel.add_ticket_note
    with: {ticket: T-1, text: refunded}
`)
	diags := `refund.yaml:5:13: warning: steps[0].action: plugin "payments" is not installed: its with is not checked
    5 |     action: payments.refund
      |             ^
  hint: no steward-plugin-payments in the plugin folders (HOME/plugins, STEWARD_DIR, bin); steward plugins install payments builds and pins this bundled plugin
refund.yaml:8:13: warning: steps[1].action: plugin "exampel" is not installed: its with is not checked
    8 |     action: exampel.add_ticket_note
      |             ^
  hint: did you mean "example.add_ticket_note"?
`
	wantPrinted(t, homeRun(t, dir, home, nil, "validate", "refund.yaml"), home, exitOK, diags, "1 runbook valid, 2 warnings\n")
	strict := strings.ReplaceAll(diags, ": warning: ", ": ")
	wantPrinted(t, homeRun(t, dir, home, nil, "validate", "--strict", "refund.yaml"), home, exitInvalid, strict,
		"2 problems in 1 file of 1 runbook\n")
	r := homeRun(t, dir, home, nil, "validate", "-o", "json", "refund.yaml")
	if r.code != exitOK || !strings.Contains(r.stdout, `"severity": "warning"`) {
		t.Fatalf("validate -o json: exit %d\n%s", r.code, r.stdout)
	}
	wantPrinted(t, homeRun(t, dir, home, nil, "run", "refund.yaml"), home, exitInvalid, "",
		strict+"steward: refund.yaml cannot run here: it uses a plugin that is not installed; nothing ran\n")
	if r := homeRun(t, dir, home, nil, "runs", "-o", "json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("a refused run was recorded:\n%s", r.stdout)
	}
}

// TestPluginRun runs actions of the reference plugin: their logs show as
// the run goes and in show; an unpinned binary is refused unless
// --allow-unpinned.
func TestPluginRun(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "tx.yaml"), txRunbook)
	installPlugin(t, home, "example")
	sum := fileSHA256(t, filepath.Join(home, "plugins", "steward-plugin-example"))
	reason := `plugin "example" cannot be used: HOME/plugins/steward-plugin-example is not pinned in HOME/plugins.lock (SHA-256 ` + sum +
		"): check it, then run `steward plugins lock`"
	wantPrinted(t, homeRun(t, dir, home, nil, "run", "tx.yaml", "--input", "tx="+confirmedTx), home, exitInvalid, "",
		`tx.yaml:7:13: steps[0].action: `+reason+`
    7 |     action: example.lookup_transaction
      |             ^
tx.yaml:12:13: steps[1].action: plugin "example" cannot be used (see line 7)
   12 |     action: example.add_ticket_note
      |             ^
tx.yaml:15:13: steps[2].action: plugin "example" cannot be used (see line 7)
   15 |     action: example.list_ticket_notes
      |             ^
steward: tx.yaml is invalid: 3 problems; nothing ran
`)
	for _, r := range []result{
		homeRun(t, dir, home, nil, "--allow-unpinned", "run", "tx.yaml", "--input", "tx="+confirmedTx, "--progress", "plain"),
		homeRun(t, dir, home, []string{"STEWARD_ALLOW_UNPINNED=1"}, "run", "tx.yaml", "--input", "tx="+confirmedTx, "--progress", "plain"),
	} {
		wantCode(t, r, exitOK, "run --allow-unpinned")
		if !strings.Contains(r.stdout, "status: confirmed") {
			t.Fatalf("the unpinned plugin did not run:\n%s", r.stdout)
		}
	}

	wantCode(t, homeRun(t, dir, home, nil, "plugins", "lock"), exitOK, "plugins lock")
	r := homeRun(t, dir, home, nil, "run", "tx.yaml", "--input", "tx="+confirmedTx, "--progress", "plain")
	wantCode(t, r, exitOK, "run")
	for _, want := range []string{
		"lookup  log        info: looking up 0x5c504e…b22060 on ethereum\n",
		"lookup  log        info: confirmed with 42 confirmations\n",
		"note    succeeded",
		"notes   succeeded",
		"✓ run tx-check succeeded",
		"  notes: 1\n  status: confirmed\n",
	} {
		if !strings.Contains(normalize(r.stdout, dir), want) {
			t.Errorf("run does not print %q:\n%s", want, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("run printed on stderr:\n%s", r.stderr)
	}
	show := homeRun(t, dir, home, nil, "show", runID(t, r))
	wantCode(t, show, exitOK, "show")
	// The note step's first attempt is in its step.started line, or in an
	// attempt.started line of its own when the recorder wrote step.started
	// before the attempt began (the columns are then wider).
	for _, want := range []string{
		`step\.log +lookup attempt=1 level=info message=looking up 0x5c504e…b22060 on ethereum`,
		`step\.started +note action=example\.add_ticket_note`,
		`(step|attempt)\.started +note (action=example\.add_ticket_note )?attempt=1 idempotent=true`,
	} {
		if !regexp.MustCompile(want).MatchString(show.stdout) {
			t.Errorf("show does not print %s:\n%s", want, show.stdout)
		}
	}
}

// TestPluginSecretSettings: a setting read from a secret reaches the
// plugin, and everything the plugin says of it is masked.
func TestPluginSecretSettings(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "echo")
	writeFile(t, filepath.Join(dir, "steward.yaml"), "plugins:\n  settings:\n    echo:\n      key: {secret: ECHO_KEY}\n")
	writeFile(t, filepath.Join(dir, "leak.yaml"), `version: 1
name: leak
steps:
  - id: say
    action: echo.say
    with: {message: hello}
outputs:
  said: ${{ steps.say.outputs.said }}
`)
	const key = "hunter2-s3cret"
	env := []string{"STEWARD_SECRET_ECHO_KEY=" + key}
	r := homeRun(t, dir, home, env, "run", "leak.yaml", "--progress", "plain")
	wantCode(t, r, exitOK, "run")
	if !strings.Contains(r.stdout, "info: hello, with key ***") || !strings.Contains(r.stdout, "said: hello ***") {
		t.Errorf("the plugin's log and output are not masked:\n%s", r.stdout)
	}
	id := runID(t, r)
	show := homeRun(t, dir, home, nil, "show", id)
	export := homeRun(t, dir, home, nil, "audit", "export", "--run", id)
	for _, out := range []string{r.stdout, r.stderr, show.stdout, export.stdout} {
		if strings.Contains(out, key) {
			t.Fatalf("the secret setting leaked:\n%s", out)
		}
	}
	// Without the secret, the plugin does not start: the step fails.
	r = homeRun(t, dir, home, nil, "run", "leak.yaml", "--progress", "plain")
	wantCode(t, r, exitFailed, "run without the secret")
	if !strings.Contains(r.stdout, `plugins.settings.echo.key: secret "ECHO_KEY" is not set`) {
		t.Errorf("the missing secret is not named:\n%s", r.stdout)
	}
}

// TestPluginRunbookTests: steward test checks the with of an installed
// plugin's actions, and mocks those of plugins not installed.
func TestPluginRunbookTests(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "example")
	writeFile(t, filepath.Join(dir, "tx.yaml"), txRunbook)
	writeFile(t, filepath.Join(dir, "tx.test.yaml"), `cases:
  - name: confirmed
    inputs: {tx: "`+confirmedTx+`"}
    mocks:
      example.lookup_transaction: {outputs: {status: confirmed}}
      example.add_ticket_note: {outputs: {created: true, note_id: N-1}}
      example.list_ticket_notes: {outputs: {notes: [{id: N-1}]}}
    expect:
      status: succeeded
      outputs: {status: confirmed, notes: 1}
`)
	for _, h := range []string{home, t.TempDir()} { // installed, and not
		r := homeRun(t, dir, h, nil, "test", "tx.test.yaml")
		if r.code != exitOK || r.stdout != "ok      tx.test.yaml  (1 case)\n1 passed, 0 failed\n" {
			t.Fatalf("steward test: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	}
	writeFile(t, filepath.Join(dir, "tx.yaml"), strings.Replace(txRunbook, "chain: ethereum", "chain: ethereun", 1))
	r := homeRun(t, dir, home, nil, "test", "tx.test.yaml")
	if r.code != exitInvalid || !strings.HasPrefix(r.stdout, `tx.yaml:9:14: steps[0].with.chain: chain must be one of ["ethereum", "bitcoin", "solana"], got "ethereun"`) {
		t.Fatalf("steward test of an invalid with: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestPluginResumeNotInstalled: a run that goes on after its plugin was
// removed stops before anything runs.
func TestPluginResumeNotInstalled(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "example")
	writeFile(t, filepath.Join(dir, "tx.yaml"), strings.Replace(txRunbook, "  - id: note\n", "  - id: note\n    approval: {message: add the note}\n", 1))
	r := homeRun(t, dir, home, nil, "run", "tx.yaml", "--input", "tx="+confirmedTx, "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)
	if err := os.Remove(filepath.Join(home, "plugins", "steward-plugin-example")); err != nil {
		t.Fatal(err)
	}
	r = homeRun(t, dir, home, nil, "approve", id, "note", "--as", "bruno")
	wantCode(t, r, exitInvalid, "approve without the plugin")
	if !strings.Contains(r.stderr, `steps[0].action: plugin "example" is not installed: its with is not checked`) ||
		!strings.HasSuffix(r.stderr, "steward: run "+id+": tx.yaml cannot run here: it uses a plugin that is not installed; nothing ran\n") {
		t.Fatalf("approve:\n%s", r.stderr)
	}
	installPlugin(t, home, "example")
	r = homeRun(t, dir, home, nil, "approve", id, "note", "--as", "bruno", "--progress", "plain")
	wantCode(t, r, exitOK, "approve")
	if !strings.Contains(r.stdout, "status: confirmed") {
		t.Fatalf("the approved run did not go on:\n%s", r.stdout)
	}
}

// TestPluginSubRunNotInstalled: a sub-run whose runbook uses a plugin not
// installed fails its step before any of its steps runs.
func TestPluginSubRunNotInstalled(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), `version: 1
name: child
steps:
  - id: refund
    action: payments.refund
    with: {payment_id: pay_1}
`)
	writeFile(t, filepath.Join(dir, "parent.yaml"), `version: 1
name: parent
steps:
  - id: sub
    action: core.runbook
    with: {name: child}
`)
	r := run(t, dir, "run", "parent.yaml", "--progress", "plain")
	wantCode(t, r, exitFailed, "run")
	if want := `error: step sub: core.runbook: child is invalid: runbooks/child.yaml:5:13: steps[0].action: plugin "payments" is not installed: its with is not checked`; !strings.Contains(r.stdout, want) {
		t.Fatalf("run does not print %q:\n%s", want, r.stdout)
	}
}
