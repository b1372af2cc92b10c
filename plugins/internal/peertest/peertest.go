// Package peertest finds the real peers that plugin tests run against
// (stripe-mock, geth): programs `make tools` installs with go install.
package peertest

import (
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Lookup finds the program name: on PATH, else in GOPATH/bin where go
// install puts it. Its error says what the test needs it for (why) and
// the command that installs it.
func Lookup(name, why, install string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s, and %s is neither on PATH nor in GOPATH/bin: install it with: %s (or make tools)", why, name, install)
}

// Path returns the program's path. Without it the test fails, saying how
// to install it, unless STEWARD_SKIP_PEERS=1 says to skip tests that need
// a peer.
func Path(t testing.TB, name, why, install string) string {
	t.Helper()
	p, err := Lookup(name, why, install)
	if err == nil {
		return p
	}
	if os.Getenv("STEWARD_SKIP_PEERS") == "1" {
		t.Skipf("%s is not installed and STEWARD_SKIP_PEERS=1: skipping the tests that need it", name)
	}
	t.Fatal(err)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for
// a peer that must be told its port (slapd, geth).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
