package runbooks

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stewardhq/steward/schema"
)

// bundled is the library of runbooks shipped inside the binary, with the
// data files they read (files/).
//
//go:embed *.yaml files
var bundled embed.FS

// BundledPrefix starts the file name of a bundled runbook in diagnostics.
const BundledPrefix = "bundled/"

// Document is a runbook's bytes and where they came from.
type Document struct {
	File   string // the path, or bundled/NAME.yaml, or SOURCE@COMMIT:PATH
	Src    []byte
	SHA256 string // of Src, hex
	// Pinned is set for a runbook read from a commit of a Git or GitHub
	// source (runbooks/sources); nil for folders and the bundled library.
	Pinned *Pinned

	files fs.FS // the folder of a pinned runbook, in the commit's tree
}

// Pinned says which commit of which source a runbook was read from.
type Pinned struct {
	Source string // the source's name in steward.yaml
	Repo   string // the repository: a path, a URL, or owner/name on GitHub
	Commit string
	Path   string // the file inside the repository, slash-separated
	Blob   string // the Git blob SHA of the file at Commit
}

// NewPinned returns the document of a runbook read from a commit: src is
// the blob's content, files the folder holding it in the commit's tree
// (what core.read_file reads). Its File is SOURCE@COMMIT12:PATH.
func NewPinned(src []byte, p Pinned, files fs.FS) *Document {
	short := p.Commit
	if len(short) > 12 {
		short = short[:12]
	}
	d := newDocument(p.Source+"@"+short+":"+p.Path, src)
	d.Pinned, d.files = &p, files
	return d
}

// ErrNotFound is returned when no runbook has the name asked for.
var ErrNotFound = errors.New("runbooks: not found")

// NotFoundError says which runbook was not found and what exists.
type NotFoundError struct {
	Name    string
	Known   []string // names that exist, sorted
	Folders []string
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("no runbook named %q in %s or the bundled library", e.Name, strings.Join(e.Folders, ", "))
	if s := schema.Suggest(e.Name, e.Known); s != "" && s != e.Name {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// Resolve finds a runbook by file path or by name. A ref that names an
// existing file, or ends in .yaml or .yml, is a path. Otherwise it is a
// runbook name, looked up in folders in order (NAME.yaml, NAME.yml, then
// any runbook file whose name: matches), then in the bundled library.
func Resolve(ref string, folders []string) (*Document, error) {
	if looksLikePath(ref) {
		return readFile(ref)
	}
	return resolveName(ref, folders)
}

// ErrNotAName is returned by ResolveName for what is not a runbook name.
var ErrNotAName = errors.New("runbooks: not a runbook name")

// NotANameError says what was given instead of a runbook name.
type NotANameError struct{ Ref string }

func (e *NotANameError) Error() string {
	return fmt.Sprintf("%q is not a runbook name (lower-case letters, digits and dashes): a runbook is named, never given by path", e.Ref)
}

func (e *NotANameError) Unwrap() error { return ErrNotAName }

// ResolveName finds a runbook by name only, as a sub-run does
// (core.runbook): in folders, then in the bundled library, as Resolve
// does for a name. What is not a runbook name (schema.IsName), a path
// above all, is refused without touching the disk: a runbook that takes
// the name from an input cannot make Steward read any file.
func ResolveName(name string, folders []string) (*Document, error) {
	if !schema.IsName(name) {
		return nil, &NotANameError{Ref: name}
	}
	return resolveName(name, folders)
}

// resolveName looks a runbook name up in folders, then in the bundled
// library.
func resolveName(ref string, folders []string) (*Document, error) {
	var known []string
	for _, dir := range folders {
		for _, ext := range []string{".yaml", ".yml"} {
			p := filepath.Join(dir, ref+ext)
			if info, err := os.Stat(p); err == nil && info.Mode().IsRegular() {
				return readFile(p)
			}
		}
		files, err := Find([]string{dir})
		if err != nil {
			continue
		}
		for _, f := range files {
			doc, err := readFile(f)
			if err != nil {
				continue
			}
			rb, _ := schema.Load(f, doc.Src)
			if rb.Name == ref {
				return doc, nil
			}
			if rb.Name != "" {
				known = append(known, rb.Name)
			}
		}
	}
	entries, _ := fs.ReadDir(bundled, ".")
	for _, e := range entries {
		if !IsRunbookFile(e.Name()) {
			continue
		}
		name := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		if name == ref {
			src, err := bundled.ReadFile(e.Name())
			if err != nil {
				return nil, err
			}
			return newDocument(BundledPrefix+e.Name(), src), nil
		}
		known = append(known, name)
	}
	sort.Strings(known)
	return nil, &NotFoundError{Name: ref, Known: known, Folders: folders}
}

// Bundled lists the names of the bundled runbooks.
func Bundled() []string {
	var out []string
	entries, _ := fs.ReadDir(bundled, ".")
	for _, e := range entries {
		if IsRunbookFile(e.Name()) {
			out = append(out, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
		}
	}
	return out
}

func looksLikePath(ref string) bool {
	if strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") || strings.ContainsRune(ref, filepath.Separator) {
		return true
	}
	info, err := os.Stat(ref)
	return err == nil && !info.IsDir()
}

func readFile(p string) (*Document, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("runbooks: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, schema.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("runbooks: %s: %w", p, err)
	}
	if len(src) > schema.MaxFileSize {
		return nil, fmt.Errorf("runbooks: %s is larger than %d KiB", p, schema.MaxFileSize>>10)
	}
	return newDocument(p, src), nil
}

// Files returns the folder holding the runbook, as core.read_file sees
// it: reads stay inside it (no "..", no absolute path, no symbolic link
// out of it). A bundled runbook's folder is the bundled library.
func (d *Document) Files() (fs.FS, error) {
	if d.files != nil {
		return d.files, nil
	}
	return FilesOf(d.File)
}

// FilesOf returns the folder holding the runbook file (or bundled/NAME.yaml),
// as Document.Files.
func FilesOf(file string) (fs.FS, error) {
	if strings.HasPrefix(file, BundledPrefix) {
		return bundled, nil
	}
	root, err := os.OpenRoot(filepath.Dir(file))
	if err != nil {
		return nil, fmt.Errorf("runbooks: the folder of %s: %w", file, err)
	}
	return root.FS(), nil
}

func newDocument(file string, src []byte) *Document {
	sum := sha256.Sum256(src)
	return &Document{File: file, Src: src, SHA256: hex.EncodeToString(sum[:])}
}

// Commit is the Git commit of the checkout holding the document's file,
// or "" (bundled runbooks, files outside a checkout).
func (d *Document) Commit() string {
	if d.Pinned != nil {
		return d.Pinned.Commit
	}
	if strings.HasPrefix(d.File, BundledPrefix) {
		return ""
	}
	return GitCommit(d.File)
}
