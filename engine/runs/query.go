package runs

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// StatusInterrupted is the status of a run that was being executed when
// its execution stopped without ending it (the process died, the machine
// restarted): its lease is no longer live. The journal records it as
// running; resume continues it.
const StatusInterrupted = "interrupted"

// Summary is a run as listed: its summary from the store, and whether it
// is interrupted.
type Summary struct {
	journal.Run
	// Interrupted is set for a running run whose lease (its top run's)
	// is not live; Status then reads "interrupted".
	Interrupted bool `json:"interrupted,omitempty"`
}

// Run is everything known of one run: its recorded state, and who
// executes it now.
type Run struct {
	State *journal.State
	// Lease is the lease of the run's top run, when one is recorded;
	// Live says whether it is live.
	Lease *journal.Lease
	Live  bool
	// Interrupted: the run is running in the journal, and nothing
	// executes it.
	Interrupted bool
}

// Get returns a run: ErrNotFound when the journal has none with that id.
func (s *Service) Get(ctx context.Context, id string) (*Run, error) {
	// The lease is read before the records: a run that ends in between
	// is then read ended, never running without a live lease
	// (interrupted), which a run is only when its executor is gone.
	l, live, lerr := s.cfg.Store.Lease(ctx, RootRun(id), s.cfg.Clock.Now())
	st, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if lerr != nil {
		return nil, storeErr(lerr)
	}
	r := &Run{State: st}
	if l.RunID != "" {
		r.Lease = &l
	}
	r.Live = live
	r.Interrupted = st.Run.Status == string(engine.StatusRunning) && !live
	if r.Interrupted {
		st.Run.Status = StatusInterrupted
	}
	return r, nil
}

// Filter selects runs: the store's filter, whose Status may also be
// StatusInterrupted.
type Filter = journal.Filter

// List calls fn with each run f selects, newest first, with interrupted
// runs told from running ones, one at a time: a listing of the whole
// journal holds one run in memory. An error from fn stops the listing
// and is returned.
func (s *Service) List(ctx context.Context, f Filter, fn func(Summary) error) error {
	want, limit := f.Status, f.Limit
	if want == StatusInterrupted || want == string(engine.StatusRunning) {
		// Whether a running run is live is known here only: filter after.
		f.Status, f.Limit = string(engine.StatusRunning), 0
	}
	now := s.cfg.Clock.Now()
	n := 0
	var ferr error
	err := s.cfg.Store.Runs(ctx, f, func(r journal.Run) error {
		sum := Summary{Run: r}
		if r.Status == string(engine.StatusRunning) {
			if _, live, err := s.cfg.Store.Lease(ctx, RootRun(r.ID), now); err == nil && !live {
				sum.Interrupted, sum.Status = true, StatusInterrupted
			}
		}
		if want != "" && sum.Status != want {
			return nil
		}
		if ferr = fn(sum); ferr != nil {
			return ferr
		}
		if n++; limit > 0 && n == limit {
			return errListed
		}
		return nil
	})
	switch {
	case ferr != nil:
		return ferr
	case err != nil && err != errListed:
		return storeErr(err)
	}
	return nil
}

// errListed stops a listing at its limit.
var errListed = errors.New("runs: listed enough")
