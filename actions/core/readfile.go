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

func (readFileAction) Execute(_ context.Context, req *actions.Request) (map[string]any, error) {
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
	f, err := req.Files.Open(clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &actions.Error{Code: CodeNotFound, Message: fmt.Sprintf("core.read_file: there is no file %s in the runbook's folder", clean)}
		}
		// A symbolic link out of the folder, a permission problem.
		return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("core.read_file: %s cannot be read: %v", clean, unwrapPath(err))}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, bad("%s is a folder, not a file", clean)
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
	CodeNotFound = "not_found"
	CodeTooLarge = "too_large"
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
