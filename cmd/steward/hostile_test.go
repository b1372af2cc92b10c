package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecretFormsNeverShown: through the CLI, neither the output of run
// (progress, summary, JSON), nor show, nor the export, nor any file of the
// store holds a form of a secret that exec and http.request make of it:
// its base64 in a Basic header, its hex, its start where a quote of
// stderr or max_output cuts it, the lines and the one-line form of a
// secret given as a block of several lines.
func TestSecretFormsNeverShown(t *testing.T) {
	const token = "Xtok-Q7f9Lm2Pz8Rt4Wv6Yb1Nc3Hd5Jk0"
	const key = "Xkey-first-line\n  Xkey-second\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "rejected "+r.Header.Get("Authorization")+r.URL.Query().Get("k"))
	}))
	defer srv.Close()
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "forms.yaml"), `version: 1
name: forms
inputs:
  token: {type: string, secret: true, required: true}
  base: {type: string, required: true}
steps:
  - id: basic
    continue_on_error: true
    action: http.request
    with:
      url: ${{ inputs.base }}/echo
      headers: {Authorization: '${{ "Basic " + toBase64("support:" + inputs.token) }}'}
  - id: hexed
    action: exec
    with:
      command: [sh, -c, 'printf %s "$T" | od -An -v -tx1 | tr -d " \n"; printf " cut: %s" "$T"']
      env: {T: '${{ inputs.token }}'}
      max_output: 84
  - id: cut
    continue_on_error: true
    action: exec
    with:
      command: [sh, -c, 'printf "%0190d %s\n" 0 "$T" >&2; exit 3']
      env: {T: '${{ inputs.token }}'}
  - id: lines
    continue_on_error: true
    action: exec
    with:
      command: [sh, -c, 'printf %s "$K" >&2; exit 1']
      env: {K: '${{ secret("key") }}'}
  - id: query
    continue_on_error: true
    action: http.request
    with:
      url: ${{ inputs.base }}/echo
      query: {k: '${{ secret("key") }}'}
outputs:
  hex: ${{ steps.hexed.outputs.stdout }}
`)
	b64 := base64.StdEncoding.EncodeToString([]byte("support:" + token))
	forbidden := []string{"Xtok", "Xkey", b64[12:30], hex.EncodeToString([]byte(token))[:20]}
	env := []string{"STEWARD_SECRET_KEY=" + key}
	var outputs []string
	for _, args := range [][]string{
		{"run", "forms.yaml", "--input", "token=" + token, "--input", "base=" + srv.URL, "--progress", "plain"},
		{"run", "forms.yaml", "--input", "token=" + token, "--input", "base=" + srv.URL, "--progress", "live"},
		{"run", "forms.yaml", "--input", "token=" + token, "--input", "base=" + srv.URL, "-o", "json"},
	} {
		r := homeRun(t, dir, home, env, args...)
		wantCode(t, r, exitOK, "run")
		outputs = append(outputs, r.stdout, r.stderr)
	}
	if !strings.Contains(outputs[0], "exited with status 3: ") || !strings.Contains(outputs[0], "***") {
		t.Errorf("the run does not show the failures redacted:\n%s", outputs[0])
	}
	id := runID(t, result{stdout: outputs[0]})
	for _, args := range [][]string{{"show", id}, {"show", id, "-o", "json"}, {"audit", "export"}} {
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, exitOK, strings.Join(args, " "))
		outputs = append(outputs, r.stdout, r.stderr)
	}
	for i, o := range outputs {
		for _, f := range forbidden {
			if strings.Contains(o, f) {
				t.Errorf("output %d holds %q:\n%s", i, f, o)
			}
		}
	}
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, f := range forbidden {
			if bytes.Contains(b, []byte(f)) {
				t.Errorf("%s holds %q", path, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// noisyOutput is what a hostile program prints: a screen clear, a window
// title (OSC ended by BEL), an 8-bit CSI (C1, as UTF-8) and DEL. printf
// writes it from octal escapes.
const noisyOutput = `\033[2J\033]0;pwned\007\302\23331m\177 done`

// TestControlSequencesNeverReachTheTerminal: control sequences in what
// actions print reach no human-readable output of the CLI, but are shown
// escaped: progress (plain and live), the summary, the waiting message,
// show, runs, and an error the CLI prints. JSON output stays valid JSON
// with them escaped.
func TestControlSequencesNeverReachTheTerminal(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "noisy.yaml"), `version: 1
name: noisy
steps:
  - id: emit
    name: 'Emit'
    action: exec
    with:
      command: [printf, '`+noisyOutput+`']
  - id: say
    action: core.log
    with:
      message: ${{ steps.emit.outputs.stdout }}
  - id: fail
    continue_on_error: true
    action: exec
    with:
      command: [sh, -c, 'printf "`+noisyOutput+`" >&2; exit 4']
  - id: ask
    approval:
      message: 'go on after ${{ steps.emit.outputs.stdout }}?'
    action: core.set
    with: {said: '${{ steps.emit.outputs.stdout }}'}
outputs:
  said: ${{ steps.ask.outputs.said }}
`)
	type out struct {
		what string
		text string
		json bool
	}
	var outs []out
	add := func(r result, args []string, json bool) {
		what := strings.Join(args, " ")
		outs = append(outs, out{what + " (stdout)", r.stdout, json}, out{what + " (stderr)", r.stderr, false})
	}
	var id string
	for _, args := range [][]string{
		{"run", "noisy.yaml", "--as", "ana", "--progress", "plain"},
		{"run", "noisy.yaml", "--as", "ana", "--progress", "live"},
		{"run", "noisy.yaml", "--as", "ana", "-o", "json"},
	} {
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, exitWaiting, strings.Join(args, " "))
		add(r, args, args[len(args)-1] == "json")
		if id == "" {
			id = runID(t, r)
		}
	}
	for _, args := range [][]string{{"show", id}, {"show", id, "-o", "json"}, {"runs"}, {"runs", "-o", "json"},
		{"approve", id, "ask", "--as", "bruno", "--progress", "plain"}, {"show", id}} {
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, exitOK, strings.Join(args, " "))
		add(r, args, args[len(args)-1] == "json")
	}
	// An error the CLI prints quotes what it was given.
	bad := []string{"show", "\x1b]0;pwned\x07"}
	r := homeRun(t, dir, home, nil, bad...)
	wantCode(t, r, exitInvalid, "show of a hostile id")
	add(r, bad, false)

	escaped := `\x1b[2J\x1b]0;pwned\x07\u009b31m\x7f done`
	// The live progress's own sequences: up N lines and clear; end of colour.
	own := regexp.MustCompile(`\x1b\[\d+A\x1b\[J|\x1b\[0m`)
	for _, o := range outs {
		if i := strings.IndexAny(own.ReplaceAllString(o.text, ""), "\x1b\x07\x7f\u009b"); i >= 0 {
			t.Errorf("%s: a control character reaches the terminal at %d:\n%q", o.what, i, o.text)
		}
		if o.json && !json.Valid([]byte(o.text)) {
			t.Errorf("%s: not JSON:\n%s", o.what, o.text)
		}
	}
	for i, want := range map[int]string{
		0:  "log        info: " + escaped,            // progress: a log line
		1:  "waits for approval of step ask",         // the waiting message
		2:  "exited with status 4: " + escaped,       // the live progress: an error
		6:  "go on after " + escaped,                 // show: what it waits for
		14: "said: " + escaped,                       // the summary's outputs
		19: `no run \x1b]0;pwned\x07 in the journal`, // the CLI's error
	} {
		if !strings.Contains(outs[i].text, want) {
			t.Errorf("%s does not show %q:\n%s", outs[i].what, want, outs[i].text)
		}
	}
}

// TestSubRunByPathRefused: a runbook that takes its sub-run's name from an
// input neither runs a runbook elsewhere on disk nor quotes a file that is
// no runbook (/etc/passwd); validate refuses a literal path.
func TestSubRunByPathRefused(t *testing.T) {
	dir, home, elsewhere := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "launcher.yaml"), `version: 1
name: launcher
inputs:
  which: {type: string, required: true}
steps:
  - id: sub
    action: core.runbook
    with: {name: '${{ inputs.which }}'}
`)
	writeFile(t, filepath.Join(elsewhere, "evil.yaml"), `version: 1
name: evil
steps:
  - id: m
    action: core.log
    with: {message: EVIL-RAN}
`)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Skip(err)
	}
	first, _, _ := strings.Cut(string(passwd), "\n")
	for _, which := range []string{"/etc/passwd", filepath.Join(elsewhere, "evil.yaml")} {
		for _, args := range [][]string{{"--progress", "plain"}, {"-o", "json"}} {
			r := homeRun(t, dir, home, nil, append([]string{"run", "launcher", "--input", "which=" + which}, args...)...)
			wantCode(t, r, exitFailed, "run launcher "+which)
			if all := r.stdout + r.stderr; strings.Contains(all, first) || strings.Contains(all, "EVIL-RAN") ||
				!strings.Contains(all, "must match") {
				t.Errorf("%s:\n%s\n%s", which, r.stdout, r.stderr)
			}
		}
	}
	r := homeRun(t, dir, home, nil, "run", "launcher", "--input", "which=decline-reply", "--progress", "plain")
	if strings.Contains(r.stdout, "must match") {
		t.Errorf("a runbook name is refused:\n%s", r.stdout)
	}
	writeFile(t, filepath.Join(dir, "literal", "literal.yaml"), `version: 1
name: literal
steps:
  - id: sub
    action: core.runbook
    with: {name: /etc/passwd}
`)
	r = homeRun(t, dir, home, nil, "validate", "literal")
	wantCode(t, r, exitInvalid, "validate a literal path")
	if !strings.Contains(r.stdout, "literal.yaml:6:") || !strings.Contains(r.stdout, "steps[0].with.name: name must match") {
		t.Errorf("validate:\n%s", r.stdout)
	}
}

// TestSubRunBudgetFromConfig: a runbook that calls itself several times
// per level starts at most runs.max_sub_runs sub-runs, then fails saying
// why; validate warns that it calls itself.
func TestSubRunBudgetFromConfig(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runs:\n  max_sub_runs: 6\n")
	writeFile(t, filepath.Join(dir, "runbooks", "fork.yaml"), `version: 1
name: fork
inputs:
  level: {type: integer, default: 0}
steps:
  - id: a
    if: inputs.level < 4
    action: core.runbook
    with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}
  - id: b
    if: inputs.level < 4
    action: core.runbook
    with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}
`)
	r := homeRun(t, dir, home, nil, "run", "fork", "--progress", "plain")
	wantCode(t, r, exitFailed, "run fork")
	if !strings.Contains(r.stdout, "this run has started 6 sub-runs, all levels together, the most one run may (runs.max_sub_runs in steward.yaml)") {
		t.Errorf("the run does not say why it failed:\n%s", r.stdout)
	}
	r = homeRun(t, dir, home, nil, "runs", "-o", "json")
	wantCode(t, r, exitOK, "runs")
	var list []struct{ ID, Parent string }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 7 {
		t.Errorf("%d runs, want the run and 6 sub-runs:\n%s", len(list), r.stdout)
	}
	r = homeRun(t, dir, home, nil, "validate", "runbooks")
	wantCode(t, r, exitOK, "validate")
	for _, want := range []string{`fork.yaml:9:18: warning: steps[0].with.name: runbook "fork" calls itself`,
		`fork.yaml:13:18: warning: steps[1].with.name: runbook "fork" calls itself`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate does not warn %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "1 runbook valid, 2 warnings") {
		t.Errorf("validate: %s", r.stderr)
	}
}

// TestReadFileFIFO: core.read_file of a named pipe beside the runbook
// fails at once, saying why, instead of blocking the run past every
// timeout.
func TestReadFileFIFO(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "reader.yaml"), `version: 1
name: reader
steps:
  - id: read
    timeout: 1h
    action: core.read_file
    with: {path: files/policy.yaml}
`)
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "files", "policy.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, steward, "--home", home, "run", "reader.yaml", "--progress", "plain")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the run blocked on the named pipe:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed ||
		!strings.Contains(string(out), "core.read_file: files/policy.yaml is a named pipe (FIFO), not a regular file") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

// TestIdentityNotText: an --as that is not UTF-8 text, or holds a control
// character, is refused before anything runs (recorded, its bytes would
// differ from the record's JSON, and audit verify would report an edit).
func TestIdentityNotText(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	for _, as := range []string{"bad\xffname", "ana\x1b[2J"} {
		r := homeRun(t, dir, home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--as", as)
		wantCode(t, r, exitInvalid, "run --as "+strconv.Quote(as))
		if !strings.Contains(r.stderr, `for "--as" flag`) {
			t.Errorf("--as %q: %s", as, r.stderr)
		}
	}
	if got := homeRun(t, dir, home, nil, "runs", "-o", "json").stdout; strings.Contains(got, `"id"`) {
		t.Fatalf("a run was recorded: %s", got)
	}
	wantCode(t, homeRun(t, dir, home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--as", "Zoë 李"), exitOK, "a UTF-8 name")
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}
