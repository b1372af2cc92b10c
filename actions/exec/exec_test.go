package execaction

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
)

// generous bounds how long a test waits for what should be prompt; it is
// a guard against hanging, not a measure.
const generous = time.Minute

// run executes exec with the with given, failing the test if it does not
// return within generous.
func run(t *testing.T, ctx context.Context, with map[string]any) (map[string]any, error) {
	t.Helper()
	return runLogged(t, ctx, with, nil)
}

func runLogged(t *testing.T, ctx context.Context, with map[string]any, logf func(level, msg string)) (map[string]any, error) {
	t.Helper()
	type result struct {
		out map[string]any
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := New().Execute(ctx, &actions.Request{Action: Name, With: with, Index: -1, Attempt: 1, Log: logf})
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(generous):
		t.Fatalf("exec %v did not return within %s", with["command"], generous)
		return nil, nil
	}
}

func cmd(argv ...string) []any {
	out := make([]any, len(argv))
	for i, a := range argv {
		out[i] = a
	}
	return out
}

// wantCode checks that err is an *actions.Error with the code and
// retryability given, and returns it.
func wantCode(t *testing.T, err error, code actions.Code, retryable bool) *actions.Error {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want *actions.Error %s", err, err, code)
	}
	if ae.Code != code || ae.Retryable != retryable {
		t.Fatalf("error = %s retryable=%v (%q), want %s retryable=%v", ae.Code, ae.Retryable, ae.Message, code, retryable)
	}
	return ae
}

func TestEcho(t *testing.T) {
	t.Parallel()
	out, err := run(t, context.Background(), map[string]any{"command": cmd("echo", "hello", "world")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"exit_code": 0, "stdout": "hello world\n", "stderr": "", "truncated": false}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %#v, want %#v", k, out[k], v)
		}
	}
	if err := New().Spec().Output.Check(out); err != nil {
		t.Errorf("outputs do not fit the output schema: %v", err)
	}
	if _, err := json.Marshal(out); err != nil {
		t.Error(err)
	}
}

func TestStderr(t *testing.T) {
	t.Parallel()
	out, err := run(t, context.Background(), map[string]any{"command": cmd("sh", "-c", "echo out; echo err >&2")})
	if err != nil {
		t.Fatal(err)
	}
	if out["stdout"] != "out\n" || out["stderr"] != "err\n" {
		t.Errorf("out = %v", out)
	}
}

func TestExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"sh", "-c", "echo noise >&2; echo 'the real reason' >&2; printf '\\n  \\n' >&2; exit 3"},
			`command "sh" exited with status 3: the real reason`},
		{[]string{"false"}, `command "false" exited with status 1`},
		{[]string{"sh", "-c", "kill -9 $$"}, `command "sh" was killed by signal 9 (killed)`},
		{[]string{"ls", "/steward-no-such-dir"}, `command "ls" exited with status 2: ls: `},
	} {
		_, err := run(t, context.Background(), map[string]any{"command": cmd(tc.argv...)})
		ae := wantCode(t, err, CodeExitStatus, false)
		if !strings.HasPrefix(ae.Message, tc.want) {
			t.Errorf("%q: message %q, want it to start with %q", tc.argv, ae.Message, tc.want)
		}
	}
	// A long last line is clipped; arguments are not shown.
	_, err := run(t, context.Background(), map[string]any{
		"command": cmd("sh", "-c", `printf "%0500d\n" 0 >&2; exit 1`, "sh", "s3cret-arg")})
	ae := wantCode(t, err, CodeExitStatus, false)
	_, line, _ := strings.Cut(ae.Message, "status 1: ")
	if n := len([]rune(line)); n == 0 || n > clipLen || strings.Contains(ae.Message, "s3cret") {
		t.Errorf("message %q: last line of %d characters, want 1 to %d, and no arguments", ae.Message, n, clipLen)
	}
}

func TestStdin(t *testing.T) {
	t.Parallel()
	out, err := run(t, context.Background(), map[string]any{"command": cmd("cat"), "stdin": "line 1\nline 2"})
	if err != nil || out["stdout"] != "line 1\nline 2" {
		t.Fatalf("%v, %v", out, err)
	}
	// No stdin: the program reads an empty input rather than waiting.
	out, err = run(t, context.Background(), map[string]any{"command": cmd("cat")})
	if err != nil || out["stdout"] != "" {
		t.Fatalf("%v, %v", out, err)
	}
}

// TestEnvironment cannot run in parallel: it sets the test process's
// environment.
func TestEnvironment(t *testing.T) {
	t.Setenv("STEWARD_SECRET_X", "leaked")
	t.Setenv("LANG", "C.UTF-8")
	out, err := run(t, context.Background(), map[string]any{"command": cmd("env"), "env": map[string]any{"GREETING": "hi there"}})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out["stdout"].(string)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if _, ok := vars["STEWARD_SECRET_X"]; ok {
		t.Error("the child sees the engine's STEWARD_SECRET_X")
	}
	if vars["GREETING"] != "hi there" || vars["PATH"] != os.Getenv("PATH") || vars["LANG"] != "C.UTF-8" {
		t.Errorf("child environment = %v", vars)
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, "LC_ALL": true, "TMPDIR": true, "GREETING": true}
	for k := range vars {
		if !allowed[k] {
			t.Errorf("the child sees %s", k)
		}
	}

	// Without a host PATH, the default one.
	t.Setenv("PATH", "")
	out, err = run(t, context.Background(), map[string]any{"command": cmd("env")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out["stdout"].(string), "PATH="+defaultPath+"\n") {
		t.Errorf("child environment = %q, want the default PATH", out["stdout"])
	}
}

func TestPathFromEnv(t *testing.T) {
	t.Parallel()
	bin := t.TempDir()
	writeScript(t, filepath.Join(bin, "steward-tool"), "#!/bin/sh\necho tool ran with $1\n")
	out, err := run(t, context.Background(), map[string]any{
		"command": cmd("steward-tool", "x"),
		"env":     map[string]any{"PATH": "relative/dir:" + bin + ":/usr/bin:/bin"},
	})
	if err != nil || out["stdout"] != "tool ran with x\n" {
		t.Fatalf("%v, %v", out, err)
	}
}

func writeScript(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, err := run(t, context.Background(), map[string]any{"command": cmd("pwd", "-P"), "dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got := strings.TrimSpace(out["stdout"].(string)); got != real {
		t.Errorf("pwd = %q, want %q", got, real)
	}
	// A relative program path is relative to dir.
	writeScript(t, filepath.Join(dir, "local.sh"), "#!/bin/sh\necho local\n")
	out, err = run(t, context.Background(), map[string]any{"command": cmd("./local.sh"), "dir": dir})
	if err != nil || out["stdout"] != "local\n" {
		t.Errorf("./local.sh in dir: %v, %v", out, err)
	}
	_, err = run(t, context.Background(), map[string]any{"command": cmd("pwd"), "dir": filepath.Join(dir, "missing")})
	ae := wantCode(t, err, actions.CodeInvalidInput, false)
	if !strings.Contains(ae.Message, "not a directory") {
		t.Errorf("message = %q", ae.Message)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeScript(t, filepath.Join(dir, "badinterp"), "#!/steward/no/such/interpreter\n")
	for _, tc := range []struct{ name, want string }{
		{"steward-no-such-binary", `command "steward-no-such-binary": not found in PATH`},
		{"./missing", `command "./missing": `},
		{filepath.Join(dir, "plain.txt"), "permission denied"},
		{filepath.Join(dir, "badinterp"), "cannot be started"},
	} {
		_, err := run(t, context.Background(), map[string]any{"command": cmd(tc.name), "dir": dir})
		ae := wantCode(t, err, CodeNotFound, false)
		if !strings.Contains(ae.Message, tc.want) {
			t.Errorf("%s: message %q, want it to hold %q", tc.name, ae.Message, tc.want)
		}
	}
}

func TestShellMetacharactersAreLiteral(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	args := []string{"$(touch pwned1)", "`touch pwned2`", "; touch pwned3", "| touch pwned4", "&& touch pwned5", "*", "$HOME", "a\nb"}
	out, err := run(t, context.Background(), map[string]any{"command": cmd(append([]string{"echo"}, args...)...), "dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(args, " ") + "\n"; out["stdout"] != want {
		t.Errorf("stdout = %q, want %q", out["stdout"], want)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("an argument ran as shell code: %s exists", e.Name())
	}
}

func TestMaxOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script         string
		max            any
		stdout, stderr string
		truncated      bool
	}{
		{"printf abc", 3, "abc", "", false},
		{"printf abcd", 3, "abc", "", true},
		{"printf abc; printf defgh >&2", 4, "abc", "defg", true},
		{"printf 'ééé'", 3, "é", "", true}, // the cut fell inside the second é
		{"printf x", 0, "", "", true},
		{"true", 0, "", "", false},
	} {
		with := map[string]any{"command": cmd("sh", "-c", tc.script), "max_output": tc.max}
		out, err := run(t, context.Background(), with)
		if err != nil {
			t.Fatal(err)
		}
		if out["stdout"] != tc.stdout || out["stderr"] != tc.stderr || out["truncated"] != tc.truncated {
			t.Errorf("%q max %v: %q %q truncated=%v", tc.script, tc.max, out["stdout"], out["stderr"], out["truncated"])
		}
	}
	// The default keeps 1 MiB; the program still runs to its end.
	out, err := run(t, context.Background(), map[string]any{"command": cmd("sh", "-c", "head -c 5000000 /dev/zero; echo done >&2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out["stdout"].(string)) != defaultMaxOutput || out["stderr"] != "done\n" || out["truncated"] != true {
		t.Errorf("%d bytes of stdout, stderr %q, truncated=%v", len(out["stdout"].(string)), out["stderr"], out["truncated"])
	}
}
