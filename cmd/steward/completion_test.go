package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// complete runs steward __complete ARGS... (what the shell scripts of
// steward completion call) and returns the completions, one
// "VALUE\tDESCRIPTION" each, and the directive line.
func complete(t *testing.T, dir, home string, args ...string) (lines []string, directive string) {
	t.Helper()
	r := cli(t, dir, home, append([]string{"__complete"}, args...)...)
	wantCode(t, r, exitOK, "__complete "+strings.Join(args, " "))
	out := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	return out[:len(out)-1], out[len(out)-1]
}

func values(lines []string) []string {
	var v []string
	for _, l := range lines {
		name, _, _ := strings.Cut(l, "\t")
		v = append(v, name)
	}
	return v
}

// TestCompleteRunbooksAndInputs: steward run <TAB> offers the runbook
// names (folders, then bundled) with their titles; --input <TAB> offers
// NAME= for each input not given yet, without a space after it; after
// NAME=, the input's enum values.
func TestCompleteRunbooksAndInputs(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "refund.yaml"), `version: 1
name: refund
title: Refund a card payment
inputs:
  payment_id: {type: string, required: true, description: From the ticket}
  channel: {type: string, enum: [email, chat], default: email}
  notify: {type: boolean}
steps:
  - id: s
    action: core.log
    with: {message: hi}
`)
	lines, dirv := complete(t, dir, home, "run", "")
	if !strings.Contains(strings.Join(lines, "\n"), "refund\tRefund a card payment") ||
		!strings.Contains(strings.Join(lines, "\n"), "check-endpoint\tCheck that an HTTP endpoint answers") || dirv != ":4" {
		t.Fatalf("run <TAB>:\n%s\n%s", strings.Join(lines, "\n"), dirv)
	}
	lines, _ = complete(t, dir, home, "run", "re")
	if got := strings.Join(values(lines), " "); got != "refund" {
		t.Fatalf("run re<TAB>: %q", got)
	}
	lines, dirv = complete(t, dir, home, "run", "./runbooks/")
	if len(lines) != 0 || dirv != ":0" {
		t.Fatalf("a path completes as a file: %v %s", lines, dirv)
	}

	lines, dirv = complete(t, dir, home, "run", "refund", "--input", "")
	want := "payment_id=\tstring, required: From the ticket\nchannel=\tstring\nnotify=\tboolean"
	if got := strings.Join(lines, "\n"); got != want || dirv != ":6" {
		t.Fatalf("--input <TAB>:\n%s\n%s\nwant\n%s\n:6 (no space, no file)", got, dirv, want)
	}
	lines, _ = complete(t, dir, home, "run", "refund", "-i", "payment_id=pay_1", "--input", "")
	if got := strings.Join(values(lines), " "); got != "channel= notify=" {
		t.Fatalf("--input <TAB> after payment_id: %q", got)
	}
	lines, _ = complete(t, dir, home, "run", "refund", "--input", "channel=")
	if got := strings.Join(values(lines), " "); got != "channel=email channel=chat" {
		t.Fatalf("--input channel=<TAB>: %q", got)
	}
	lines, _ = complete(t, dir, home, "run", "refund", "--input", "notify=t")
	if got := strings.Join(values(lines), " "); got != "notify=true" {
		t.Fatalf("--input notify=t<TAB>: %q", got)
	}
	lines, _ = complete(t, dir, home, "run", "check-endpoint", "--input", "")
	if got := strings.Join(values(lines), " "); !strings.HasPrefix(got, "url=") {
		t.Fatalf("--input of a bundled runbook: %q", got)
	}
	// The shells' scripts.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := cli(t, dir, home, "completion", sh)
		wantCode(t, r, exitOK, "completion "+sh)
		if !strings.Contains(r.stdout, "__complete") {
			t.Fatalf("completion %s does not call steward __complete:\n%.300s", sh, r.stdout)
		}
	}
}

// TestCompleteRunIDsStepsPlugins: show, resume, cancel and audit --run
// offer the recent runs, newest first; approve offers the waiting runs
// first, then the steps its run waits for; plugins describe offers the
// installed plugins.
func TestCompleteRunIDsStepsPlugins(t *testing.T) {
	dir, home, a, b := twoWaitingRuns(t)
	// A third run that ended: listed after the waiting ones by approve.
	r := cli(t, dir, home, "approve", a, "refund", "--as", "dana", "--progress", "plain")
	wantCode(t, r, exitOK, "approve")
	r = cli(t, dir, home, "run", "refund.yaml", "--input", "payment_id=p-3", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitWaiting, "run")
	c := runID(t, r)

	for _, args := range [][]string{{"show", ""}, {"resume", ""}, {"cancel", ""}, {"audit", "export", "--run", ""}, {"audit", "verify", "--run", ""}} {
		lines, dirv := complete(t, dir, home, args...)
		if got, want := strings.Join(values(lines), " "), c+" "+b+" "+a; got != want || dirv != ":36" {
			t.Fatalf("%s<TAB>: %q %s; want %q :36 (keep order, no file)", strings.Join(args, " "), got, dirv, want)
		}
		if !strings.HasPrefix(lines[0], c+"\trefund waiting ") {
			t.Fatalf("%s<TAB>: %q", strings.Join(args, " "), lines[0])
		}
	}
	lines, _ := complete(t, dir, home, "approve", "")
	if got, want := strings.Join(values(lines), " "), c+" "+b+" "+a; got != want {
		t.Fatalf("approve <TAB>: %q; want the waiting runs first, %q", got, want)
	}
	lines, _ = complete(t, dir, home, "show", a[:len(a)-3])
	if got := strings.Join(values(lines), " "); got != a {
		t.Fatalf("show PREFIX<TAB>: %q", got)
	}
	lines, _ = complete(t, dir, home, "approve", b, "")
	if got := strings.Join(lines, "\n"); got != "refund\tRefund 12 for p-2?" {
		t.Fatalf("approve RUN <TAB>: %q", got)
	}
	random := c[strings.LastIndexByte(c, '-')+1:]
	lines, _ = complete(t, dir, home, "approve", random, "")
	if got := strings.Join(values(lines), " "); got != "refund" {
		t.Fatalf("approve PREFIX <TAB>: %q", got)
	}
	lines, _ = complete(t, dir, home, "approve", a, "")
	if len(lines) != 0 {
		t.Fatalf("approve ENDED_RUN <TAB>: %q", lines)
	}

	installPlugin(t, home, "example")
	installPlugin(t, home, "payments")
	lines, dirv := complete(t, dir, home, "plugins", "describe", "")
	if got := strings.Join(values(lines), " "); got != "example payments" || dirv != ":4" {
		t.Fatalf("plugins describe <TAB>: %q %s", got, dirv)
	}
	lines, _ = complete(t, dir, home, "plugins", "describe", "pay")
	if got := strings.Join(values(lines), " "); got != "payments" {
		t.Fatalf("plugins describe pay<TAB>: %q", got)
	}
	// No journal yet: nothing, and no home made.
	empty := filepath.Join(t.TempDir(), "home")
	if lines, _ := complete(t, dir, empty, "show", ""); len(lines) != 0 {
		t.Fatalf("show <TAB> without a journal: %q", lines)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Fatalf("completing made the home %s: %v", empty, err)
	}
}
