package runs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/engine/journal"
)

// MaxCandidates is how many runs an AmbiguousError names at most.
const MaxCandidates = 10

// MaxMatches bounds the runs Resolve reads for one prefix: past it the
// prefix is ambiguous whatever they are.
const MaxMatches = 1000

// ErrAmbiguous: a run id prefix matches several runs; the error is an
// *AmbiguousError naming them.
var ErrAmbiguous = errors.New("runs: ambiguous run id")

// AmbiguousError: the prefix matches several runs.
type AmbiguousError struct {
	Prefix string
	// Candidates are the runs it matches, newest first, at most
	// MaxCandidates of them; More is how many others it matches, at
	// least: Unread says it matches more than Resolve read.
	Candidates []journal.Run
	More       int
	Unread     bool
}

func (e *AmbiguousError) Error() string {
	more := ""
	if e.Unread {
		more = "more than "
	}
	return fmt.Sprintf("run id %q is ambiguous: it matches %s%d runs", e.Prefix, more, len(e.Candidates)+e.More)
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// Resolve returns the id of the run that ref names: a whole run id, or a
// unique prefix of one, or of a part of one after a dash (run
// 20261121-101502-3fa9c2d1 is also "20261121-1015", "101502-3f" and
// "3fa9c2"). A run id that exists is itself, whatever it is a prefix of.
// A prefix that matches a run and its sub-runs (ID.STEP) names the run.
// It returns ErrNotFound when nothing matches, and an *AmbiguousError
// (errors.Is ErrAmbiguous) when several runs do.
func (s *Service) Resolve(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", ErrNotFound
	}
	if _, err := s.cfg.Store.Run(ctx, ref); err == nil {
		return ref, nil
	} else if !errors.Is(err, journal.ErrRunNotFound) {
		return "", storeErr(err)
	}
	var found []journal.Run
	err := s.cfg.Store.Runs(ctx, journal.Filter{IDPrefix: ref, Limit: MaxMatches + 1}, func(r journal.Run) error {
		found = append(found, r)
		return nil
	})
	if err != nil {
		return "", storeErr(err)
	}
	return ResolveAmong(ref, found)
}

// ResolveAmong is Resolve of a ref that is not a run's id, among found:
// the runs whose ids ref starts, newest first (journal.Filter.IDPrefix),
// at most MaxMatches+1 of them. A client of the API resolves a prefix
// with it, as Resolve does.
func ResolveAmong(ref string, found []journal.Run) (string, error) {
	// A sub-run is named by its own id; a prefix of its run's names
	// the run.
	ids := make(map[string]bool, len(found))
	for _, r := range found {
		ids[r.ID] = true
	}
	var matches []journal.Run
	for _, r := range found {
		if !hasAncestor(r.ID, ids) {
			matches = append(matches, r)
		}
	}
	switch {
	case len(matches) == 0:
		return "", ErrNotFound
	case len(matches) == 1 && len(found) <= MaxMatches:
		return matches[0].ID, nil
	}
	e := &AmbiguousError{Prefix: ref, Candidates: matches}
	if len(matches) > MaxCandidates {
		e.Candidates, e.More = matches[:MaxCandidates], len(matches)-MaxCandidates
	}
	e.Unread = len(found) > MaxMatches
	return "", e
}

// hasAncestor says whether id is a sub-run (ROOT.STEP[.INDEX]...) of a run
// in ids.
func hasAncestor(id string, ids map[string]bool) bool {
	for i := strings.LastIndexByte(id, '.'); i > 0; i = strings.LastIndexByte(id, '.') {
		id = id[:i]
		if ids[id] {
			return true
		}
	}
	return false
}
