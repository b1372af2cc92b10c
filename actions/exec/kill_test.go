package execaction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
)

// alive reports whether a process exists and is not a zombie (the test's
// PID 1 may never reap the grandchildren it inherits).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// waitFor polls cond until it holds, failing the test after generous.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(generous)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readPid reads a pid a script wrote, once it is there.
func readPid(t *testing.T, file string) int {
	t.Helper()
	var pid int
	waitFor(t, "the script to write "+file, func() bool {
		b, err := os.ReadFile(file)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

// killAtEnd kills a process the test leaves behind on purpose.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
}

func TestTimeoutKillsTheProgram(t *testing.T) {
	t.Parallel()
	_, err := run(t, context.Background(), map[string]any{"command": cmd("sleep", "100"), "timeout": "200ms"})
	ae := wantCode(t, err, actions.CodeTimeout, true)
	if ae.Message != `command "sleep" did not finish within 200ms` {
		t.Errorf("message = %q", ae.Message)
	}
}

// A grandchild holds the output pipes: killing only the child would leave
// Wait blocked on them.
func TestTimeoutWithGrandchild(t *testing.T) {
	t.Parallel()
	_, err := run(t, context.Background(), map[string]any{"command": cmd("sh", "-c", "sleep 100 & sleep 100"), "timeout": "300ms"})
	wantCode(t, err, actions.CodeTimeout, true)
}

func TestCancelKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		with := map[string]any{"command": cmd("sh", "-c", `sleep 100 & echo $! > "$1.tmp"; mv "$1.tmp" "$1"; sleep 100`, "sh", pidFile)}
		_, err := New().Execute(ctx, &actions.Request{Action: Name, With: with})
		done <- err
	}()
	grandchild := readPid(t, pidFile)
	killAtEnd(t, grandchild) // in case the action failed to
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(generous):
		t.Fatal("exec did not return after its context was cancelled")
	}
	wantCode(t, err, actions.CodeCancelled, false)
	waitFor(t, "the grandchild to die", func() bool { return !alive(grandchild) })
}

func TestStepDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := run(t, ctx, map[string]any{"command": cmd("sleep", "100")}) // no timeout of its own
	ae := wantCode(t, err, actions.CodeTimeout, true)
	if !strings.Contains(ae.Message, "the step timed out") {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := run(t, ctx, map[string]any{"command": cmd("touch", "ran"), "dir": dir})
	wantCode(t, err, actions.CodeCancelled, false)
	if _, err := os.Stat(filepath.Join(dir, "ran")); !errors.Is(err, os.ErrNotExist) {
		t.Error("the command ran although the step was already cancelled")
	}
}

// A program that exits 0 but leaves a background process holding stdout
// succeeds once the pipes are closed; the background process is not
// killed (it may be a daemon the step meant to start).
func TestExitWithBackgroundHoldingOutput(t *testing.T) {
	t.Parallel()
	var logs []string
	out, err := runLogged(t, context.Background(), map[string]any{"command": cmd("sh", "-c", "sleep 100 & echo $!")},
		func(level, msg string) { logs = append(logs, level+": "+msg) })
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out["stdout"].(string)))
	if err != nil {
		t.Fatalf("stdout = %q", out["stdout"])
	}
	killAtEnd(t, pid)
	if !alive(pid) {
		t.Error("the background process was killed")
	}
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "warn: ") {
		t.Errorf("logs = %q", logs)
	}
}
