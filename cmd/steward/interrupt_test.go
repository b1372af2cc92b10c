package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startRun starts `steward run interrupt.yaml` and returns once the step
// that hangs is running.
func startRun(t *testing.T, dir string, extra ...string) (*exec.Cmd, *syncBuffer, chan error) {
	t.Helper()
	args := append([]string{"run", filepath.Join(testdataDir(t), "interrupt.yaml"), "--input", "dir=" + dir}, extra...)
	cmd := exec.Command(steward, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "STEWARD_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "wait ") && strings.Contains(lines.Text(), "running") {
			break
		}
	}
	done := make(chan error, 1)
	go func() {
		_, _ = io.Copy(out, stdout)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, out, done
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func exitCode(t *testing.T, done chan error) int {
	t.Helper()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("steward did not exit after the interrupt")
	}
	return -1
}

// TestInterruptCancelsGracefully: the first Ctrl-C cancels the running
// action, runs the undo of finished steps and ends the run cancelled.
func TestInterruptCancelsGracefully(t *testing.T) {
	dir := t.TempDir()
	cmd, out, done := startRun(t, dir)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, done); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	text := out.String()
	for _, want := range []string{"wait   cancelled", "undo:grant  succeeded", "run interrupt cancelled"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "granted")); !os.IsNotExist(err) {
		t.Error("the undo did not run")
	}
}

// TestSecondInterruptExitsAtOnce: while the undo runs (here, it hangs), a
// second Ctrl-C exits without waiting.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	cmd, out, done := startRun(t, dir, "--input", "undo_sleep=100")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// Wait until the undo has started, then interrupt again.
	for i := 0; i < 3000 && !strings.Contains(out.String(), "undo:grant"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, done); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "granted")); err != nil {
		t.Error("the undo should not have finished")
	}
}
