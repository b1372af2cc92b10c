package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/schema"
)

// MaxReadFile is the largest file core.read_file reads.
const MaxReadFile = 1 << 20

type readFileAction struct{}

var readFileSpec = actions.Spec{
	Name: "core.read_file",
	Description: "Reads a text file beside the runbook (in its folder, usually under files/): an access policy, a roster, a template. " +
		"Its sha256 goes in the record, so the run says which version it used.",
	Input: object([]string{"path"}, map[string]*schema.DataSchema{
		"path": str("the file, relative to the runbook's folder, with / between folders (files/access-policy.yaml); never absolute, never .."),
	}),
	Output: object(nil, map[string]*schema.DataSchema{
		"path":   str("the path read"),
		"text":   str("its content"),
		"sha256": str("the SHA-256 of its content, hex"),
		"bytes":  {Type: schema.Types{"integer"}, Description: "its size"},
	}),
}

// Spec implements actions.Action.
func (readFileAction) Spec() actions.Spec { return readFileSpec }

func (readFileAction) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	p, _ := req.With["path"].(string)
	bad := func(format string, args ...any) error {
		return &actions.Error{Code: actions.CodeInvalidInput, Message: "core.read_file: " + fmt.Sprintf(format, args...)}
	}
	switch {
	case p == "":
		return nil, bad("path is empty")
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || len(p) > 1 && p[1] == ':':
		return nil, bad("%q is not relative: give a path inside the runbook's folder, like files/access-policy.yaml", p)
	case !fs.ValidPath(path.Clean(p)) || strings.HasPrefix(path.Clean(p), "../") || path.Clean(p) == "..":
		return nil, bad("%q leaves the runbook's folder: a runbook reads only the files beside it", p)
	}
	if req.Files == nil {
		return nil, &actions.Error{Code: CodeNotFound, Message: "core.read_file: this run has no runbook folder to read " + p + " from"}
	}
	clean := path.Clean(p)
	// Only a regular file is opened: opening a named pipe waits for a
	// writer, reading a device may never end.
	info, err := fs.Stat(req.Files, clean)
	if err != nil {
		return nil, openError(clean, err)
	}
	if err := regular(clean, info.Mode()); err != nil {
		return nil, err
	}
	// Reading honours ctx all the same (the step's timeout): a file
	// replaced by a pipe since, a file system that hangs.
	type read struct {
		out map[string]any
		err error
	}
	done := make(chan read, 1)
	go func() {
		out, err := readRegular(req.Files, clean)
		done <- read{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// regular says why a file of mode m cannot be read, or nil for a regular
// file.
func regular(name string, m fs.FileMode) error {
	if m.IsRegular() {
		return nil
	}
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a folder, not a file"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO), not a regular file"
	case m&fs.ModeSocket != 0:
		kind = "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		kind = "a device, not a regular file"
	}
	return &actions.Error{Code: actions.CodeInvalidInput, Message: fmt.Sprintf("core.read_file: %s is %s: it reads only regular files", name, kind)}
}

// openError is the error of a file that cannot be opened or stat'ed.
func openError(clean string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &actions.Error{Code: CodeNotFound, Message: fmt.Sprintf("core.read_file: there is no file %s in the runbook's folder", clean)}
	}
	// A symbolic link out of the folder, a permission problem.
	return &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("core.read_file: %s cannot be read: %v", clean, unwrapPath(err))}
}

// readRegular reads the file clean of files, which was a regular file.
func readRegular(files fs.FS, clean string) (map[string]any, error) {
	f, err := files.Open(clean)
	if err != nil {
		return nil, openError(clean, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		if err := regular(clean, fi.Mode()); err != nil {
			return nil, err
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxReadFile+1))
	if err != nil {
		return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("core.read_file: %s cannot be read: %v", clean, unwrapPath(err))}
	}
	if len(b) > MaxReadFile {
		return nil, &actions.Error{Code: CodeTooLarge, Message: fmt.Sprintf("core.read_file: %s is larger than %d KiB", clean, MaxReadFile>>10)}
	}
	if !utf8.Valid(b) {
		return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("core.read_file: %s is not UTF-8 text", clean)}
	}
	sum := sha256.Sum256(b)
	return map[string]any{"path": clean, "text": string(b), "sha256": hex.EncodeToString(sum[:]), "bytes": len(b)}, nil
}

// Error codes of core.read_file besides the common ones.
const (
	CodeNotFound actions.Code = "not_found"
	CodeTooLarge actions.Code = "too_large"
)

// unwrapPath drops the *fs.PathError wrapper, whose path is already in
// the message.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
