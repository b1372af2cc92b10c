package engine_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
)

// hangingFS says its files are regular, but opening one blocks until
// released: a file system that hangs.
type hangingFS struct {
	fstest.MapFS
	release chan struct{}
}

func (h hangingFS) Open(name string) (fs.File, error) {
	<-h.release
	return h.MapFS.Open(name)
}

// TestBuiltinHonoursStepTimeout: a built-in that cannot finish (here
// core.read_file on a file system that hangs) stops at its step's
// timeout, which fails the step as a timeout.
func TestBuiltinHonoursStepTimeout(t *testing.T) {
	files := hangingFS{MapFS: fstest.MapFS{"files/policy.yaml": {Data: []byte("a: 1\n")}}, release: make(chan struct{})}
	defer close(files.release)
	reg := registry(t, clockwork.NewRealClock())
	rb := load(t, reg, `version: 1
name: slow
steps:
  - id: read
    timeout: 100ms
    action: core.read_file
    with: {path: files/policy.yaml}
`)
	res := run(t, rb, reg, nil, engine.Options{Files: files})
	e := res.Step("read", engine.PhaseMain).Error
	if res.Status != engine.StatusFailed || e == nil || e.Code != actions.CodeTimeout || e.Message != "the step timed out after 100ms" {
		t.Fatalf("%s: %+v", res.Status, e)
	}
}
