// Package sources reads runbooks from Git: local repositories (the git
// binary) and GitHub repositories (go-github), at a commit pinned under
// --home. A sync resolves a source's ref, checks the policy (reachable
// from a protected branch, signed by an allowed key), validates every
// runbook of the new commit, and only then switches the pin: a broken or
// unreviewed commit never replaces a working one. A run reads the
// runbook from the pinned commit's tree and records source, repository,
// commit, path and blob.
package sources

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"sort"

	"github.com/stewardhq/steward/engine/config"
)

// Sentinel errors.
var (
	ErrUnknownRef    = errors.New("sources: unknown ref")
	ErrNotPinned     = errors.New("sources: not pinned")
	ErrUnsigned      = errors.New("sources: commit not signed by an allowed key")
	ErrUnprotected   = errors.New("sources: commit not on the protected branch")
	ErrRefNotAllowed = errors.New("sources: ref not allowed")
	ErrInvalid       = errors.New("sources: the commit has invalid runbooks")
	ErrUnknownSource = errors.New("sources: unknown source")
)

// Entry is a file of a commit's tree.
type Entry struct {
	Blob string `json:"blob"` // Git blob SHA
	Mode string `json:"mode"`
}

// Tree maps slash paths inside the repository to their files.
type Tree map[string]Entry

// Paths returns the tree's paths, sorted.
func (t Tree) Paths() []string {
	out := make([]string, 0, len(t))
	for p := range t {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Changes are the files that differ between two trees.
type Changes struct {
	Added   []string `json:"added,omitempty"`
	Changed []string `json:"changed,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Empty says whether nothing changed.
func (c Changes) Empty() bool { return len(c.Added)+len(c.Changed)+len(c.Removed) == 0 }

// Diff lists what changed from old to new, by blob SHA.
func Diff(old, new Tree) Changes {
	var c Changes
	for _, p := range new.Paths() {
		o, ok := old[p]
		switch {
		case !ok:
			c.Added = append(c.Added, p)
		case o.Blob != new[p].Blob:
			c.Changed = append(c.Changed, p)
		}
	}
	for _, p := range old.Paths() {
		if _, ok := new[p]; !ok {
			c.Removed = append(c.Removed, p)
		}
	}
	return c
}

// Repo is a repository a source reads: a local Git repository or a
// GitHub repository.
type Repo interface {
	// Name is the repository as a run records it: a path, a URL, owner/name.
	Name() string
	// Fetch brings the remote's refs up to date (a no-op where refs are
	// asked for each time).
	Fetch(ctx context.Context) error
	// Resolve returns the commit a branch, tag or SHA names.
	Resolve(ctx context.Context, ref string) (string, error)
	// Tree lists the files under dir ("" for the root) at commit.
	Tree(ctx context.Context, commit, dir string) (Tree, error)
	// Blobs reads files by blob SHA.
	Blobs(ctx context.Context, shas []string) (map[string][]byte, error)
	// Reachable says whether commit is reachable from branch.
	Reachable(ctx context.Context, commit, branch string) (bool, error)
	// VerifySignature checks that commit carries a valid signature from
	// an allowed key.
	VerifySignature(ctx context.Context, commit string) error
	// Report posts the outcome of validating commit (GitHub: the commit
	// status steward/validate).
	Report(ctx context.Context, commit string, ok bool, description string) error
}

// Open returns the repository of a Git or GitHub source; home is
// --home, where mirrors, pins and caches live.
func Open(src config.Source, home string, gh GitHubOptions) (Repo, error) {
	switch src.Kind {
	case config.SourceGit:
		return newGitRepo(src, filepath.Join(home, "sources", src.Name+".git")), nil
	case config.SourceGitHub:
		return newGitHubRepo(src, filepath.Join(home, "sources", "cache"), gh)
	}
	return nil, errors.New("sources: a folder source has no repository")
}

// under reports whether p is dir or inside it ("" is the root).
func under(p, dir string) bool {
	return dir == "" || p == dir || len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/'
}

// rel is p relative to dir.
func rel(p, dir string) string {
	if dir == "" {
		return p
	}
	r := p[len(dir):]
	if r == "" {
		return "."
	}
	return path.Clean(r[1:])
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
