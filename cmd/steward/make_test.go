package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// makeRun runs make in the repository with args, its PATH only the
// folder path (where tools link the commands allowed), as the user
// nobody when this test runs as root (so that it is not root), with HOME
// a temporary folder.
func makeRun(t *testing.T, path string, asNobody bool, args ...string) result {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{makeBin, "-s", "-C", root, "GO=" + goBin}, args...)
	if asNobody && os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv to become nobody")
		}
		argv = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	}
	home := openDir(t)
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + path, "HOME=" + home, "LANG=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("make %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// tools links the named commands, those found, into a new folder for
// PATH.
func tools(t *testing.T, names ...string) string {
	t.Helper()
	dir := openDir(t)
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			if err := os.Symlink(p, filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// openDir returns a new temporary folder that another user can reach (a
// t.TempDir is under a folder private to this user).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "steward-make-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMakeToolsDebian: make tools-debian installs nothing when every
// package is installed, and says clearly what to do when it cannot
// install the missing ones: no apt-get, not root without sudo, or
// apt-get through sudo refused.
func TestMakeToolsDebian(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a Debian machine")
	}
	base := []string{"dpkg-query", "grep", "id"}
	// dpkg is installed on every Debian machine.
	r := makeRun(t, tools(t, base...), false, "tools-debian", "DEBIAN_PACKAGES=dpkg")
	if r.code != 0 || r.stdout != "Debian packages: all installed (dpkg)\n" || r.stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	// A package that an installed one provides counts as installed:
	// mawk (required on every Debian machine) provides awk, as
	// NodeSource's nodejs provides npm.
	r = makeRun(t, tools(t, base...), false, "tools-debian", "DEBIAN_PACKAGES=dpkg awk")
	if r.code != 0 || r.stdout != "Debian packages: all installed (dpkg awk)\n" || r.stderr != "" {
		t.Fatalf("a provided package: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	const missing = "DEBIAN_PACKAGES=dpkg steward-no-such-package"
	r = makeRun(t, tools(t, base...), false, "tools-debian", missing)
	want := "make tools: the tests need steward-no-such-package, and there is no apt-get here: install them (or their equivalents) with your package manager, then run make tools-go tools-npm\n"
	if r.code == 0 || r.stdout != "Debian packages to install: steward-no-such-package\n" || !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("without apt-get: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
	}

	r = makeRun(t, tools(t, append(base, "apt-get")...), true, "tools-debian", missing)
	want = "make tools: installing steward-no-such-package needs root, and sudo is not installed: run make tools as root, or as root: apt-get update && apt-get install -y steward-no-such-package\n"
	if r.code == 0 || !strings.HasPrefix(r.stderr, want) {
		t.Fatalf("not root, no sudo: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
	}

	if _, err := exec.LookPath("sudo"); err == nil {
		// sudo without a terminal to ask for a password, or for a user
		// it does not know, refuses.
		r = makeRun(t, tools(t, append(base, "apt-get", "sudo")...), true, "tools-debian", missing)
		want = "make tools: apt-get through sudo could not install steward-no-such-package (see above): as root, run apt-get update && apt-get install -y steward-no-such-package\n"
		if r.code == 0 || !strings.Contains(r.stdout, "not root: apt-get through sudo\n") || !strings.Contains(r.stderr, want) {
			t.Fatalf("through sudo: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", r.code, r.stdout, r.stderr, want)
		}
	}
}

// TestToolsOneList: .ci/run installs what the tests need with make tools,
// the README's test command, and has no package list of its own; the
// README's Tests section runs that one command.
func TestToolsOneList(t *testing.T) {
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^make tools$`).Match(ci) {
		t.Error(".ci/run does not run make tools")
	}
	// Its one apt-get installs make, which runs the rest.
	for _, line := range strings.Split(string(ci), "\n") {
		if strings.Contains(line, "apt-get install") && !strings.HasSuffix(line, "apt-get install -y -qq make; }") {
			t.Errorf(".ci/run installs packages itself: the list is DEBIAN_PACKAGES in the Makefile\n%s", line)
		}
	}
	for _, tool := range []string{"staticcheck@", "stripe-mock@", "geth@"} {
		if bytes.Contains(ci, []byte(tool)) {
			t.Errorf(".ci/run installs %s itself: make tools does", tool)
		}
	}
	// make tools runs tools-npm after tools-debian: the Debian packages
	// it needs are in the list.
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile(`(?m)^DEBIAN_PACKAGES \?= (.*)$`).FindSubmatch(makefile)
	npm := regexp.MustCompile(`tools-npm: npm is not installed \(Debian: apt-get install ([a-z0-9 -]+)\)`).FindSubmatch(makefile)
	if list == nil || npm == nil {
		t.Fatal("the Makefile has no DEBIAN_PACKAGES, or tools-npm does not name the Debian packages it needs")
	}
	for _, p := range strings.Fields(string(npm[1])) {
		if !slices.Contains(strings.Fields(string(list[1])), p) {
			t.Errorf("tools-npm needs the Debian package %s, which DEBIAN_PACKAGES does not list", p)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := between(t, string(readme), "## Tests\n", "\n## ")
	if got := between(t, tests, "```sh\n", "```\n"); got != "make tools test\n" {
		t.Errorf("the README's test command is %q", got)
	}
}
