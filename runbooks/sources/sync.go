package sources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/schema"
)

// Syncer syncs sources: the piece steward sources sync, a poll loop of
// steward serve and its push webhook call.
type Syncer struct {
	Home string
	// Catalog checks each step's action and with (the installed
	// plugins), as steward validate does; Also adds checks of each
	// runbook (approvers against steward.yaml).
	Catalog schema.Catalog
	Also    []func(*schema.Runbook) schema.Diagnostics
	GitHub  GitHubOptions
	Now     func() time.Time

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one sync of a source at a time
}

// Result is the outcome of a sync.
type Result struct {
	Source   string             `json:"source"`
	Repo     string             `json:"repo"`
	Ref      string             `json:"ref"`
	Commit   string             `json:"commit"`             // the ref's commit
	Previous string             `json:"previous,omitempty"` // the pin before
	Pinned   bool               `json:"pinned"`             // Commit is the pin now
	Changes  Changes            `json:"changes"`            // from Previous to Commit
	Runbooks int                `json:"runbooks"`
	Problems schema.Diagnostics `json:"problems,omitempty"`
}

func (s *Syncer) lock(name string) func() {
	s.mu.Lock()
	if s.locks == nil {
		s.locks = map[string]*sync.Mutex{}
	}
	m := s.locks[name]
	if m == nil {
		m = &sync.Mutex{}
		s.locks[name] = m
	}
	s.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Sync fetches the source, resolves its ref, checks the policy and
// validates every runbook at the new commit; only when all is well does
// the commit become the pin. A refused commit leaves the pin as it was
// and is recorded as the last attempt, with its problems; the error is
// then ErrInvalid, ErrUnprotected or ErrUnsigned (wrapped). For GitHub
// the outcome is posted as the commit status steward/validate.
func (s *Syncer) Sync(ctx context.Context, src config.Source) (*Result, error) {
	if src.Kind != config.SourceGit && src.Kind != config.SourceGitHub {
		return nil, fmt.Errorf("sources: %s is a folder: there is nothing to pin", src.Name)
	}
	defer s.lock(src.Name)()
	st, err := LoadState(s.Home, src.Name)
	if err != nil {
		return nil, err
	}
	st.Kind, st.Ref = src.Kind, src.Ref
	res, err := s.sync(ctx, src, st)
	att := &Attempt{At: s.now()}
	if res != nil {
		att.Commit, att.Pinned, att.Problems = res.Commit, res.Pinned, res.Problems
	}
	if err != nil {
		att.Error = err.Error()
	}
	st.Last = att
	if serr := st.save(s.Home); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

func (s *Syncer) sync(ctx context.Context, src config.Source, st *State) (*Result, error) {
	r, err := Open(src, s.Home, s.GitHub)
	if err != nil {
		return nil, err
	}
	st.Repo = r.Name()
	if err := r.Fetch(ctx); err != nil {
		return nil, err
	}
	commit, err := r.Resolve(ctx, src.Ref)
	if err != nil {
		return nil, err
	}
	res := &Result{Source: src.Name, Repo: r.Name(), Ref: src.Ref, Commit: commit}
	var old Tree
	if st.Pin != nil {
		res.Previous, old = st.Pin.Commit, st.Pin.Tree
	}
	// A poll that finds the same commit with the same outcome posts no
	// status again.
	report := func(ctx context.Context, r Repo, commit string, ok bool, desc string) {
		if last := st.Last; last != nil && last.Commit == commit && last.Pinned == ok {
			return
		}
		postStatus(ctx, r, commit, ok, desc)
	}
	if err := checkPolicy(ctx, r, src, commit); err != nil {
		report(ctx, r, commit, false, err.Error())
		return res, err
	}
	snap, err := read(ctx, r, src, commit)
	if err != nil {
		return res, err
	}
	res.Changes = Diff(old, snap.tree)
	problems, n := snap.check(s.Catalog, s.Also)
	res.Runbooks = n
	if errs, _ := problems.Count(); errs > 0 {
		res.Problems = problems
		report(ctx, r, commit, false, count(errs, "problem")+" in "+count(n, "runbook"))
		return res, fmt.Errorf("%w: %s", ErrInvalid, count(errs, "problem"))
	}
	res.Problems = problems // warnings only
	if res.Previous != commit {
		st.Pin = &Pin{Commit: commit, PinnedAt: s.now(), Runbooks: n, Tree: snap.tree}
	}
	st.Pin.Policy = policyKey(src)
	res.Pinned = true
	report(ctx, r, commit, true, count(n, "runbook")+" valid")
	return res, nil
}

// postStatus posts the outcome of validating commit where the repository
// keeps commit statuses; failing to post does not change the outcome.
func postStatus(ctx context.Context, r Repo, commit string, ok bool, desc string) {
	_ = r.Report(ctx, commit, ok, desc)
}

// checkPolicy refuses a commit that the source's policy does not allow:
// not reachable from the protected branch, not signed by an allowed key.
func checkPolicy(ctx context.Context, r Repo, src config.Source, commit string) error {
	if b := src.ProtectedBranch; b != "" {
		ok, err := r.Reachable(ctx, commit, b)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: commit %s is not reachable from %s", ErrUnprotected, short(commit), b)
		}
	}
	if src.Signature != "" {
		if err := r.VerifySignature(ctx, commit); err != nil {
			return err
		}
	}
	return nil
}

// policyKey names a source's policy: what a pin was checked against.
func policyKey(src config.Source) string {
	return strings.Join([]string{src.ProtectedBranch, src.Signature, src.Signers}, "\x00")
}

// IsRefused says whether err is a commit refused by validation or
// policy, as opposed to a failure to reach the repository.
func IsRefused(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnprotected) || errors.Is(err, ErrUnsigned)
}

func count(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
