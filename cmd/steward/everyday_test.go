package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// internalPrefixRe finds the name of one of Steward's packages where a
// message or a cause in it starts: users read what went wrong, not which
// package said so.
var internalPrefixRe = regexp.MustCompile(`(^|: |; |\(|\n)(journal|engine|runs|runbooks|sources|actions|plugins|config|sqlite|schema|redact|evidence|auth|checkpoint): `)

// cli runs steward in dir with home, as homeRun, and fails the test when
// anything it prints names an internal package: every test of this file
// runs steward through it, so every error they provoke is checked.
func cli(t *testing.T, dir, home string, args ...string) result {
	t.Helper()
	r := homeRun(t, dir, home, nil, args...)
	for _, out := range []string{r.stderr, r.stdout} {
		if m := internalPrefixRe.FindString(out); m != "" {
			t.Errorf("steward %s prints an internal package name (%q):\n%s", strings.Join(args, " "), m, out)
		}
	}
	return r
}

// twoWaitingRuns starts two runs of the approval runbook, as ana, that
// wait for the approval of step refund.
func twoWaitingRuns(t *testing.T) (dir, home, a, b string) {
	dir, home = approvalSetup(t, "4h")
	var ids []string
	for _, p := range []string{"p-1", "p-2"} {
		r := cli(t, dir, home, "run", "refund.yaml", "--input", "payment_id="+p, "--as", "ana", "--progress", "plain")
		wantCode(t, r, exitWaiting, "run")
		ids = append(ids, runID(t, r))
	}
	return dir, home, ids[0], ids[1]
}

// commonPrefix is the longest start a and b share.
func commonPrefix(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[:i]
}

// TestRunIDPrefix: show, approve, resume, cancel, audit verify --run and
// audit export --run take a run's id, or a unique start of it or of its
// random part; a start shared by several runs is exit 2 naming them; one
// that matches nothing is exit 2.
func TestRunIDPrefix(t *testing.T) {
	dir, home, a, b := twoWaitingRuns(t)
	random := func(id string) string { return id[strings.LastIndexByte(id, '-')+1:] }

	// show: by the random part, and by a start of the id.
	for _, ref := range []string{random(a), a[:len(a)-2]} {
		r := cli(t, dir, home, "show", ref)
		wantCode(t, r, exitOK, "show "+ref)
		if !strings.HasPrefix(r.stdout, "run "+a+": refund waiting\n") {
			t.Fatalf("show %s:\n%s", ref, r.stdout)
		}
	}
	r := cli(t, dir, home, "show", random(b), "-o", "json")
	wantCode(t, r, exitOK, "show -o json")
	var doc struct{ Run struct{ ID string } }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Run.ID != b {
		t.Fatalf("show %s -o json: %v\n%s", random(b), err, r.stdout)
	}

	// A start both share is ambiguous: exit 2, naming both, nothing done.
	shared := commonPrefix(a, b)
	for _, args := range [][]string{
		{"show", shared}, {"approve", shared, "refund", "--as", "dana"}, {"resume", shared}, {"cancel", shared},
		{"audit", "export", "--run", shared}, {"audit", "verify", "--run", shared},
	} {
		r := cli(t, dir, home, args...)
		wantCode(t, r, exitInvalid, strings.Join(args, " "))
		head := `steward: run id "` + shared + `" is ambiguous: it matches 2 runs; give more of the id:` + "\n"
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if !strings.HasPrefix(r.stderr, head) || len(lines) != 3 ||
			!strings.HasPrefix(lines[1], "  "+b+"  refund  waiting  ") || !strings.HasPrefix(lines[2], "  "+a+"  refund  waiting  ") {
			t.Fatalf("%s:\n%s", strings.Join(args, " "), r.stderr)
		}
		if r.stdout != "" {
			t.Fatalf("%s printed on stdout:\n%s", strings.Join(args, " "), r.stdout)
		}
	}
	// Nothing matches: exit 2.
	for _, args := range [][]string{{"show", "zz"}, {"approve", "zz", "refund"}, {"resume", "zz"}, {"cancel", "zz"},
		{"audit", "export", "--run", "zz"}, {"audit", "verify", "--run", "zz"}} {
		r := cli(t, dir, home, args...)
		wantCode(t, r, exitInvalid, strings.Join(args, " "))
		if r.stderr != "steward: no run zz in the journal: steward runs lists them\n" {
			t.Fatalf("%s:\n%s", strings.Join(args, " "), r.stderr)
		}
	}

	// approve by the random part; the run goes on under its whole id.
	r = cli(t, dir, home, "approve", random(a), "refund", "--as", "dana", "--progress", "plain")
	wantCode(t, r, exitOK, "approve by prefix")
	if !strings.Contains(r.stderr, "approved step refund of run "+a+" as dana; the run goes on") ||
		!strings.Contains(r.stdout, "run "+a+" resumed by dana") {
		t.Fatalf("approve %s:\n%s%s", random(a), r.stdout, r.stderr)
	}
	// resume by a start of the id.
	r = cli(t, dir, home, "resume", a[:len(a)-1])
	wantCode(t, r, exitOK, "resume an ended run")
	if r.stderr != "run "+a+" already ended: succeeded; nothing to resume\n" {
		t.Fatalf("resume:\n%s", r.stderr)
	}
	// cancel by the random part.
	r = cli(t, dir, home, "cancel", random(b), "--as", "dana", "--progress", "plain")
	wantCode(t, r, exitOK, "cancel by prefix")
	if !strings.Contains(r.stdout, "run "+b+" resumed by dana") && !strings.Contains(r.stdout, b) {
		t.Fatalf("cancel %s:\n%s%s", random(b), r.stdout, r.stderr)
	}
	if got := cli(t, dir, home, "show", b); !strings.HasPrefix(got.stdout, "run "+b+": refund cancelled\n") {
		t.Fatalf("after cancel:\n%s", got.stdout)
	}
	// audit export and verify --run by prefix.
	r = cli(t, dir, home, "audit", "export", "--run", random(a))
	wantCode(t, r, exitOK, "export by prefix")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], `"run_id":"`+a+`"`) || strings.Contains(r.stdout, `"run_id":"`+b+`"`) {
		t.Fatalf("export --run %s:\n%s", random(a), r.stdout)
	}
	r = cli(t, dir, home, "audit", "verify", "--run", random(b))
	wantCode(t, r, exitOK, "verify by prefix")
	if !strings.Contains(r.stdout, "in 1 run") {
		t.Fatalf("verify --run %s:\n%s", random(b), r.stdout)
	}
}

// TestNoPackagePrefix: the errors of the audit evidence and tokens
// commands say what went wrong without the package that said it
// ("evidence: the run has not finished", "auth: no such token").
func TestNoPackagePrefix(t *testing.T) {
	dir, home, waiting, _ := twoWaitingRuns(t)
	r := cli(t, dir, home, "audit", "evidence", waiting)
	wantCode(t, r, exitInvalid, "audit evidence of a waiting run")
	if want := "steward: the run has not finished: run " + waiting + " is waiting"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("audit evidence of a waiting run:\n%s\nwant it to start %q", r.stderr, want)
	}
	r = cli(t, dir, home, "tokens", "revoke", "nobody")
	wantCode(t, r, exitInvalid, "tokens revoke")
	if want := "steward: no such token: nobody"; !strings.HasPrefix(r.stderr, want) {
		t.Errorf("tokens revoke of no token:\n%s\nwant it to start %q", r.stderr, want)
	}
	for in, want := range map[string]string{
		"run x (review): evidence: no rows: the run has no output": "run x (review): no rows: the run has no output",
		"checkpoint: not an Ed25519 public key":                    "not an Ed25519 public key",
		"auth: no such token: x":                                   "no such token: x",
		"access review: a runbook":                                 "access review: a runbook",
	} {
		if got := userMessage(in); got != want {
			t.Errorf("userMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestApproveDenialSaysWhatHappens: after a denial, approve says the step
// fails and what becomes of the run, never that the run goes on; the
// denied step is not shown running.
func TestApproveDenialSaysWhatHappens(t *testing.T) {
	dir, home, a, b := twoWaitingRuns(t)
	r := cli(t, dir, home, "approve", a, "refund", "--deny", "--as", "dana", "--comment", "wrong card", "--progress", "plain")
	wantCode(t, r, exitFailed, "denied")
	want := "denied step refund of run " + a + " as dana: the step fails, and so does the run (the undo of finished steps and on_failure run)\n"
	if r.stderr != want {
		t.Fatalf("approve --deny: stderr\n%s\nwant\n%s", r.stderr, want)
	}
	if strings.Contains(r.stdout, "running") || !strings.Contains(r.stdout, "refund  failed") {
		t.Fatalf("approve --deny: progress\n%s", r.stdout)
	}

	// A step that continues on error: the run goes on.
	writeFile(t, filepath.Join(dir, "refund.yaml"), strings.Replace(strings.Replace(approvalRunbook, "TIMEOUT", "4h", 1),
		"    action: core.set\n    with: {refunded: true}", "    action: core.set\n    continue_on_error: true\n    with: {refunded: true}", 1))
	r = cli(t, dir, home, "run", "refund.yaml", "--input", "payment_id=p-3", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run")
	c := runID(t, r)
	r = cli(t, dir, home, "approve", c, "refund", "--deny", "--as", "dana", "--progress", "plain")
	wantCode(t, r, exitOK, "denied, continue_on_error")
	if want := "denied step refund of run " + c + " as dana: the step fails; it continues on error, so the run goes on\n"; r.stderr != want {
		t.Fatalf("approve --deny of a step that continues on error: stderr\n%s\nwant\n%s", r.stderr, want)
	}

	// Deciding a step that does not wait names what does, in words.
	r = cli(t, dir, home, "approve", b, "lookup", "--as", "dana")
	wantCode(t, r, exitInvalid, "a step that does not wait")
	if want := "steward: nothing to decide: step lookup of run " + b + " does not wait for one; it waits for refund\n"; r.stderr != want {
		t.Fatalf("approve lookup: stderr\n%s\nwant\n%s", r.stderr, want)
	}
	r = cli(t, dir, home, "approve", a, "refund", "--as", "dana")
	wantCode(t, r, exitFailed, "an ended run")
	// Its question was decided: who decided it is what a person needs.
	if want := "steward: step refund of run " + a + " was already decided by dana: denied (record "; !strings.HasPrefix(r.stderr, want) ||
		!strings.HasSuffix(r.stderr, "); only the first decision counts\n") {
		t.Fatalf("approve an ended run: stderr\n%s\nwant %s…", r.stderr, want)
	}
}

// TestProgressNotRunningBeforeAttempt: a step that waits for an approval,
// or that a dry run does not run, is never shown running.
func TestProgressNotRunningBeforeAttempt(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "held.yaml"), `version: 1
name: held
steps:
  - id: look
    action: core.set
    with: {a: 1}
  - id: gate
    approval: {message: "go?"}
    action: core.log
    with: {message: approved}
  - id: touch
    action: exec
    with: {command: [touch, created]}
  - id: after
    action: core.log
    with: {message: "${{ steps.touch.outputs.stdout }}"}
`)
	r := cli(t, dir, home, "run", "held.yaml", "--dry-run", "--progress", "plain")
	wantCode(t, r, exitOK, "dry run")
	for _, step := range []string{"touch", "after"} {
		if regexp.MustCompile(`\b` + step + `\s+running`).MatchString(r.stdout) {
			t.Errorf("the dry run shows %s running:\n%s", step, r.stdout)
		}
		if !regexp.MustCompile(`\b` + step + `\s+dry-run`).MatchString(r.stdout) {
			t.Errorf("the dry run does not say it did not run %s:\n%s", step, r.stdout)
		}
	}
	if !regexp.MustCompile(`\blook\s+running\s+core.set`).MatchString(r.stdout) {
		t.Errorf("a step that runs is not shown running:\n%s", r.stdout)
	}

	r = cli(t, dir, home, "run", "held.yaml", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run")
	if regexp.MustCompile(`\bgate\s+running`).MatchString(r.stdout) || !regexp.MustCompile(`\bgate\s+waiting\s+approval: go\?`).MatchString(r.stdout) {
		t.Fatalf("the waiting step:\n%s", r.stdout)
	}
	if n := len(regexp.MustCompile(`\bgate\s+waiting`).FindAllString(r.stdout, -1)); n != 1 {
		t.Fatalf("the waiting step is shown %d times:\n%s", n, r.stdout)
	}
	r = cli(t, dir, home, "approve", runID(t, r), "gate", "--as", "dana", "--progress", "plain")
	wantCode(t, r, exitOK, "approve")
	if !regexp.MustCompile(`gate\s+approved\s+approved by dana\n.*gate\s+running\s+core.log\n`).MatchString(r.stdout) {
		t.Fatalf("the approved step:\n%s", r.stdout)
	}
}

// TestShowTimelineInOrder: a record another process wrote (a cancel
// request) may be in the journal after records of what happened later;
// show's timeline is in the order things happened, offsets rising.
func TestShowTimelineInOrder(t *testing.T) {
	home := t.TempDir()
	s, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 21, 10, 15, 0, 0, time.UTC)
	const id = "20261121-101500-aaaaaaaa"
	for _, e := range []struct {
		typ string
		ms  int
	}{
		{"run.started", 0}, {"step.started", 20}, {"run.cancel_requested", 10}, {"step.finished", 30}, {"run.finished", 40},
	} {
		at := t0.Add(time.Duration(e.ms) * time.Millisecond)
		if _, err := s.Append(context.Background(), journal.Batch{RunID: id, Entries: []journal.Entry{{Type: e.typ, Time: at, Data: []byte(`{"step":"a"}`)}},
			Run: &journal.Run{ID: id, Runbook: "deploy", Status: "cancelled", StartedAt: t0, UpdatedAt: at}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := cli(t, t.TempDir(), home, "show", id)
	wantCode(t, r, exitOK, "show")
	_, timeline, ok := strings.Cut(r.stdout, "\ntimeline\n")
	if !ok {
		t.Fatalf("show:\n%s", r.stdout)
	}
	got := regexp.MustCompile(`(?m)^  (\d+)\s+\+(\S+)\s+(\S+)`).FindAllStringSubmatch(timeline, -1)
	var order []string
	for _, m := range got {
		order = append(order, m[1]+" +"+m[2]+" "+m[3])
	}
	want := []string{"1 +0s run.started", "3 +10ms run.cancel_requested", "2 +20ms step.started", "4 +30ms step.finished", "5 +40ms run.finished"}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	r = cli(t, t.TempDir(), home, "show", "aaaa", "-o", "json")
	var doc struct{ Timeline []struct{ Time time.Time } }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(doc.Timeline); i++ {
		if doc.Timeline[i].Time.Before(doc.Timeline[i-1].Time) {
			t.Fatalf("show -o json: the timeline is not in time order: %+v", doc.Timeline)
		}
	}
}
