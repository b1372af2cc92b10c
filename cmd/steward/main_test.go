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

// pluginBins are the plugin binaries built for these tests, by plugin
// name: the reference plugin, testdata/echo-plugin and the host's faulty
// test plugin.
var pluginBins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "steward-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	steward = filepath.Join(dir, "steward")
	pluginBins["example"] = filepath.Join(dir, "steward-plugin-example")
	pluginBins["echo"] = filepath.Join(dir, "steward-plugin-echo")
	pluginBins["faulty"] = filepath.Join(dir, "steward-plugin-faulty")
	for out, pkg := range map[string]string{steward: ".", pluginBins["example"]: "../../plugins/example", pluginBins["echo"]: "./testdata/echo-plugin",
		pluginBins["faulty"]: "../../plugins/testdata/faulty"} {
		build := exec.Command("go", "build", "-o", out, pkg)
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
