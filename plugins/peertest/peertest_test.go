package peertest

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLookup: a program on PATH is found, else in GOPATH/bin, else the
// error names the program, why it is needed and how to install it.
func TestLookup(t *testing.T) {
	dir, gopath := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(gopath, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "onpath"), filepath.Join(gopath, "bin", "ingopath")} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	t.Setenv("GOPATH", gopath)
	if p, err := Lookup("onpath", "", ""); err != nil || p != filepath.Join(dir, "onpath") {
		t.Errorf("on PATH: %q, %v", p, err)
	}
	if p, err := Lookup("ingopath", "", ""); err != nil || p != filepath.Join(gopath, "bin", "ingopath") {
		t.Errorf("in GOPATH/bin: %q, %v", p, err)
	}
	_, err := Lookup("nowhere", "this test runs a node", "go install example.com/nowhere@v1")
	if err == nil || !strings.Contains(err.Error(), "this test runs a node, and nowhere is neither on PATH nor in GOPATH/bin: install it with: go install example.com/nowhere@v1") {
		t.Errorf("missing: %v", err)
	}
}

// TestPathSkipsOnlyWhenAsked: STEWARD_SKIP_PEERS=1 turns a missing peer
// into a skip, said so.
func TestPathSkipsOnlyWhenAsked(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	t.Setenv("STEWARD_SKIP_PEERS", "1")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Path(t, "nowhere", "why", "how")
	})
	if !skipped {
		t.Error("a missing peer with STEWARD_SKIP_PEERS=1 did not skip")
	}
}

// TestRefusedAddr: a connection to the address is refused, and the port
// cannot be bound by anyone else (net.Listen sets SO_REUSEADDR) while the
// test runs.
func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("a connection to %s was accepted", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: %v, want connection refused", addr, err)
		}
	}
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		t.Fatalf("%s could be bound by another socket", addr)
	}
}

// TestHold: a held port refuses connections, is not handed to a socket
// binding port 0, and is free again once released.
func TestHold(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	release, err := Hold(port)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial a held port: %v, want connection refused", err)
	}
	for range 200 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p == port {
			t.Fatalf("FreePort handed out the held port %d", port)
		}
	}
	release()
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the released port: %v", err)
	}
	l.Close()
}
