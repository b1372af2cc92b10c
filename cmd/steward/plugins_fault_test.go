package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the faulty test plugin (plugins/testdata/faulty) under
// the real CLI: a plugin that crashes or hangs fails one step clearly, the
// retry gets a fresh process, parallel steps share one process, and no
// plugin outlives a killed steward.

const faultsRunbook = `version: 1
name: faults
steps:
  - id: flaky
    action: faulty.crash_first
    with: {value: again}
    retry: {attempts: 2, delay: 10ms}
%s
outputs:
  flaky: ${{ steps.flaky.outputs.value }}
  pids: ${{ [%s] }}
  peak: ${{ max([%s]) }}
`

func TestPluginCrashIsRetriedOnAFreshProcessAndParallelStepsShareOne(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "faulty")
	var steps, pids, peaks []string
	for i := 1; i <= 8; i++ {
		steps = append(steps, fmt.Sprintf("  - id: p%d\n    needs: [flaky]\n    action: faulty.sleep\n    with: {ms: 200}", i))
		pids = append(pids, fmt.Sprintf("steps.p%d.outputs.pid", i))
		peaks = append(peaks, fmt.Sprintf("steps.p%d.outputs.peak", i))
	}
	writeFile(t, filepath.Join(dir, "faults.yaml"), fmt.Sprintf(faultsRunbook, strings.Join(steps, "\n"), strings.Join(pids, ", "), strings.Join(peaks, ", ")))
	r := homeRun(t, dir, home, nil, "run", "faults.yaml", "-o", "json")
	wantCode(t, r, exitOK, "run")
	var res struct {
		Outputs struct {
			Flaky string `json:"flaky"`
			PIDs  []int  `json:"pids"`
			Peak  int    `json:"peak"`
		} `json:"outputs"`
		Steps []struct {
			ID       string `json:"id"`
			Attempts int    `json:"attempts"`
		} `json:"steps"`
		RunID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if res.Outputs.Flaky != "again" || len(res.Outputs.PIDs) != 8 {
		t.Fatalf("outputs %+v", res.Outputs)
	}
	for _, pid := range res.Outputs.PIDs {
		if pid != res.Outputs.PIDs[0] || pid == 0 {
			t.Fatalf("eight parallel steps ran in processes %v, not one", res.Outputs.PIDs)
		}
	}
	if res.Outputs.Peak < 2 {
		t.Errorf("the plugin process never ran two steps at once (peak %d)", res.Outputs.Peak)
	}
	show := homeRun(t, dir, home, nil, "show", res.RunID, "-o", "json")
	wantCode(t, show, exitOK, "show")
	for _, want := range []string{
		`"code": "plugin_crashed"`,
		"plugin faulty: it exited during the call; its last words on stderr: faulty: about to exit on the first attempt; the next call starts a fresh process",
		// The record names the binary that ran each attempt.
		`"provider": "steward-plugin-faulty 0.0.1 sha256:` + fileSHA256(t, filepath.Join(home, "plugins", "steward-plugin-faulty")) + `"`,
	} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show does not say %q:\n%s", want, show.stdout)
		}
	}
}

func TestPluginCrashAndHangFailTheirStepAndTheNextRunWorks(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "faulty")
	writeFile(t, filepath.Join(dir, "crash.yaml"), `version: 1
name: crash
steps:
  - id: boom
    action: faulty.crash
    retry: {attempts: 2, delay: 10ms}
`)
	writeFile(t, filepath.Join(dir, "hang.yaml"), `version: 1
name: hang
steps:
  - id: stuck
    action: faulty.hang
    timeout: 300ms
`)
	writeFile(t, filepath.Join(dir, "ok.yaml"), `version: 1
name: ok
steps:
  - id: fine
    action: faulty.ok
    with: {value: still works}
outputs:
  value: ${{ steps.fine.outputs.value }}
`)
	crash := homeRun(t, dir, home, nil, "run", "crash.yaml", "--progress", "plain")
	wantCode(t, crash, exitFailed, "run crash")
	if !strings.Contains(crash.stdout, "boom  retrying   attempt 2") ||
		!strings.Contains(crash.stdout, "error: step boom: plugin faulty: it exited during the call; its last words on stderr: faulty: about to exit; the next call starts a fresh process") {
		t.Errorf("the crash is not reported clearly:\n%s\n%s", crash.stdout, crash.stderr)
	}
	hang := homeRun(t, dir, home, nil, "run", "hang.yaml", "--progress", "plain")
	wantCode(t, hang, exitFailed, "run hang")
	if !strings.Contains(hang.stdout, "error: step stuck: the step timed out after 300ms") {
		t.Errorf("the hang is not reported as the step's timeout:\n%s\n%s", hang.stdout, hang.stderr)
	}
	ok := homeRun(t, dir, home, nil, "run", "ok.yaml", "--progress", "plain")
	wantCode(t, ok, exitOK, "run ok after the faults")
	if !strings.Contains(ok.stdout, "value: still works") {
		t.Errorf("ok:\n%s", ok.stdout)
	}
}

// pluginChild finds the plugin process steward started.
func pluginChild(parent int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if strings.Contains(string(cmdline), "steward-plugin-faulty") {
				return pid
			}
		}
	}
	return 0
}

// processGone reports whether pid no longer runs (a zombie counts).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestSIGKILLOfStewardLeavesNoPluginBehind(t *testing.T) {
	dir, home := t.TempDir(), pinnedHome(t, "faulty")
	writeFile(t, filepath.Join(dir, "long.yaml"), `version: 1
name: long
steps:
  - id: wait
    action: faulty.sleep
    with: {ms: 600000}
`)
	cmd := exec.Command(steward, "--home", home, "run", "long.yaml", "--progress", "plain")
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait for the step to start: by then its plugin runs.
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "wait") {
	}
	var plugin int
	for deadline := time.Now().Add(time.Minute); plugin == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		plugin = pluginChild(cmd.Process.Pid)
	}
	if plugin == 0 {
		t.Fatal("steward started no plugin process")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// A bounded wait for the kernel and the plugin, not a timing
	// assertion: a plugin alive after a minute is orphaned for good.
	for deadline := time.Now().Add(time.Minute); !processGone(plugin); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(plugin, syscall.SIGKILL)
			t.Fatalf("plugin %d outlived steward", plugin)
		}
	}
}
