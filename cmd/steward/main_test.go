package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// steward is the path of the binary built once for these tests: every test
// here runs the real CLI as a user would.
var steward string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "steward-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	steward = filepath.Join(dir, "steward")
	build := exec.Command("go", "build", "-o", steward, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building steward:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes the binary in dir with args, with a home of its own.
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return homeRun(t, dir, t.TempDir(), nil, args...)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
