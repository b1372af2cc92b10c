package plugins

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
)

// hostProcess is this test binary run as a Steward host in a process of its
// own: it starts the plugin named by STEWARD_TEST_HOST in the folder
// STEWARD_TEST_FOLDER (unpinned allowed), prints the plugin's pid and waits
// to be killed.
func hostProcess() int {
	name := os.Getenv("STEWARD_TEST_HOST")
	dir := os.Getenv("STEWARD_TEST_FOLDER")
	h, err := New(Options{Folders: []string{dir}, LockFile: filepath.Join(dir, "none.lock"), AllowUnpinned: true})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	reg := actions.NewRegistry()
	reg.AddSource(h)
	a, ok := reg.Lookup(name + ".ok")
	if !ok {
		fmt.Println("error:", reg.Problem(name))
		return 1
	}
	out, err := a.Execute(context.Background(), &actions.Request{With: map[string]any{"value": "x"}, Index: -1, Attempt: 1})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("pid", out["pid"])
	time.Sleep(time.Hour)
	return 0
}

// gone reports whether pid no longer runs (a zombie waiting for init to
// reap it counts as gone).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// killHost starts a host process using plugin name, SIGKILLs it once its
// plugin serves, and checks that the plugin exits too.
func killHost(t *testing.T, name string) {
	dir := t.TempDir()
	copyFile(t, faultyBin, filepath.Join(dir, Prefix+name))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STEWARD_TEST_HOST="+name, "STEWARD_TEST_FOLDER="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pid ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("host said %q (%v)", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil {
		t.Fatal(err)
	}
	if gone(pid) {
		t.Fatalf("plugin %d is not running while its host is", pid)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// Bounded wait for the kernel and the plugin, not a timing assertion:
	// a plugin still alive after a minute is orphaned for good.
	for deadline := time.Now().Add(time.Minute); !gone(pid); {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d outlived its SIGKILLed host", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSIGKILLOfTheHostLeavesNoPluginBehind(t *testing.T) {
	t.Run("sdk plugin, lifeline", func(t *testing.T) { killHost(t, "faulty") })
	t.Run("plugin deaf to its lifeline, parent-death signal", func(t *testing.T) { killHost(t, "deaf") })
}
