package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// maxTreeSize bounds what one commit's runbook folder may hold.
const maxTreeSize = 256 << 20

// snapshot is the runbook folder of a source at one commit, read.
type snapshot struct {
	src    config.Source
	repo   string
	commit string
	tree   Tree              // the files under src.Path
	blobs  map[string][]byte // by blob SHA
}

// read reads the source's folder at commit: its tree and every blob.
func read(ctx context.Context, r Repo, src config.Source, commit string) (*snapshot, error) {
	tree, err := r.Tree(ctx, commit, src.Path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var shas []string
	for _, e := range tree {
		if !seen[e.Blob] {
			seen[e.Blob] = true
			shas = append(shas, e.Blob)
		}
	}
	blobs, err := r.Blobs(ctx, shas)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, b := range blobs {
		total += len(b)
	}
	if total > maxTreeSize {
		return nil, fmt.Errorf("sources: %s: %s at %s holds %d MiB; at most %d MiB are read", src.Name, src.Path, short(commit), total>>20, maxTreeSize>>20)
	}
	return &snapshot{src: src, repo: r.Name(), commit: commit, tree: tree, blobs: blobs}, nil
}

// runbookPaths are the runbook files of the snapshot, as runbooks.Find
// finds them in a folder: not in hidden folders nor in files folders.
func (s *snapshot) runbookPaths() []string {
	var out []string
	for _, p := range s.tree.Paths() {
		r := rel(p, s.src.Path)
		skip := false
		parts := strings.Split(r, "/")
		for _, d := range parts[:len(parts)-1] {
			if strings.HasPrefix(d, ".") || d == runbooks.FilesDir {
				skip = true
			}
		}
		if !skip && runbooks.IsRunbookFile(path.Base(r)) && s.tree[p].Mode != "120000" {
			out = append(out, p)
		}
	}
	return out
}

// document is the runbook at p, with its folder's files.
func (s *snapshot) document(p string) *runbooks.Document {
	dir := path.Dir(p)
	files := map[string][]byte{}
	for q, e := range s.tree {
		if e.Mode == "120000" { // a symbolic link is not followed
			continue
		}
		if dir == "." {
			files[q] = s.blobs[e.Blob]
		} else if under(q, dir) && q != dir {
			files[rel(q, dir)] = s.blobs[e.Blob]
		}
	}
	e := s.tree[p]
	return runbooks.NewPinned(s.blobs[e.Blob], runbooks.Pinned{Source: s.src.Name, Repo: s.repo, Commit: s.commit, Path: p, Blob: e.Blob},
		&treeFS{files: files})
}

// documents are every runbook of the snapshot.
func (s *snapshot) documents() []*runbooks.Document {
	var out []*runbooks.Document
	for _, p := range s.runbookPaths() {
		out = append(out, s.document(p))
	}
	return out
}

// find returns the runbook named name: NAME.yaml (then .yml) in the
// source's folder, then any runbook whose name: is name.
func (s *snapshot) find(name string) (*runbooks.Document, []string) {
	paths := s.runbookPaths()
	for _, ext := range []string{".yaml", ".yml"} {
		want := path.Join(s.src.Path, name+ext)
		for _, p := range paths {
			if p == want {
				return s.document(p), nil
			}
		}
	}
	var known []string
	for _, p := range paths {
		rb, _ := schema.Load(p, s.blobs[s.tree[p].Blob])
		if rb.Name == name {
			return s.document(p), nil
		}
		if rb.Name != "" {
			known = append(known, rb.Name)
		}
	}
	return nil, known
}

// check validates every runbook of the snapshot, and the data files of
// its files folders (JSON and YAML must parse).
func (s *snapshot) check(cat schema.Catalog, also []func(*schema.Runbook) schema.Diagnostics) (schema.Diagnostics, int) {
	docs := s.documents()
	var all schema.Diagnostics
	for _, r := range runbooks.CheckDocuments(docs, cat, also...) {
		all = append(all, r.Diags...)
	}
	for _, p := range s.tree.Paths() {
		if !strings.Contains("/"+rel(p, s.src.Path), "/"+runbooks.FilesDir+"/") {
			continue
		}
		file := docsName(s, p)
		src := s.blobs[s.tree[p].Blob]
		switch path.Ext(p) {
		case ".json":
			var v any
			if err := json.Unmarshal(src, &v); err != nil {
				all = append(all, schema.Diagnostic{File: file, Line: 1, Column: 1, Message: "invalid JSON data file: " + err.Error()})
			}
		case ".yaml", ".yml":
			var v any
			if err := yaml.Unmarshal(src, &v); err != nil {
				all = append(all, schema.SyntaxError(file, src, err))
			}
		}
	}
	return all, len(docs)
}

// docsName is how a diagnostic names a file of the snapshot.
func docsName(s *snapshot, p string) string {
	return s.src.Name + "@" + short(s.commit) + ":" + p
}
