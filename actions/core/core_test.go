package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
)

func byName(t *testing.T, clock clockwork.Clock, run RunFunc) map[string]actions.Action {
	t.Helper()
	out := map[string]actions.Action{}
	for _, a := range Actions(clock, run) {
		out[a.Spec().Name] = a
	}
	return out
}

func TestLogSetFail(t *testing.T) {
	acts := byName(t, clockwork.NewRealClock(), nil)
	var logged []string
	req := &actions.Request{With: map[string]any{"message": "hi", "level": "warn"}, Log: func(l, m string) { logged = append(logged, l+":"+m) }}
	out, err := acts["core.log"].Execute(context.Background(), req)
	if err != nil || out["message"] != "hi" || len(logged) != 1 || logged[0] != "warn:hi" {
		t.Errorf("core.log: %v %v %v", out, err, logged)
	}
	in := map[string]any{"a": 1, "b": []any{"x"}}
	out, err = acts["core.set"].Execute(context.Background(), &actions.Request{With: in})
	if err != nil || out["a"] != 1 || len(out) != 2 {
		t.Errorf("core.set: %v %v", out, err)
	}
	out["a"] = 2
	if in["a"] != 1 {
		t.Error("core.set returned its input map, not a copy")
	}
	_, err = acts["core.fail"].Execute(context.Background(), &actions.Request{With: map[string]any{"message": "no", "code": "x", "retryable": true}})
	var ae *actions.Error
	if !errors.As(err, &ae) || ae.Message != "no" || ae.Code != "x" || !ae.Retryable {
		t.Errorf("core.fail: %#v", err)
	}
}

func TestSleepUsesTheClock(t *testing.T) {
	fc := clockwork.NewFakeClock()
	sleep := byName(t, fc, nil)["core.sleep"]
	done := make(chan map[string]any)
	go func() {
		out, _ := sleep.Execute(context.Background(), &actions.Request{With: map[string]any{"duration": "1h"}})
		done <- out
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fc.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Hour)
	if out := <-done; out["slept"] != "1h0m0s" {
		t.Errorf("slept %v", out)
	}
	// Cancelling ends the wait.
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := sleep.Execute(cctx, &actions.Request{With: map[string]any{"duration": "1h"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled sleep: %v", err)
	}
	if _, err := sleep.Execute(context.Background(), &actions.Request{With: map[string]any{"duration": "-1s"}}); err == nil {
		t.Error("a negative duration was accepted")
	}
}

func TestRunbookCallsRunFunc(t *testing.T) {
	var gotName string
	run := func(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
		gotName = name
		return map[string]any{"n": inputs["n"]}, nil
	}
	act := byName(t, clockwork.NewRealClock(), run)["core.runbook"]
	out, err := act.Execute(context.Background(), &actions.Request{With: map[string]any{"name": "child", "inputs": map[string]any{"n": 1}}})
	if err != nil || gotName != "child" || out["n"] != 1 {
		t.Errorf("%v %v %q", out, err, gotName)
	}
	if actions.Mutates(act, nil) {
		t.Error("core.runbook must run in a dry run (its sub-run is a dry run)")
	}
	if _, err := byName(t, clockwork.NewRealClock(), nil)["core.runbook"].Execute(context.Background(), &actions.Request{With: map[string]any{"name": "x"}}); err == nil {
		t.Error("core.runbook without a RunFunc succeeded")
	}
}

// TestReadFile: core.read_file reads a file inside the runbook's folder
// (an os.Root, as the CLI gives it) and refuses every way out of it.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "files"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "files", "policy.yaml"), []byte("roles: {}\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "files", "big.txt"), make([]byte, MaxReadFile+1), 0o644))
	must(os.WriteFile(filepath.Join(dir, "files", "bin.dat"), []byte{0xff, 0xfe}, 0o644))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o600))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "files", "escape")))
	root, err := os.OpenRoot(dir)
	must(err)
	defer root.Close()
	a := readFileAction{}
	read := func(p string, files fs.FS) (map[string]any, error) {
		return a.Execute(context.Background(), &actions.Request{With: map[string]any{"path": p}, Files: files})
	}
	out, err := read("files/./policy.yaml", root.FS())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("roles: {}\n"))
	if out["text"] != "roles: {}\n" || out["path"] != "files/policy.yaml" || out["bytes"] != 10 || out["sha256"] != hex.EncodeToString(sum[:]) {
		t.Errorf("read %v", out)
	}
	for _, tc := range []struct {
		path string
		code actions.Code
		msg  string
	}{
		{"/etc/passwd", actions.CodeInvalidInput, `"/etc/passwd" is not relative`},
		{"../secret", actions.CodeInvalidInput, `"../secret" leaves the runbook's folder`},
		{"files/../../secret", actions.CodeInvalidInput, "leaves the runbook's folder"},
		{"files/missing.yaml", CodeNotFound, "there is no file files/missing.yaml in the runbook's folder"},
		{"files/escape", actions.CodeFailed, "files/escape cannot be read"},
		{"files/big.txt", CodeTooLarge, "is larger than 1024 KiB"},
		{"files/bin.dat", actions.CodeFailed, "is not UTF-8 text"},
		{"files", actions.CodeInvalidInput, "files is a folder"},
		{"", actions.CodeInvalidInput, "path is empty"},
	} {
		_, err := read(tc.path, root.FS())
		var ae *actions.Error
		if !errors.As(err, &ae) || ae.Code != tc.code || !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("%q: %v, want %s containing %q", tc.path, err, tc.code, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: the outside file's content leaked: %v", tc.path, err)
		}
	}
	if _, err := read("files/policy.yaml", nil); err == nil || !strings.Contains(err.Error(), "no runbook folder") {
		t.Errorf("no folder: %v", err)
	}
}
