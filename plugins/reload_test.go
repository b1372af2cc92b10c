package plugins

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
)

// rebuild writes at path a new build of the same plugin: the binary with
// bytes appended, which runs the same and hashes differently.
func rebuild(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(b, "rebuilt"...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	sum, err := hashPath(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// A server's host picks up a new binary without a restart, once the new
// binary passes the lock file: until then the process it verified before
// goes on serving.
func TestReloadSwitchesToANewBinaryOnceItIsPinned(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	path := filepath.Join(h.opts.Folders[0], Prefix+"faulty")
	before := pidOf(t, h, "before")
	sum := rebuild(t, path)

	switched, err := h.Reload()
	if len(switched) != 0 || err == nil || !strings.Contains(err.Error(), "changed since it was locked") {
		t.Fatalf("reload of an unpinned binary: switched %v, error %v", switched, err)
	}
	if pidOf(t, h, "still") != before {
		t.Fatal("the verified process was stopped for a binary that does not pass the lock")
	}

	lock, err := ReadLock(h.opts.LockFile)
	if err != nil {
		t.Fatal(err)
	}
	lock.Pins["faulty"] = Pin{Version: "test", SHA256: sum}
	if err := lock.Write(h.opts.LockFile); err != nil {
		t.Fatal(err)
	}
	if switched, err = h.Reload(); err != nil || !slices.Equal(switched, []string{"faulty"}) {
		t.Fatalf("switched %v, error %v", switched, err)
	}
	if pidOf(t, h, "after") == before {
		t.Fatal("the old process still serves after the switch")
	}
	e, _ := h.entry("faulty")
	e.mu.Lock()
	got := e.sha256
	e.mu.Unlock()
	if got != sum {
		t.Fatalf("described binary %s, want the new one %s", got, sum)
	}
	// Nothing changed: nothing switches.
	if switched, err = h.Reload(); err != nil || len(switched) != 0 {
		t.Fatalf("a reload without change switched %v, %v", switched, err)
	}
}

// A plugin added to, or removed from, a folder is picked up by Reload.
func TestReloadFindsAddedAndRemovedPlugins(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	dir := h.opts.Folders[0]
	if names := h.Plugins(); !slices.Equal(names, []string{"faulty"}) {
		t.Fatal(names)
	}
	copyFile(t, faultyBin, filepath.Join(dir, Prefix+"liar"))
	if err := os.Remove(filepath.Join(dir, Prefix+"faulty")); err != nil {
		t.Fatal(err)
	}
	switched, err := h.Reload()
	slices.Sort(switched)
	if err != nil || !slices.Equal(switched, []string{"faulty", "liar"}) || !slices.Equal(h.Plugins(), []string{"liar"}) {
		t.Fatalf("switched %v, plugins %v, error %v", switched, h.Plugins(), err)
	}
}

// With RetryBackoff, a plugin that failed to start fails at once until
// its backoff passed, then is started again; OnStart counts the starts.
func TestStartFailureBacksOff(t *testing.T) {
	var mu sync.Mutex
	var starts []string
	now := time.Now()
	h := install(t, faultyBin, Options{RetryBackoff: time.Minute, MaxRetryBackoff: 10 * time.Minute, OnStart: func(plugin string, err error) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, plugin+" "+map[bool]string{true: "ok", false: "failed"}[err == nil])
	}}, "garbage", "faulty")
	h.now = func() time.Time { return now }
	load := func() error {
		reg := actions.NewRegistry()
		reg.AddSource(h)
		return reg.Problem("garbage")
	}
	first, second := load(), load()
	if first == nil || second == nil || first.Error() != second.Error() || !strings.Contains(first.Error(), "instead of the go-plugin handshake") {
		t.Fatalf("first %v, second %v", first, second)
	}
	pidOf(t, h, "ok")
	if got := strings.Join(starts, ", "); got != "garbage failed, faulty ok" {
		t.Fatalf("starts: %s", got)
	}
	now = now.Add(time.Minute)
	if err := load(); err == nil {
		t.Fatal("garbage started")
	}
	now = now.Add(90 * time.Second) // the backoff doubled: not yet
	load()
	if got := strings.Join(starts, ", "); got != "garbage failed, faulty ok, garbage failed" {
		t.Fatalf("starts: %s", got)
	}
}

// The plugins Reload finds removed are named in a fixed order (the log
// line of steward serve lists them), not in the order of a map.
func TestReloadNamesRemovedPluginsInOrder(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	dir := h.opts.Folders[0]
	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "faulty"}
	for _, n := range names[:5] {
		copyFile(t, faultyBin, filepath.Join(dir, Prefix+n))
	}
	if _, err := h.Reload(); err != nil || !slices.Equal(h.Plugins(), names) {
		t.Fatalf("plugins %v, error %v", h.Plugins(), err)
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, Prefix+n)); err != nil {
			t.Fatal(err)
		}
	}
	switched, err := h.Reload()
	if err != nil || !slices.Equal(switched, names) {
		t.Fatalf("switched %v, want %v (error %v)", switched, names, err)
	}
}
