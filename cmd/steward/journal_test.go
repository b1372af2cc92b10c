package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// homeRun runs the binary in dir with one --home kept across calls, as a
// user's ~/.steward is, and extra environment.
func homeRun(t *testing.T, dir, home string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(steward, append([]string{"--home", home}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running steward: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

func wantCode(t *testing.T, r result, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
}

var startedRe = regexp.MustCompile(`run (\d{8}-\d{6}-[0-9a-f]{8}) started`)

func runID(t *testing.T, r result) string {
	t.Helper()
	m := startedRe.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no run id in:\n%s", r.stdout)
	}
	return m[1]
}

const approvalRunbook = `version: 1
name: refund
inputs:
  payment_id: {type: string, required: true}
steps:
  - id: lookup
    action: core.set
    with: {amount: 12}
  - id: refund
    approval:
      message: Refund ${{ steps.lookup.outputs.amount }} for ${{ inputs.payment_id }}?
      approvers: [payments-leads, dana]
      timeout: TIMEOUT
    action: core.set
    with: {refunded: true}
outputs:
  refunded: ${{ steps.refund.outputs.refunded }}
`

func approvalSetup(t *testing.T, timeout string) (dir, home string) {
	dir, home = t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "refund.yaml"), strings.Replace(approvalRunbook, "TIMEOUT", timeout, 1))
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payments-leads: [bruno, carla]\n")
	return dir, home
}

// TestApprovalFourEyes: the run waits and prints the exact command; the
// person who started it cannot approve, nor can someone outside the
// approvers; a member of an approvers group can, with a comment that is
// recorded, and the run goes on in that process.
func TestApprovalFourEyes(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)
	if want := fmt.Sprintf("steward approve %s refund --comment", id); !strings.Contains(r.stderr, want) {
		t.Fatalf("the waiting run does not print %q:\n%s", want, r.stderr)
	}
	list := homeRun(t, dir, home, nil, "runs", "--status", "waiting", "-o", "json")
	if !strings.Contains(list.stdout, id) {
		t.Fatalf("runs --status waiting does not list %s:\n%s", id, list.stdout)
	}

	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "ana")
	wantCode(t, r, exitFailed, "self-approval")
	if !strings.Contains(r.stderr, "ana started run "+id+" and cannot approve its steps: four eyes") {
		t.Fatalf("self-approval refusal:\n%s", r.stderr)
	}
	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "mallory")
	wantCode(t, r, exitFailed, "outsider")
	if !strings.Contains(r.stderr, "mallory may not decide step refund: approvers are payments-leads (bruno, carla), dana") {
		t.Fatalf("outsider refusal:\n%s", r.stderr)
	}
	r = homeRun(t, dir, home, nil, "approve", id, "lookup", "--as", "carla")
	wantCode(t, r, exitInvalid, "a step that does not wait")
	if want := "steward: nothing to decide: step lookup of run " + id + " does not wait for one; it waits for refund\n"; r.stderr != want {
		t.Fatalf("approving a step that does not wait:\n%s", r.stderr)
	}

	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "carla", "--comment", "checked ticket 4711", "--progress", "plain")
	wantCode(t, r, exitOK, "approval by a group member")
	if !strings.Contains(r.stdout, "approved by carla: checked ticket 4711") || !strings.Contains(r.stdout, "refunded: true") {
		t.Fatalf("the approved run did not go on:\n%s", r.stdout)
	}

	var doc struct {
		Run       struct{ Status, Actor string }
		Approvals []struct {
			Step, By, Comment string
			Approved          bool
		}
	}
	show := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	wantCode(t, show, exitOK, "show")
	if err := json.Unmarshal([]byte(show.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.Status != "succeeded" || doc.Run.Actor != "ana" || len(doc.Approvals) != 1 ||
		doc.Approvals[0].By != "carla" || doc.Approvals[0].Comment != "checked ticket 4711" || !doc.Approvals[0].Approved {
		t.Fatalf("show does not record the decision: %+v", doc)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestApprovalDenied: a denial with a comment fails the step and the run.
func TestApprovalDenied(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-2", "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)
	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--deny", "--as", "dana", "--comment", "wrong card", "--progress", "plain")
	wantCode(t, r, exitFailed, "denied")
	if !strings.Contains(r.stdout, "approval denied by dana: wrong card") {
		t.Fatalf("the denial is not shown:\n%s", r.stdout)
	}
	show := homeRun(t, dir, home, nil, "show", id)
	if !strings.Contains(show.stdout, "step refund denied by dana") || !strings.Contains(show.stdout, "run "+id+": refund failed") {
		t.Fatalf("show:\n%s", show.stdout)
	}
}

// TestApprovalTimeout: nobody decided within the approval's timeout: a
// late approval is refused and the step fails.
func TestApprovalTimeout(t *testing.T) {
	dir, home := approvalSetup(t, "1s")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-3", "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)
	// The approval's timeout runs on the wall clock of the processes
	// that decide: wait it out for real.
	time.Sleep(1100 * time.Millisecond)
	r = homeRun(t, dir, home, nil, "approve", id, "refund", "--as", "bruno", "--progress", "plain")
	wantCode(t, r, exitFailed, "late approval")
	if !strings.Contains(r.stderr, "the approval of step refund timed out") || !strings.Contains(r.stdout, "approval timed out after 1s: nobody decided") {
		t.Fatalf("late approval:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestSecretsNeverStored greps the raw bytes of the store, an export and
// every output for secrets: a secret input, a secret() value from the
// environment, and both echoed back by a real HTTP server and by a real
// process, inside larger strings and JSON.
func TestSecretsNeverStored(t *testing.T) {
	const input, env = "in-s3cr3t-4711", "env-t0ken-0815"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"seen":%q,"note":"token %s"}`, r.Header.Get("Authorization"), r.URL.Query().Get("t"))
	}))
	defer srv.Close()
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "leak.yaml"), `version: 1
name: leak
inputs:
  password: {type: string, secret: true, required: true}
  base: {type: string, required: true}
steps:
  - id: call
    action: http.request
    with:
      url: ${{ inputs.base }}/x
      query: {t: "${{ inputs.password }}"}
      headers: {Authorization: "Bearer ${{ secret('api') }}"}
  - id: echo
    action: exec
    with:
      command: [echo, "pw=${{ inputs.password }} api=${{ secret('api') }}"]
  - id: both
    action: core.set
    with:
      json: '{"password":"${{ inputs.password }}"}'
      seen: ${{ steps.call.outputs.json }}
      out: ${{ steps.echo.outputs.stdout }}
  - id: boom
    action: core.fail
    with:
      message: failing with ${{ inputs.password }} and ${{ secret('api') }}
`)
	envs := []string{"STEWARD_SECRET_API=" + env}
	var outputs []string
	for _, args := range [][]string{
		{"run", "leak.yaml", "--input", "password=" + input, "--input", "base=" + srv.URL, "--progress", "plain"},
		{"run", "leak.yaml", "--input", "password=" + input, "--input", "base=" + srv.URL, "-o", "json"},
	} {
		r := homeRun(t, dir, home, envs, args...)
		wantCode(t, r, exitFailed, "run")
		outputs = append(outputs, r.stdout, r.stderr)
	}
	if !strings.Contains(outputs[0], "failing with *** and ***") {
		t.Fatalf("the failure message is not shown redacted:\n%s", outputs[0])
	}
	id := runID(t, result{stdout: outputs[0]})
	for _, args := range [][]string{{"runs", "-o", "json"}, {"runs"}, {"show", id}, {"show", id, "-o", "json"}, {"audit", "export"}} {
		r := homeRun(t, dir, home, nil, args...)
		wantCode(t, r, exitOK, strings.Join(args, " "))
		outputs = append(outputs, r.stdout, r.stderr)
	}
	show := outputs[len(outputs)-4]
	if !strings.Contains(show, `"Bearer ***"`) || !strings.Contains(show, `pw=*** api=***`) {
		t.Fatalf("show -o json does not show the redacted values:\n%s", show)
	}
	for i, o := range outputs {
		for _, s := range []string{input, env} {
			if strings.Contains(o, s) {
				t.Errorf("output %d holds the secret %q:\n%s", i, s, o)
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
		for _, s := range []string{input, env} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the secret %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStorePermissions: the store is private to its user.
func TestStorePermissions(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	r := homeRun(t, t.TempDir(), home, nil, "run", "decline-reply", "--input", "decline_code=expired_card")
	wantCode(t, r, exitOK, "run")
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSubRunsJournaled: each core.runbook sub-run is a run of its own in
// the journal, linked to its parent, and goes on only with it.
func TestSubRunsJournaled(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "child.yaml"), "version: 1\nname: child\ninputs:\n  who: {type: string, required: true}\nsteps:\n  - id: hi\n    action: core.set\n    with: {greeting: \"hi ${{ inputs.who }}\"}\noutputs:\n  greeting: ${{ steps.hi.outputs.greeting }}\n")
	writeFile(t, filepath.Join(dir, "runbooks", "parent.yaml"), "version: 1\nname: parent\nsteps:\n  - id: call\n    for_each: ${{ [\"a\", \"b\"] }}\n    action: core.runbook\n    with: {name: child, inputs: {who: \"${{ item }}\"}}\n")
	r := homeRun(t, dir, home, nil, "run", "parent", "--progress", "plain")
	wantCode(t, r, exitOK, "run")
	id := runID(t, r)
	var runs []struct{ ID, Runbook, Parent, Status string }
	list := homeRun(t, dir, home, nil, "runs", "-o", "json")
	if err := json.Unmarshal([]byte(list.stdout), &runs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, run := range runs {
		got[run.ID] = run.Runbook + " " + run.Parent + " " + run.Status
	}
	want := map[string]string{id: "parent  succeeded", id + ".call.0": "child " + id + " succeeded", id + ".call.1": "child " + id + " succeeded"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("run %s: got %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	show := homeRun(t, dir, home, nil, "show", id+".call.1", "-o", "json")
	if !strings.Contains(show.stdout, `"greeting": "hi b"`) {
		t.Errorf("the sub-run's steps are not recorded:\n%s", show.stdout)
	}
	r = homeRun(t, dir, home, nil, "resume", id+".call.0")
	wantCode(t, r, exitInvalid, "resume of a sub-run")
	if !strings.Contains(r.stderr, "it goes on with its parent (steward resume "+id+")") {
		t.Errorf("resume of a sub-run:\n%s", r.stderr)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

const cancelRunbook = `version: 1
name: grant
steps:
  - id: grant
    action: core.set
    with: {granted: true}
    undo:
      action: core.log
      with: {message: revoked}
  - id: hold
    action: exec
    with: {command: [sleep, "30"]}
  - id: confirm
    approval: {message: "Confirm?"}
    action: core.set
    with: {confirmed: true}
`

// startHeld starts the runbook in the background and returns once its
// second step runs.
func startHeld(t *testing.T, dir, home string) (*exec.Cmd, string) {
	t.Helper()
	cmd, _, id := startHeldOutput(t, dir, home)
	return cmd, id
}

// TestKilledRunIsInterruptedThenCancelled: a run whose process was killed
// is listed as interrupted, not running; steward cancel stops it, runs the
// undo of what finished, and records who asked.
func TestKilledRunIsInterruptedThenCancelled(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "grant.yaml"), cancelRunbook)
	cmd, id := startHeld(t, dir, home)
	if got := homeRun(t, dir, home, nil, "runs", "--status", "running", "-o", "json").stdout; !strings.Contains(got, id) {
		t.Fatalf("a live run is not listed as running:\n%s", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := homeRun(t, dir, home, nil, "runs", "--status", "interrupted", "-o", "json").stdout; !strings.Contains(got, id) {
		t.Fatalf("a killed run is not listed as interrupted:\n%s", got)
	}
	r := homeRun(t, dir, home, nil, "cancel", id, "--as", "bruno", "--comment", "ticket closed", "--progress", "plain")
	wantCode(t, r, exitOK, "cancel")
	if !strings.Contains(r.stdout, "grant (undo)") && !strings.Contains(r.stdout, "undo:grant") {
		t.Errorf("the undo of the finished step did not run:\n%s", r.stdout)
	}
	var doc struct {
		Run      struct{ Status string }
		Timeline []struct {
			Type string
			Data map[string]any
		}
	}
	show := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	if err := json.Unmarshal([]byte(show.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	asked := false
	for _, e := range doc.Timeline {
		if e.Type == "run.cancel_requested" && e.Data["by"] == "bruno" && e.Data["comment"] == "ticket closed" {
			asked = true
		}
	}
	if doc.Run.Status != "cancelled" || !asked {
		t.Fatalf("status %s, cancel recorded: %v\n%s", doc.Run.Status, asked, show.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestCancelLiveRun: steward cancel, in another process, records the
// request; the process running the run sees it at its lease's next
// heartbeat (no signal: that process would say "cancelling: ..." on
// SIGTERM or Ctrl-C), cancels the running action, runs the undo, ends the
// run cancelled; cancel waits for it.
func TestCancelLiveRun(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "grant.yaml"), cancelRunbook)
	cmd, out, id := startHeldOutput(t, dir, home)
	r := homeRun(t, dir, home, nil, "cancel", id, "--as", "bruno")
	wantCode(t, r, exitOK, "cancel")
	if !strings.Contains(r.stderr, "run "+id+" is cancelled") {
		t.Fatalf("cancel:\n%s", r.stderr)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != exitFailed {
		t.Fatalf("the cancelled run's process: %v, want exit 1", err)
	}
	if strings.Contains(out.String(), "cancelling:") {
		t.Fatalf("the run's process was signalled:\n%s", out.String())
	}
	show := homeRun(t, dir, home, nil, "show", id)
	if !strings.Contains(show.stdout, "grant (undo)  core.log  succeeded") {
		t.Fatalf("the undo did not run:\n%s", show.stdout)
	}
	var doc struct {
		Timeline []struct {
			Time time.Time
			Type string
			Data map[string]any
		}
	}
	if err := json.Unmarshal([]byte(homeRun(t, dir, home, nil, "show", id, "-o", "json").stdout), &doc); err != nil {
		t.Fatal(err)
	}
	var asked, stopped time.Time
	for _, e := range doc.Timeline {
		switch {
		case e.Type == "run.cancel_requested":
			asked = e.Time
		case !asked.IsZero() && stopped.IsZero() && e.Data["step"] == "hold":
			stopped = e.Time
		}
	}
	if asked.IsZero() || stopped.IsZero() {
		t.Fatalf("no cancel request, or nothing recorded of the held step after it:\n%s", show.stdout)
	}
	t.Logf("the running process stopped the held step %s after the cancel request was recorded", stopped.Sub(asked).Round(time.Millisecond))
}

// startHeldOutput is startHeld, with the run's output so far.
func startHeldOutput(t *testing.T, dir, home string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd := exec.Command(steward, "--home", home, "run", "grant.yaml", "--progress", "plain")
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	holding := regexp.MustCompile(`hold +running`)
	for i := 0; i < 3000 && !holding.MatchString(out.String()); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !holding.MatchString(out.String()) {
		cmd.Process.Kill()
		t.Fatalf("the run did not reach its second step:\n%s", out.String())
	}
	return cmd, out, runID(t, result{stdout: out.String()})
}
