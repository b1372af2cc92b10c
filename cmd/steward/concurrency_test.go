package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConcurrencyKeyAcrossProcesses: two `steward run` processes of a
// runbook with a concurrency key. The first waits for an approval (exit
// 3) and so holds the key; the second, with the same key, waits before it
// starts and says which run holds the key; once the first is cancelled the
// second starts (and waits for its own approval, exit 3). A run with
// another key does not wait.
func TestConcurrencyKeyAcrossProcesses(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "runbooks", "keyed.yaml"), `version: 1
name: keyed
inputs:
  account: {type: string, required: true}
concurrency:
  key: ${{ inputs.account }}
steps:
  - id: ask
    approval: {message: "Go?"}
    action: core.log
    with: {message: go}
`)
	first := homeRun(t, dir, home, nil, "run", "keyed", "--input", "account=a1", "-o", "json")
	wantCode(t, first, 3, "first run")
	var doc struct{ ID string }
	if err := json.Unmarshal([]byte(first.stdout), &doc); err != nil || doc.ID == "" {
		t.Fatalf("first run: %v: %s", err, first.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "run", "keyed", "--input", "account=b2"), 3, "another key")

	second := exec.Command(steward, "--home", home, "run", "keyed", "--input", "account=a1")
	second.Dir = dir
	second.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr syncBuffer
	second.Stdout, second.Stderr = &stdout, &stderr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Process.Kill() })
	note := "waiting: run " + doc.ID + ` holds concurrency key "a1"`
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), note) {
		if time.Now().After(deadline) {
			t.Fatalf("the second run did not say it waits: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantCode(t, homeRun(t, dir, home, nil, "cancel", doc.ID), 0, "cancel the first")
	err := second.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("second run: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	runs := homeRun(t, dir, home, nil, "runs", "--runbook", "keyed", "-o", "json")
	if n := strings.Count(runs.stdout, `"runbook": "keyed"`); n != 3 {
		t.Errorf("%d runs of keyed; want 3: %s", n, runs.stdout)
	}
}
