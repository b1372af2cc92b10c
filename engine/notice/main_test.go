package notice_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

// pluginDir holds the real notify plugin, built once for these tests.
var pluginDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "steward-notice-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "steward-plugin-notify"), "../../plugins/notify")
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the notify plugin: %v\n%s", err, b)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		// The notifier's loop and the plugin's connections: none may
		// outlive the tests.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
