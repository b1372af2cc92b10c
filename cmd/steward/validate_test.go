package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const validRunbook = `version: 1
name: %s
inputs:
  payment_id: {required: true, pattern: '^pay_'}
steps:
  - id: lookup
    action: core.set
    with: {payment_id: '${{ inputs.payment_id }}', status: unknown}
  - id: log
    action: core.log
    with:
      message: status is ${{ steps.lookup.outputs.status }}
`

func runbook(name string) string { return strings.Replace(validRunbook, "%s", name, 1) }

func TestValidateValidFolder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "a.yaml"), runbook("first"))
	writeFile(t, filepath.Join(dir, "runbooks", "nested", "b.yml"), runbook("second"))
	// Skipped: runbook tests, hidden folders, other files.
	writeFile(t, filepath.Join(dir, "runbooks", "a.test.yaml"), "not: a runbook\n")
	writeFile(t, filepath.Join(dir, "runbooks", ".git", "x.yaml"), "not: a runbook\n")
	writeFile(t, filepath.Join(dir, "runbooks", "README.md"), "# notes\n")

	r := run(t, dir, "validate", "runbooks")
	if r.code != 0 || r.stdout != "" || r.stderr != "2 runbooks valid\n" {
		t.Fatalf("got code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// Without a PATH, ./runbooks is checked.
	if r := run(t, dir, "validate"); r.code != 0 || r.stderr != "2 runbooks valid\n" {
		t.Fatalf("default path: code %d, stderr %q", r.code, r.stderr)
	}
}

func TestValidateInvalidFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), `version: 1
name: refund
steps:
  - id: lookup
    acton: payments.get_payment
  - id: notify
    action: core.log
    with:
      message: ${{ inputs.paymnt_id }}
`)
	writeFile(t, filepath.Join(dir, "good.yaml"), runbook("good"))
	r := run(t, dir, "validate", "bad.yaml", "good.yaml")
	want := `bad.yaml:5:5: steps[0].acton: unknown key "acton"
    5 |     acton: payments.get_payment
      |     ^
  hint: did you mean "action"?
bad.yaml:9:27: steps[1].with.message: unknown input "paymnt_id"
    9 |       message: ${{ inputs.paymnt_id }}
      |                           ^
  hint: the runbook declares no inputs
`
	if r.code != 2 || r.stdout != want || r.stderr != "2 problems in 1 file of 2 runbooks\n" {
		t.Fatalf("got code %d\nstdout:\n%s\nstderr: %q", r.code, r.stdout, r.stderr)
	}
}

func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.yaml"), "version: 2\nname: x1\nsteps: [{id: a, action: core.set}]\n")
	r := run(t, dir, "validate", "-o", "json", "bad.yaml")
	if r.code != 2 {
		t.Fatalf("code %d, stderr %q", r.code, r.stderr)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	want := map[string]any{"file": "bad.yaml", "line": 1.0, "column": 10.0, "severity": "error", "path": "version",
		"message": "unsupported version 2", "hint": "this Steward reads version 1; upgrade Steward or write version: 1"}
	if len(got) != 1 || !equalMaps(got[0], want) {
		t.Fatalf("got %v\nwant [%v]", got, want)
	}
	// Valid input prints an empty array, still one JSON document.
	writeFile(t, filepath.Join(dir, "ok.yaml"), runbook("fine"))
	if r := run(t, dir, "validate", "-o", "json", "ok.yaml"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("valid: code %d stdout %q", r.code, r.stdout)
	}
}

func equalMaps(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestValidateDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), runbook("same"))
	writeFile(t, filepath.Join(dir, "b.yaml"), runbook("same"))
	r := run(t, dir, "validate", ".")
	want := `b.yaml:2:7: name: runbook name "same" is already used by a.yaml
    2 | name: same
      |       ^
  hint: runbook names must be unique within a folder or repository
`
	if r.code != 2 || r.stdout != want {
		t.Fatalf("code %d\n%s", r.code, r.stdout)
	}
}

func TestValidateBadUsage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args   []string
		stderr string
	}{
		{[]string{"validate"}, "steward: no PATH given and ./runbooks does not exist; try: steward validate FILE_OR_FOLDER\n"},
		{[]string{"validate", "missing.yaml"}, "steward: stat missing.yaml: no such file or directory\n"},
		{[]string{"validate", "-o", "xml", "."}, "steward: unknown output format \"xml\": use text or json\n"},
		{[]string{"validate", "--stric"}, "steward: unknown flag: --stric\n"},
		{[]string{"validate", "."}, "steward: no runbook files found in .\n"},
	}
	for _, tt := range tests {
		r := run(t, dir, tt.args...)
		if r.code != 2 || r.stderr != tt.stderr || r.stdout != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", tt.args, r.code, r.stdout, r.stderr, tt.stderr)
		}
	}
}

func TestValidateHugeFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "huge.yaml"), "version: 1\nname: huge\ndescription: "+strings.Repeat("x", 3<<20)+"\n")
	r := run(t, dir, "validate", "huge.yaml")
	if r.code != 2 || r.stdout != "huge.yaml:1:1: file is 3.0 MiB; a runbook may be at most 1 MiB\n" {
		t.Fatalf("code %d stdout %q", r.code, r.stdout)
	}
}

func TestSchemaCommand(t *testing.T) {
	r := run(t, t.TempDir(), "schema")
	var doc map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
		t.Fatalf("code %d, stdout is not JSON: %.200s", r.code, r.stdout)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("$schema = %v", doc["$schema"])
	}
}

func TestVersionAndHelp(t *testing.T) {
	r := run(t, t.TempDir(), "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "steward ") || !strings.Contains(r.stdout, "runbook format v1") {
		t.Fatalf("version: code %d %q", r.code, r.stdout)
	}
	r = run(t, t.TempDir(), "validate", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "FILE:LINE:COL: FIELD.PATH: message") || !strings.Contains(r.stdout, "Exit status: 0 when every runbook is valid (warnings are counted, not\nfailed), 2 when any is not") {
		t.Fatalf("help: code %d %s", r.code, r.stdout)
	}
}

// TestValidateChecksWithAgainstActions: each step's with is checked
// against the built-in action's input schema, at the field's position.
func TestValidateChecksWithAgainstActions(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "with.yaml"), `version: 1
name: with
steps:
  - id: call
    action: http.request
    with:
      metod: GET
      method: FETCH
      timeout: 10 seconds
      max_bytes: "1000"
  - id: run
    action: exec
    with: {command: ls -la}
  - id: say
    action: core.log
  - id: nap
    action: core.sleep
    with: {duration: '${{ 5 }}s'}
    undo:
      action: core.log
      with: {mesage: hi}
`)
	r := run(t, dir, "validate", "with.yaml")
	want := `with.yaml:6:5: steps[0].with: missing required field "url" for http.request
    6 |     with:
      |     ^
with.yaml:7:7: steps[0].with.metod: unknown field "metod" for http.request
    7 |       metod: GET
      |       ^
  hint: did you mean "method"?
with.yaml:8:15: steps[0].with.method: method must be one of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], got "FETCH"
    8 |       method: FETCH
      |               ^
with.yaml:9:16: steps[0].with.timeout: timeout: invalid duration "10 seconds"
    9 |       timeout: 10 seconds
      |                ^
  hint: write a duration such as 30s, 5m or 1h30m
with.yaml:10:18: steps[0].with.max_bytes: max_bytes must be an integer, got a string
   10 |       max_bytes: "1000"
      |                  ^
  hint: remove the quotes
`
	if r.code != 2 || !strings.HasPrefix(r.stdout, want) {
		t.Fatalf("exit %d\n%s\nwant prefix\n%s", r.code, r.stdout, want)
	}
	for _, more := range []string{
		`with.yaml:13:21: steps[1].with.command: command must be a list, got a string`,
		`with.yaml:14:5: steps[2]: core.log needs "message" in with`,
		`with.yaml:21:14: steps[3].undo.with.mesage: unknown field "mesage" for core.log`,
	} {
		if !strings.Contains(r.stdout, more) {
			t.Errorf("output lacks %q", more)
		}
	}
}

// TestValidateExamples: the valid examples of the format stay valid once
// actions are checked too (their plugins are fictional: not installed, a
// warning), and the bundled runbooks are valid with --strict against the
// bundled plugins' schemas (pinned in the home, whose plugin folder comes
// before ./bin).
func TestValidateExamples(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "steward.yaml")
	writeFile(t, cfg, "plugins:\n  folders: ["+t.TempDir()+"]\n") // none installed, whatever ./bin holds
	if r := homeRun(t, "../..", t.TempDir(), nil, "validate", "--config", cfg, "schema/testdata/valid/"); r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	home := pinnedBundled(t)
	if r := homeRun(t, "../..", home, nil, "validate", "--strict", "runbooks/", "plugins/example/runbooks/"); r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
