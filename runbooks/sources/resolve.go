package sources

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks"
)

// Status is a source as steward sources status and GET /api/v1/sources
// show it: its pin, its last sync, and (when asked) what changed on its
// ref since the pin.
type Status struct {
	State
	// Head is the ref's commit now; HeadChanges what differs from the
	// pin there. Empty unless the repository was asked.
	Head        string   `json:"head,omitempty"`
	HeadChanges *Changes `json:"head_changes,omitempty"`
	HeadError   string   `json:"head_error,omitempty"`
}

// GetStatus returns the status of src; with remote set it also fetches
// and resolves the ref to show what changed since the pin.
func GetStatus(ctx context.Context, home string, src config.Source, gh GitHubOptions, remote bool) (*Status, error) {
	st, err := LoadState(home, src.Name)
	if err != nil {
		return nil, err
	}
	st.Kind, st.Ref = src.Kind, src.Ref
	if st.Repo == "" { // never synced
		st.Repo = src.Location
	}
	out := &Status{State: *st}
	if st.Pin != nil { // a status shows the pin, not its list of files
		pin := *st.Pin
		pin.Tree = nil
		out.Pin = &pin
	}
	if !remote {
		return out, nil
	}
	head := func() error {
		r, err := Open(src, home, gh)
		if err != nil {
			return err
		}
		out.Repo = r.Name()
		if err := r.Fetch(ctx); err != nil {
			return err
		}
		if out.Head, err = r.Resolve(ctx, src.Ref); err != nil {
			return err
		}
		tree, err := r.Tree(ctx, out.Head, src.Path)
		if err != nil {
			return err
		}
		var old Tree
		if st.Pin != nil {
			old = st.Pin.Tree
		}
		c := Diff(old, tree)
		out.HeadChanges = &c
		return nil
	}
	if err := head(); err != nil {
		out.HeadError = err.Error()
	}
	return out, nil
}

// Resolver finds runbooks in the pinned commits of Git and GitHub
// sources.
type Resolver struct {
	Home    string
	Sources []config.Source // folder sources are skipped: runbooks reads them
	GitHub  GitHubOptions
}

// Resolve returns the runbook name from the first source that pins one;
// ref, when not "", is a branch, tag or commit to read instead of the
// pin, allowed by a source's allow_refs (the pin's own commit always
// is) and by its policy. found is false when no pinned source has the
// name (a folder or the bundled library may).
func (r *Resolver) Resolve(ctx context.Context, name, ref string) (doc *runbooks.Document, found bool, err error) {
	return r.resolve(ctx, name, ref, "")
}

// ResolveFrom returns the runbook name for a sub-run (core.runbook) of a
// runbook read from from's commit of a Git or GitHub source: the
// runbook of that commit, whatever the source's pin is now (the run
// that reads it was allowed to run that commit); one the commit does not
// have is looked up in the other sources' pins, as Resolve does, and
// found is false when none has it (a folder or the bundled library may).
// A source no longer in steward.yaml is an error: its commit cannot be
// read, and nothing else runs in place of its runbooks.
func (r *Resolver) ResolveFrom(ctx context.Context, name string, from runbooks.Pinned) (doc *runbooks.Document, found bool, err error) {
	for _, src := range r.Sources {
		if src.Name != from.Source || src.Kind == config.SourceFolder {
			continue
		}
		repo, err := Open(src, r.Home, r.GitHub)
		if err != nil {
			return nil, false, err
		}
		snap, err := read(ctx, repo, src, from.Commit)
		if err != nil {
			return nil, false, err
		}
		if d, _ := snap.find(name); d != nil {
			return d, true, nil
		}
		return r.resolve(ctx, name, "", src.Name)
	}
	return nil, false, fmt.Errorf("the calling runbook was read from commit %s of source %q, which steward.yaml no longer has as a Git or GitHub source: its sub-runs read their runbooks from that commit", short(from.Commit), from.Source)
}

// resolve is Resolve, skipping the source named skip.
func (r *Resolver) resolve(ctx context.Context, name, ref, skip string) (doc *runbooks.Document, found bool, err error) {
	var refused error
	for _, src := range r.Sources {
		if src.Kind != config.SourceGit && src.Kind != config.SourceGitHub || src.Name == skip {
			continue
		}
		st, err := LoadState(r.Home, src.Name)
		if err != nil {
			return nil, false, err
		}
		commit := ""
		if st.Pin != nil {
			commit = st.Pin.Commit
		}
		if ref == "" && commit == "" {
			continue // never synced: steward sources sync NAME
		}
		repo, err := Open(src, r.Home, r.GitHub)
		if err != nil {
			return nil, false, err
		}
		if ref == "" && st.Pin.Policy != policyKey(src) {
			// steward.yaml's policy changed since the pin was checked: the
			// pin runs only if it passes the policy of now.
			if err := checkPolicy(ctx, repo, src, commit); err != nil {
				return nil, false, err
			}
		}
		if ref != "" {
			pinned := commit != "" && len(ref) >= 7 && strings.HasPrefix(commit, ref)
			if !pinned && !allowed(src.AllowRefs, ref) {
				refused = fmt.Errorf("%w: %s allows no run of %q (allow_refs: %v; the pin is %s)", ErrRefNotAllowed, src.Name, ref, src.AllowRefs, short(commit))
				continue
			}
			if !pinned {
				if commit, err = repo.Resolve(ctx, ref); err != nil {
					return nil, false, err
				}
				if err := checkPolicy(ctx, repo, src, commit); err != nil {
					return nil, false, err
				}
			}
		}
		snap, err := read(ctx, repo, src, commit)
		if err != nil {
			return nil, false, err
		}
		if d, _ := snap.find(name); d != nil {
			return d, true, nil
		}
	}
	if refused != nil {
		return nil, false, refused
	}
	if ref != "" {
		return nil, false, fmt.Errorf("%w: no Git source has %s@%s", runbooks.ErrNotFound, name, ref)
	}
	return nil, false, nil
}

// allowed says whether ref matches one of the patterns.
func allowed(patterns []string, ref string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, ref); ok {
			return true
		}
	}
	return false
}

// HasGit says whether any source is a Git or GitHub repository.
func HasGit(list []config.Source) bool {
	for _, s := range list {
		if s.Kind == config.SourceGit || s.Kind == config.SourceGitHub {
			return true
		}
	}
	return false
}

// Files returns the folder of the runbook at file (a slash path inside
// the repository) in commit's tree, for a run read from that commit
// that goes on (approve, resume): the same files it started with.
func (r *Resolver) Files(ctx context.Context, source, commit, file string) (fs.FS, error) {
	for _, src := range r.Sources {
		if src.Name != source || src.Kind == config.SourceFolder {
			continue
		}
		repo, err := Open(src, r.Home, r.GitHub)
		if err != nil {
			return nil, err
		}
		snap, err := read(ctx, repo, src, commit)
		if err != nil {
			return nil, err
		}
		if _, ok := snap.tree[file]; !ok {
			return nil, fmt.Errorf("sources: %s has no %s at %s", source, file, short(commit))
		}
		return snap.document(file).Files()
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownSource, source)
}

// Documents returns the runbooks of every pinned Git and GitHub source,
// in the sources' order, for a listing (runbooks.ListWith). In a source,
// the runbooks directly in its path come first, as a name finds them.
func (r *Resolver) Documents(ctx context.Context) ([]*runbooks.Document, error) {
	var out []*runbooks.Document
	for _, src := range r.Sources {
		if src.Kind == config.SourceFolder {
			continue
		}
		st, err := LoadState(r.Home, src.Name)
		if err != nil {
			return nil, err
		}
		if st.Pin == nil {
			continue
		}
		repo, err := Open(src, r.Home, r.GitHub)
		if err != nil {
			return nil, err
		}
		snap, err := read(ctx, repo, src, st.Pin.Commit)
		if err != nil {
			return nil, err
		}
		docs := snap.documents()
		sort.SliceStable(docs, func(i, j int) bool {
			return path.Dir(docs[i].Pinned.Path) == src.Path && path.Dir(docs[j].Pinned.Path) != src.Path
		})
		out = append(out, docs...)
	}
	return out, nil
}
