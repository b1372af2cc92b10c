// Package peertest is for tests that talk to real peers: it finds the
// programs they run against (stripe-mock, geth: `make tools` installs
// them with go install), and hands out ports safely, free ones and ones
// held so that connections to them are refused. The tests of the plugins,
// of the http action and of the CLI share it.
package peertest

import (
	"errors"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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

// RefusedAddr returns a 127.0.0.1 address (host:port) where nothing
// listens and nothing can, until the test ends: a socket bound to it and
// never listening holds the port, so a connection to it is refused (the
// kernel answers RST) and no other process can bind it meanwhile. (A
// port merely closed after net.Listen may be bound again by another test
// process, and the connection then reaches that process.)
func RefusedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	// No SO_REUSEADDR: with it on both sockets, Linux would let another
	// socket bind the port while this one does not listen.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// Hold keeps a peer's port on 127.0.0.1 from other processes while the
// peer is stopped, to be started again on it: a socket bound to it,
// never listening, so that a connection to it is refused meanwhile.
// Release it just before the peer starts again. When the stopped peer's
// connections in TIME_WAIT keep the port from a plain bind, the socket
// binds with SO_REUSEADDR: the system then still hands the port to no
// socket binding port 0 (as net.Listen on :0 and FreePort do), though a
// socket asking for that very port with SO_REUSEADDR may bind it.
func Hold(port int) (release func(), err error) {
	for _, reuse := range []int{0, 1} {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			return nil, err
		}
		syscall.CloseOnExec(fd)
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, reuse); err != nil {
			_ = syscall.Close(fd)
			return nil, err
		}
		err = syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
		if err == nil {
			return func() { _ = syscall.Close(fd) }, nil
		}
		_ = syscall.Close(fd)
		if !errors.Is(err, syscall.EADDRINUSE) || reuse == 1 {
			return nil, fmt.Errorf("holding port %d: %w", port, err)
		}
	}
	panic("unreachable")
}
