package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// steward is the path of the binary built once for these tests: every test
// here runs the real CLI as a user would. It is alone in its folder, one
// of the default plugin folders (the plugins are built beside it only
// where a test puts them there).
var steward string

// pluginBins are the plugin binaries built for these tests, by plugin
// name: the bundled plugins (example, payments, evm, access, notify,
// helpdesk), testdata/echo-plugin
// and the host's faulty test plugin (also as mistyped: see its doc).
var pluginBins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "steward-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	steward = filepath.Join(dir, "cli", "steward")
	pkgs := map[string]string{steward: "."}
	for name, pkg := range map[string]string{"example": "../../plugins/example", "payments": "../../plugins/payments",
		"evm": "../../plugins/evm", "access": "../../plugins/access", "notify": "../../plugins/notify", "helpdesk": "../../plugins/helpdesk",
		"observability": "../../plugins/observability",
		"echo":          "./testdata/echo-plugin", "faulty": "../../plugins/testdata/faulty"} {
		pluginBins[name] = filepath.Join(dir, "steward-plugin-"+name)
		pkgs[pluginBins[name]] = pkg
	}
	// Built in parallel; plugins stripped as `make build` builds them (a
	// smaller binary is hashed faster at every start).
	var wg sync.WaitGroup
	var failed atomic.Bool
	for out, pkg := range pkgs {
		wg.Go(func() {
			args := []string{"build", "-o", out, pkg}
			if out != steward {
				args = []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg}
			}
			build := exec.Command("go", args...)
			if b, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, b)
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		os.Exit(1)
	}
	// The faulty plugin behaves by the name it is installed under.
	pluginBins["mistyped"] = pluginBins["faulty"]
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
