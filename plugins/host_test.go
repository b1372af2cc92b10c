package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
)

// These tests start real plugin processes: the faulty test plugin
// (testdata/faulty), built once, installed under several names.
var faultyBin, exampleBin string

func TestMain(m *testing.M) {
	if os.Getenv("STEWARD_TEST_HOST") != "" {
		os.Exit(hostProcess())
	}
	dir, err := os.MkdirTemp("", "steward-plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	faultyBin = filepath.Join(dir, "faulty")
	exampleBin = filepath.Join(dir, "example")
	for pkg, out := range map[string]string{"./testdata/faulty": faultyBin, "./example": exampleBin} {
		// Built as `make build` builds plugins: stripped.
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// install copies bin into a new plugin folder under each name, pins them
// and returns a host over that folder.
func install(t testing.TB, bin string, opts Options, names ...string) *Host {
	t.Helper()
	dir := t.TempDir()
	lock := &Lock{Pins: map[string]Pin{}}
	for _, n := range names {
		path := filepath.Join(dir, Prefix+n)
		copyFile(t, bin, path)
		sum, err := hashPath(path)
		if err != nil {
			t.Fatal(err)
		}
		lock.Pins[n] = Pin{Version: "test", SHA256: sum}
	}
	opts.Folders = []string{dir}
	if opts.LockFile == "" {
		opts.LockFile = filepath.Join(dir, "plugins.lock")
		if err := lock.Write(opts.LockFile); err != nil {
			t.Fatal(err)
		}
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// hashPath returns the hex SHA-256 of the file at path.
func hashPath(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return hashFile(f)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// act returns the named plugin action, loading its plugin.
func act(t testing.TB, h *Host, name string) actions.Action {
	t.Helper()
	reg := actions.NewRegistry()
	reg.AddSource(h)
	a, ok := reg.Lookup(name)
	if !ok {
		plugin, _, _ := strings.Cut(name, ".")
		t.Fatalf("%s not found: %v", name, reg.Problem(plugin))
	}
	return a
}

type logLine struct{ level, msg string }

// call executes a with with, collecting its log lines.
func call(ctx context.Context, a actions.Action, with map[string]any) (map[string]any, []logLine, error) {
	var mu sync.Mutex
	var logs []logLine
	req := &actions.Request{Action: a.Spec().Name, With: with, RunID: "r1", StepID: "s1", Index: -1, Attempt: 1, IdempotencyKey: "r1/s1",
		Log: func(level, msg string) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, logLine{level, msg})
		}}
	out, err := a.Execute(ctx, req)
	mu.Lock()
	defer mu.Unlock()
	return out, logs, err
}

func pidOf(t testing.TB, h *Host, name string) any {
	t.Helper()
	out, _, err := call(context.Background(), act(t, h, "faulty.ok"), map[string]any{"value": name})
	if err != nil {
		t.Fatal(err)
	}
	if out["value"] != name {
		t.Fatalf("ok returned %v", out)
	}
	return out["pid"]
}

func wantCode(t *testing.T, err error, code string, retryable bool, contains ...string) {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *actions.Error with code %s", err, err, code)
	}
	if string(ae.Code) != code || ae.Retryable != retryable {
		t.Fatalf("error code %s retryable %v (%s), want %s retryable %v", ae.Code, ae.Retryable, ae.Message, code, retryable)
	}
	for _, c := range contains {
		if !strings.Contains(ae.Message, c) {
			t.Errorf("error %q does not say %q", ae.Message, c)
		}
	}
}

func TestParallelCallsShareOneProcess(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	ok := act(t, h, "faulty.ok")
	var wg sync.WaitGroup
	pids := make([]any, 32)
	errs := make([]error, 32)
	for i := range pids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := call(context.Background(), ok, map[string]any{"value": fmt.Sprint(i)})
			pids[i], errs[i] = out["pid"], err
		}()
	}
	wg.Wait()
	for i := range pids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if pids[i] != pids[0] {
			t.Fatalf("call %d ran in process %v, call 0 in %v", i, pids[i], pids[0])
		}
	}
	if pidOf(t, h, "again") != pids[0] {
		t.Error("a later call started another process")
	}
}

func TestCrashMidCallIsRetryableAndTheNextCallWorks(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	before := pidOf(t, h, "before")
	_, _, err := call(context.Background(), act(t, h, "faulty.crash"), nil)
	wantCode(t, err, CodeCrashed, true, "plugin faulty: it exited during the call", "faulty: about to exit", "the next call starts a fresh process")
	if after := pidOf(t, h, "after"); after == before {
		t.Error("the next call used the dead process")
	}
}

func TestPanicInAHandlerIsRecovered(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	before := pidOf(t, h, "before")
	_, _, err := call(context.Background(), act(t, h, "faulty.panic"), nil)
	wantCode(t, err, "plugin_panic", true, "panic: ")
	if pidOf(t, h, "after") != before {
		t.Error("a recovered panic restarted the process")
	}
}

func TestPanicInAGoroutineKillsThePluginNotTheHost(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	before := pidOf(t, h, "before")
	_, _, err := call(context.Background(), act(t, h, "faulty.panic_goroutine"), nil)
	wantCode(t, err, CodeCrashed, true, "plugin faulty: it exited during the call", "panic")
	if pidOf(t, h, "after") == before {
		t.Error("the next call used the dead process")
	}
}

func TestHangPastTheDeadlineReturnsAndThePluginStillServes(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	before := pidOf(t, h, "before")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, _, err := call(ctx, act(t, h, "faulty.hang"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's deadline (the engine turns it into a step timeout)", err)
	}
	if pidOf(t, h, "after") != before {
		t.Error("the plugin was restarted after a hung call")
	}
}

func TestCancellationReachesThePlugin(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	pidOf(t, h, "started") // the cancellation is to reach a running call, not the start
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := call(ctx, act(t, h, "faulty.sleep"), map[string]any{"ms": 600000})
		done <- err
	}()
	waitSleeping(t, h) // the cancellation is to reach a running call
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestCancelledWhileStarting: a run cancelled while its plugin starts
// gets the cancellation, not a start failure of the plugin.
func TestCancelledWhileStarting(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := call(ctx, act(t, h, "faulty.sleep"), map[string]any{"ms": 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestOutputLargerThanTheCap(t *testing.T) {
	h := install(t, faultyBin, Options{MaxOutput: 1 << 20}, "faulty")
	big := act(t, h, "faulty.big")
	out, _, err := call(context.Background(), big, map[string]any{"bytes": 512 << 10})
	if err != nil || len(out["data"].(string)) != 512<<10 {
		t.Fatalf("512 KiB under a 1 MiB cap: %v", err)
	}
	_, _, err = call(context.Background(), big, map[string]any{"bytes": 3 << 20})
	wantCode(t, err, CodeOutputTooLarge, false, "plugin faulty: its answer is larger than the cap of 1048576 bytes")
	pidOf(t, h, "after")
}

// TestLogsAndStderrReachTheCall: a call's log lines, and what it wrote on
// the plugin's own stderr and on the stdout and stderr go-plugin relays
// (the last written just before it answers, and left unfinished), are all
// in the call's log when the call returns: the host waits for the call's
// output marks. Without them, 3 calls in 300 missed a line under load.
func TestLogsAndStderrReachTheCall(t *testing.T) {
	var outside []string
	var mu sync.Mutex
	h := install(t, faultyBin, Options{Stderr: func(_, line string) {
		mu.Lock()
		defer mu.Unlock()
		outside = append(outside, line)
	}}, "faulty")
	for range 3 {
		_, logs, err := call(context.Background(), act(t, h, "faulty.log"), map[string]any{"lines": 50})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var stderr []string
		for _, l := range logs {
			if s, ok := strings.CutPrefix(l.msg, "stderr: "); ok {
				stderr = append(stderr, s)
				continue
			}
			if want := fmt.Sprintf("line %d", n+1); !strings.Contains(l.msg, want) {
				t.Fatalf("log %d is %q, want it to contain %q (in order)", n, l.msg, want)
			}
			n++
		}
		slices.Sort(stderr)
		want := []string{"faulty: a line on stderr", "faulty: a relayed line on stderr", "faulty: an unfinished line on stdout"}
		if n != 50 || !slices.Equal(stderr, want) {
			t.Errorf("got %d log lines and stderr %q, want 50 and %q", n, stderr, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(outside) != 0 {
		t.Errorf("lines outside the calls (marks are never shown): %q", outside)
	}
}

// waitSleeping waits until the plugin runs a sleep: a short sleep beside
// it then finds two sleeps at once in the process (peak 2; the short ones
// run one after the other).
func waitSleeping(t *testing.T, h *Host) {
	t.Helper()
	short := act(t, h, "faulty.sleep")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		out, _, err := call(context.Background(), short, map[string]any{"ms": 1})
		if err != nil {
			t.Fatal(err)
		}
		if out["peak"] == 2.0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the long sleep is not running in the plugin after a minute: %v", out)
		}
	}
}

func TestSensitiveOutputsAreDeclared(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	spec := act(t, h, "faulty.secret").Spec()
	if len(spec.Sensitive) != 1 || spec.Sensitive[0] != "token" {
		t.Errorf("sensitive = %v, want [token]", spec.Sensitive)
	}
	if m := act(t, h, "faulty.mutate").Spec(); !m.Mutates || m.Idempotent {
		t.Errorf("faulty.mutate: mutates %v idempotent %v", m.Mutates, m.Idempotent)
	}
}

func TestThePluginGetsAMinimalEnvironment(t *testing.T) {
	t.Setenv("STEWARD_SECRET_API_TOKEN", "do-not-leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
	h := install(t, faultyBin, Options{}, "faulty")
	out, _, err := call(context.Background(), act(t, h, "faulty.env"), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := fmt.Sprint(out["env"])
	if strings.Contains(env, "do-not-leak") {
		t.Errorf("the plugin inherited a secret: %s", env)
	}
	for _, want := range []string{"PATH=/usr/local/bin:/usr/bin:/bin", "STEWARD_PLUGIN_LIFELINE_FD=3"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment %s lacks %s", env, want)
		}
	}
}

func TestSettingsWithSecretsAreConfigured(t *testing.T) {
	secrets := map[string]string{"FAULTY_KEY": "k-123"}
	h := install(t, faultyBin, Options{
		Settings: map[string]map[string]any{"faulty": {"endpoint": "https://api.example", "api_key": map[string]any{"secret": "FAULTY_KEY"}}},
		Secret:   func(n string) (string, bool) { v, ok := secrets[n]; return v, ok },
	}, "faulty")
	out, _, err := call(context.Background(), act(t, h, "faulty.config"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != "map[api_key:k-123 endpoint:https://api.example]" {
		t.Errorf("configured %v", out)
	}

	bad := install(t, faultyBin, Options{Settings: map[string]map[string]any{"faulty": {"endpont": "x"}}}, "faulty")
	_, _, err = call(context.Background(), act(t, bad, "faulty.ok"), map[string]any{"value": "x"})
	wantCode(t, err, CodeStart, false, "plugin faulty: it refused its settings (plugins.settings.faulty in steward.yaml)", "endpont")

	// Of several settings whose secret is not set, the first by name
	// (not in the map's order).
	secretOf := func(name string) any { return map[string]any{"secret": name} }
	missing := install(t, faultyBin, Options{Settings: map[string]map[string]any{"faulty": {"zone_key": secretOf("NOPE_Z"),
		"token": secretOf("NOPE_T"), "api_key": secretOf("NOPE"), "password": secretOf("NOPE_P")}},
		Secret: func(string) (string, bool) { return "", false }}, "faulty")
	_, _, err = call(context.Background(), act(t, missing, "faulty.ok"), map[string]any{"value": "x"})
	wantCode(t, err, CodeStart, false, `plugins.settings.faulty.api_key: secret "NOPE" is not set (STEWARD_SECRET_NOPE)`)
}

// startErr returns why the plugin could not be loaded.
func loadErr(t *testing.T, h *Host, name string) error {
	t.Helper()
	reg := actions.NewRegistry()
	reg.AddSource(h)
	err := reg.Problem(name)
	if err == nil {
		t.Fatalf("plugin %s loaded", name)
	}
	return err
}

func TestGarbageOnStdoutIsRefused(t *testing.T) {
	h := install(t, faultyBin, Options{}, "garbage")
	wantCode(t, loadErr(t, h, "garbage"), CodeStart, false,
		`plugin garbage: it printed "hello from a plugin that prints" on stdout instead of the go-plugin handshake`)
}

func TestAnotherProtocolVersionIsRefused(t *testing.T) {
	h := install(t, faultyBin, Options{}, "future")
	wantCode(t, loadErr(t, h, "future"), CodeStart, false,
		"plugin future: it speaks plugin protocol version 2; this steward speaks version 1")
}

func TestAPluginThatLiesAboutItsNameIsRefused(t *testing.T) {
	h := install(t, faultyBin, Options{}, "liar")
	wantCode(t, loadErr(t, h, "liar"), CodeStart, false, `describes itself as plugin "someone-else": refused`)
}

func TestUnpinnedAndSwappedBinariesNeverStart(t *testing.T) {
	h := install(t, faultyBin, Options{}, "faulty")
	path := filepath.Join(h.opts.Folders[0], Prefix+"faulty")
	// Swapped after locking: another build (the example plugin) under
	// the same name.
	copyFile(t, exampleBin, path)
	wantCode(t, loadErr(t, h, "faulty"), CodeStart, false, "changed since it was locked", "it was not started")

	// Nothing pinned: refused unless unpinned binaries are allowed; a
	// changed binary is refused even then.
	dir := t.TempDir()
	copyFile(t, faultyBin, filepath.Join(dir, Prefix+"faulty"))
	u, err := New(Options{Folders: []string{dir}, LockFile: filepath.Join(dir, "none.lock")})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	wantCode(t, loadErr(t, u, "faulty"), CodeStart, false, "is not pinned in", "run `steward plugins lock`")
	a, err := New(Options{Folders: []string{dir}, LockFile: filepath.Join(dir, "none.lock"), AllowUnpinned: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pidOf(t, a, "unpinned allowed")
	c, err := New(Options{Folders: h.opts.Folders, LockFile: h.opts.LockFile, AllowUnpinned: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantCode(t, loadErr(t, c, "faulty"), CodeStart, false, "changed since it was locked")
}

func TestASwapAfterDescribeIsCaughtAtStart(t *testing.T) {
	cache := t.TempDir()
	h := install(t, faultyBin, Options{CacheDir: cache}, "faulty")
	pidOf(t, h, "described and started")
	h.Close()
	// A new host finds the description in the cache and starts nothing
	// until the first call; by then the binary was replaced.
	h2, err := New(Options{Folders: h.opts.Folders, LockFile: h.opts.LockFile, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	ok := act(t, h2, "faulty.ok")
	if e := h2.entries["faulty"]; e.proc != nil {
		t.Fatal("loading a cached description started the plugin")
	}
	path := filepath.Join(h.opts.Folders[0], Prefix+"faulty")
	tmp := path + ".new"
	copyFile(t, exampleBin, tmp)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	_, _, err = call(context.Background(), ok, map[string]any{"value": "x"})
	wantCode(t, err, CodeStart, false, "changed since it was locked")
}

func TestWriteLock(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"faulty", "example"} {
		bin := faultyBin
		if n == "example" {
			bin = exampleBin
		}
		copyFile(t, bin, filepath.Join(dir, Prefix+n))
	}
	lockFile := filepath.Join(dir, "plugins.lock")
	old := &Lock{Pins: map[string]Pin{"gone": {Version: "1.0.0", SHA256: strings.Repeat("a", 64)},
		"faulty": {Version: "0.0.1", SHA256: strings.Repeat("b", 64)}}}
	if err := old.Write(lockFile); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Folders: []string{dir}, LockFile: lockFile})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	changes, err := h.WriteLock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Name+" "+c.Change)
	}
	if strings.Join(got, ", ") != "example added, faulty updated, gone removed" {
		t.Errorf("changes: %v", got)
	}
	l, err := ReadLock(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := hashPath(filepath.Join(dir, Prefix+"faulty"))
	if len(l.Pins) != 2 || l.Pins["faulty"].SHA256 != sum {
		t.Errorf("lock file: %+v", l.Pins)
	}
	// Pinned now: the same host starts it.
	pidOf(t, h, "pinned")
	again, err := h.WriteLock(context.Background())
	if err != nil || again[0].Change != "unchanged" || again[1].Change != "unchanged" {
		t.Errorf("second lock: %+v %v", again, err)
	}
}

func TestReadLockErrors(t *testing.T) {
	for content, want := range map[string]string{
		"faulty 1.0\n":            "want NAME VERSION sha256:HEX",
		"faulty 1.0 sha256:abc\n": "64 lower-case hex digits",
		"Faulty 1.0 sha256:" + strings.Repeat("a", 64) + "\n":                                      "want NAME VERSION",
		"x 1 sha256:" + strings.Repeat("a", 64) + "\nx 1 sha256:" + strings.Repeat("a", 64) + "\n": "x is pinned twice",
	} {
		p := filepath.Join(t.TempDir(), "plugins.lock")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLock(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", content, err, want)
		}
	}
}

// TestPin pins one plugin, starting it to learn its version, and leaves
// every other line of the lock file as it was; the hint of a plugin not
// installed names the folders.
func TestPin(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, exampleBin, filepath.Join(dir, Prefix+"example"))
	copyFile(t, faultyBin, filepath.Join(dir, Prefix+"faulty"))
	lockFile := filepath.Join(dir, "plugins.lock")
	old := &Lock{Pins: map[string]Pin{"gone": {Version: "1.0.0", SHA256: strings.Repeat("a", 64)},
		"faulty": {Version: "0.0.1", SHA256: strings.Repeat("b", 64)}}}
	if err := old.Write(lockFile); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Folders: []string{dir, "bin"}, LockFile: lockFile,
		InstallHint: func(p string) string { return "install " + p }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c, err := h.Pin(context.Background(), "example")
	sum, _ := hashPath(filepath.Join(dir, Prefix+"example"))
	if err != nil || c != (LockChange{Name: "example", Change: "added", Version: "1.0.0", SHA256: sum}) {
		t.Fatalf("Pin = %+v, %v", c, err)
	}
	l, err := ReadLock(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Pin{"example": {Version: "1.0.0", SHA256: sum}, "gone": old.Pins["gone"], "faulty": old.Pins["faulty"]}
	if len(l.Pins) != 3 || l.Pins["example"] != want["example"] || l.Pins["gone"] != want["gone"] || l.Pins["faulty"] != want["faulty"] {
		t.Errorf("lock file: %+v, want %+v", l.Pins, want)
	}
	if c, err := h.Pin(context.Background(), "example"); err != nil || c.Change != "unchanged" {
		t.Errorf("second Pin = %+v, %v", c, err)
	}
	if _, err := h.Pin(context.Background(), "cards"); err == nil || err.Error() != "plugins: cards is not installed (no steward-plugin-cards in "+dir+", bin)" {
		t.Errorf("Pin(cards) = %v", err)
	}
	if got := h.InstallHint("cards"); got != "no steward-plugin-cards in the plugin folders ("+dir+", bin); install cards" {
		t.Errorf("InstallHint = %q", got)
	}
}
