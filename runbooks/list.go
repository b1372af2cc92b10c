package runbooks

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stewardhq/steward/schema"
)

// Entry is a runbook that `steward run NAME` finds: the first of its name
// in the folders, in order, then in the bundled library.
type Entry struct {
	Name string
	// Doc is the runbook's file; Runbook what the loader made of it
	// (its title, description, inputs), with Problems its count of
	// problems: a runbook with problems is listed, but does not run.
	Doc      *Document
	Runbook  *schema.Runbook
	Problems int
	Bundled  bool
	// Hides are the files of the same name that the name finds no more:
	// in later folders, or bundled/NAME.yaml.
	Hides []string
}

// List returns the runbooks that a name finds in folders, then in the
// bundled library, sorted by name: for each name the one that
// Resolve(name, folders) reads, with the files of the same name it hides.
// A folder that does not exist holds no runbook; a file that cannot be
// read is skipped. Within a folder, NAME.yaml (then NAME.yml) is the
// runbook named NAME, as Resolve reads it, before any other file whose
// name: is NAME.
func List(folders []string) ([]*Entry, error) { return ListWith(nil, folders) }

// ListWith is List with the runbooks of pinned commits (sources'
// Resolver.Documents) first: a name finds them before any folder.
func ListWith(pinned []*Document, folders []string) ([]*Entry, error) {
	byName := map[string]*Entry{}
	var order []string
	add := func(e *Entry) {
		if first, ok := byName[e.Name]; ok {
			first.Hides = append(first.Hides, e.Doc.File)
			return
		}
		byName[e.Name] = e
		order = append(order, e.Name)
	}
	for _, doc := range pinned {
		add(entry(doc, false))
	}
	for _, dir := range folders {
		files, err := Find([]string{dir})
		if errors.Is(err, ErrNoRunbooks) || errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var inDir []*Entry
		for _, f := range files {
			doc, err := readFile(f)
			if err != nil {
				continue
			}
			inDir = append(inDir, entry(doc, false))
		}
		// NAME.yaml is read before a file whose name: is NAME.
		stem := func(e *Entry) bool {
			base := filepath.Base(e.Doc.File)
			return filepath.Dir(e.Doc.File) == filepath.Clean(dir) && strings.TrimSuffix(base, filepath.Ext(base)) == e.Name
		}
		for _, first := range []bool{true, false} {
			for _, e := range inDir {
				if stem(e) == first {
					add(e)
				}
			}
		}
	}
	entries, _ := fs.ReadDir(bundled, ".")
	for _, e := range entries {
		if !IsRunbookFile(e.Name()) {
			continue
		}
		src, err := bundled.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		en := entry(newDocument(BundledPrefix+e.Name(), src), true)
		en.Name = strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		add(en)
	}
	sort.Strings(order)
	out := make([]*Entry, len(order))
	for i, name := range order {
		out[i] = byName[name]
	}
	return out, nil
}

// entry loads doc for a listing: named by its name:, or by its file
// when it has none.
func entry(doc *Document, bundled bool) *Entry {
	rb, diags := schema.Load(doc.File, doc.Src)
	e := &Entry{Name: rb.Name, Doc: doc, Runbook: rb, Bundled: bundled}
	e.Problems, _ = diags.Count()
	if e.Name == "" {
		base := filepath.Base(doc.File)
		e.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return e
}
