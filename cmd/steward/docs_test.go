package main

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/notice"
)

// TestActionsDocumented keeps docs/actions.md true to the specs: every
// built-in action and every one of its input and output fields is named.
func TestActionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/actions.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, s := range builtins(clockwork.NewRealClock(), nil).Specs() {
		row := ""
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "| `"+s.Name+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("docs/actions.md has no row for %s", s.Name)
			continue
		}
		for name := range s.Input.Properties {
			if !strings.Contains(row, "`"+name+"`") {
				t.Errorf("docs/actions.md: %s input %s is not documented", s.Name, name)
			}
		}
		if s.Output != nil {
			for name := range s.Output.Properties {
				if !strings.Contains(row, "`"+name+"`") {
					t.Errorf("docs/actions.md: %s output %s is not documented", s.Name, name)
				}
			}
		}
	}
}

// auditScript extracts the Python verifier of docs/audit.md into a file.
func auditScript(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```python\n")
	code, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/audit.md has no python block")
	}
	path := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(path, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pythonRun runs a script with python3, which .ci/run installs.
func pythonRun(script string, args ...string) (string, error) {
	out, err := exec.Command("python3", append([]string{script}, args...)...).CombinedOutput()
	return string(out), err
}

// auditRunbook exercises every record type but the decision on an
// interrupted attempt: a log line, a skipped step, for_each items, an
// attempt that fails and is retried, a sub-run, an action that mutates
// (not executed by a dry run), an approval, a failure with undo and
// on_failure.
const auditRunbook = `version: 1
name: everything
inputs:
  customer: {type: string, required: true}
  token: {type: string, secret: true}
steps:
  - id: note
    action: core.log
    with: {message: "checking ${{ inputs.customer }}", level: warn}
    undo:
      action: core.log
      with: {message: undone}
  - id: skipped
    if: inputs.customer == "nobody"
    action: core.set
    with: {x: 1}
  - id: each
    for_each: ${{ [1, 2] }}
    action: core.set
    with: {n: "${{ item }}"}
  - id: flaky
    action: core.fail
    with: {message: boom, code: E42, retryable: true}
    retry: {attempts: 2, delay: 10ms}
    continue_on_error: true
  - id: sub
    action: core.runbook
    with: {name: child}
  - id: touch
    action: exec
    with: {command: ["true"]}
  - id: approve
    approval: {message: "Go on?", approvers: [dana]}
    action: core.set
    with: {ok: true}
  - id: fail
    action: core.fail
    with: {message: final}
outputs:
  who: ${{ inputs.customer }}
on_failure:
  - id: escalate
    action: core.log
    with: {message: "failed: ${{ error.message }}"}
`

// auditJournal makes a journal holding every record type, through the
// CLI, and returns its home and its export's lines.
func auditJournal(t *testing.T) (home string, lines []string) {
	t.Helper()
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "everything.yaml"), auditRunbook)
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), "version: 1\nname: child\nsteps:\n  - id: hi\n    action: core.set\n    with: {greeting: hi}\n")
	const token = "t0k3n-4711"
	r := homeRun(t, dir, home, nil, "run", "everything.yaml", "--input", "customer=Ana", "--input", "token="+token, "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	wantCode(t, homeRun(t, dir, home, nil, "approve", runID(t, r), "approve", "--as", "dana", "--comment", "ok", "--input", "token="+token), exitFailed, "approve")
	wantCode(t, homeRun(t, dir, home, nil, "run", "everything.yaml", "--input", "customer=Bo", "--input", "token="+token, "--dry-run"), exitFailed, "dry run")
	r = homeRun(t, dir, home, nil, "run", "everything.yaml", "--input", "customer=Cy", "--input", "token="+token, "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	wantCode(t, homeRun(t, dir, home, nil, "cancel", runID(t, r), "--as", "bruno", "--comment", "stop", "--input", "token="+token), exitOK, "cancel")
	// A change to the service: a run of its own, started by a trigger.
	wantCode(t, homeRun(t, dir, home, nil, "tokens", "create", "ci", "--role", "operator"), exitOK, "tokens create")
	wantCode(t, homeRun(t, dir, home, nil, "tokens", "revoke", "ci"), exitOK, "tokens revoke")
	return home, exportLines(t, home)
}

// docRecordTypes reads the table of record types of docs/audit.md: each
// type and the names (in backquotes) its row gives.
func docRecordTypes(t *testing.T) map[string]map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Record types and data\n")
	if !ok {
		t.Fatal("docs/audit.md has no section Record types and data")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	types := map[string]map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		typ := strings.Trim(strings.TrimSpace(cells[1]), "`")
		names := map[string]bool{}
		for i, part := range strings.Split(cells[2], "`") {
			if i%2 == 1 {
				names[part] = true
			}
		}
		types[typ] = names
	}
	return types
}

// structured are the members of a record's data that are objects of
// Steward's making, whose own members the table names too (inputs, with,
// outputs and details hold what runbooks and actions made).
var structured = map[string]bool{"origin": true, "trigger": true, "error": true, "change": true, "notice": true}

// undocumented appends to missing each member of data, and of its
// structured members, that names does not hold, as "TYPE: PATH".
func undocumented(missing map[string]bool, typ, path string, data map[string]any, names map[string]bool) {
	for k, v := range data {
		if !names[k] {
			missing[typ+": "+path+k] = true
		}
		if sub, ok := v.(map[string]any); ok && structured[k] {
			undocumented(missing, typ, path+k+".", sub, names)
		}
	}
}

// TestDocsAuditRecordFields keeps docs/audit.md true to the records
// Steward writes: every record type written has a row, and every member
// of its data (and of its origin, trigger, error and change) is named in
// it; every type of the table, and of the engine, is written by the runs
// here, but the notifier's, which engine/notice's tests check
// (TestNotifyRecordsDocumented). The export.end line's members are those
// the page shows.
func TestDocsAuditRecordFields(t *testing.T) {
	_, lines := auditJournal(t)
	documented := docRecordTypes(t)
	seen := map[string]bool{}
	missing := map[string]bool{} // "type: member"
	for _, line := range lines[:len(lines)-1] {
		var rec struct {
			Type string
			Data map[string]any
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		seen[rec.Type] = true
		undocumented(missing, rec.Type, "", rec.Data, documented[rec.Type])
	}
	for _, m := range slices.Sorted(maps.Keys(missing)) {
		t.Errorf("docs/audit.md: the row of the record type does not name a member its records hold: %s", m)
	}
	types := []string{string(engine.RunStarted), string(engine.RunResumed), string(engine.StepStarted), string(engine.StepWaiting),
		string(engine.StepApproved), string(engine.AttemptStarted), string(engine.AttemptFailed), string(engine.ItemFinished),
		string(engine.StepLog), string(engine.StepDryRun), string(engine.StepFinished), string(engine.StepSkipped),
		string(engine.RunFinished), journal.ApprovalDecided, journal.CancelRequested, journal.ChangeRecorded,
		notice.Notified, notice.NotifyFailed}
	for _, typ := range types {
		if _, ok := documented[typ]; !ok {
			t.Errorf("docs/audit.md: record type %s is not in the table", typ)
		}
	}
	for typ := range documented {
		if !seen[typ] && typ != notice.Notified && typ != notice.NotifyFailed {
			t.Errorf("the runs of this test write no %s record: exercise it", typ)
		}
	}
	doc, err := os.ReadFile("../../docs/audit.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, _ := strings.Cut(string(doc), "```json\n{\"type\":\"export.end\"")
	example, _, _ = strings.Cut(example, "\n")
	var end map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &end); err != nil {
		t.Fatal(err)
	}
	for k := range end {
		if !strings.Contains(`{"type":"export.end"`+example, `"`+k+`":`) {
			t.Errorf("docs/audit.md: the export.end example has no %s", k)
		}
	}
}
