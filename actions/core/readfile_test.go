package core

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
)

// readWithin runs core.read_file on path in files, failing the test if it
// does not return within a generous bound (a guard, not a measure).
func readWithin(t *testing.T, ctx context.Context, files fs.FS, path string) (map[string]any, error) {
	t.Helper()
	type result struct {
		out map[string]any
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := byName(t, clockwork.NewRealClock(), nil)["core.read_file"].Execute(ctx,
			&actions.Request{With: map[string]any{"path": path}, Files: files})
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-time.After(30 * time.Second):
		t.Fatalf("core.read_file %s did not return", path)
		return nil, nil
	}
}

// TestReadFileNotRegular: a named pipe (which would block the open until
// a writer comes, past every timeout) and a socket are refused at once,
// with a clear error, without being opened.
func TestReadFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for name, want := range map[string]string{
		"fifo": "core.read_file: fifo is a named pipe (FIFO), not a regular file: it reads only regular files",
		"sock": "core.read_file: sock is a socket, not a regular file: it reads only regular files",
	} {
		_, err := readWithin(t, context.Background(), root.FS(), name)
		var ae *actions.Error
		if !errors.As(err, &ae) || ae.Code != actions.CodeInvalidInput || ae.Message != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// blockingFS says its file is a regular one, but opening it blocks until
// released: a file system that hangs, or a file replaced by a pipe after
// it was checked.
type blockingFS struct {
	fstest.MapFS
	release chan struct{}
}

func (b blockingFS) Open(name string) (fs.File, error) {
	<-b.release
	return b.MapFS.Open(name)
}

// TestReadFileHonoursContext: core.read_file returns when its context
// ends (the step's timeout), even while the file does not open.
func TestReadFileHonoursContext(t *testing.T) {
	files := blockingFS{MapFS: fstest.MapFS{"slow.txt": {Data: []byte("x")}}, release: make(chan struct{})}
	defer close(files.release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := readWithin(t, ctx, files, "slow.txt")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("error %v", err)
	}
}
