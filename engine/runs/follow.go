package runs

import (
	"context"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
)

// DefaultPoll is how often Events, following a run, looks at the store
// when nothing told it of an append: the fallback for records that
// another process appends and nothing notifies (SQLite).
const DefaultPoll = 100 * time.Millisecond

// Events calls fn with each record of the run, in order, from the one
// after seq after; with follow, it goes on with the records appended
// later until the run ends or waits (or ctx is done).
//
// A follower wakes as soon as records of the run are appended through
// this service (its executions, decisions, cancels), or reported by
// Appended (another replica's, on PostgreSQL: see Watch); otherwise it
// looks every poll (default DefaultPoll), reading the run's records
// again only when the store's head moved.
func (s *Service) Events(ctx context.Context, id string, after int64, follow bool, poll time.Duration, fn func(journal.Record) error) error {
	if _, err := s.cfg.Store.Run(ctx, id); err != nil {
		return storeErr(err)
	}
	if poll <= 0 {
		poll = DefaultPoll
	}
	read := int64(-1) // the store's head when the records were last read
	for {
		// Watched before reading: an append from now on wakes it.
		woken, stop := s.appends.watch(id)
		end, err := s.eventsAfter(ctx, id, &after, &read, fn)
		if err != nil || !follow || end {
			stop()
			return err
		}
		select {
		case <-ctx.Done():
			stop()
			return ctx.Err()
		case <-woken:
		case <-s.cfg.Clock.After(poll):
		}
		stop()
	}
}

// eventsAfter calls fn with the run's records after *after, unless the
// store's head is still *read, and says whether one ended the run.
func (s *Service) eventsAfter(ctx context.Context, id string, after, read *int64, fn func(journal.Record) error) (end bool, err error) {
	head, _, err := s.cfg.Store.Head(ctx)
	if err != nil {
		return false, storeErr(err)
	}
	if head == *read {
		return false, nil // nothing appended to the store since
	}
	*read = head
	err = s.cfg.Store.Records(ctx, id, time.Time{}, func(rec journal.Record) error {
		if rec.Seq <= *after {
			return nil
		}
		*after = rec.Seq
		if rec.Type == string(engine.RunFinished) {
			end = true
		}
		return fn(rec)
	})
	return end, storeErr(err)
}

// Appended tells the followers of run id (Events) that records of it
// were appended: by another process, since the service's own appends
// tell them already.
func (s *Service) Appended(id string) { s.appends.appended(id) }

// Watch tells the followers of runs (Events) of the records any process
// appends, as listen reports them (postgres.Store.Listen), until ctx
// ends or listen fails; it returns listen's error.
func (s *Service) Watch(ctx context.Context, listen func(ctx context.Context, fn func(runID string, seq int64)) error) error {
	return listen(ctx, func(runID string, _ int64) {
		if runID != "" {
			s.appends.appended(runID)
		}
	})
}

// appends wakes the followers of a run when records of it are appended.
type appends struct {
	mu   sync.Mutex
	runs map[string]*appendWait
}

// appendWait is the followers of one run: ch is closed at the next
// append.
type appendWait struct {
	ch chan struct{}
	n  int
}

// watch returns a channel closed when records of run id are appended
// from now on; stop ends the watch.
func (a *appends) watch(id string) (<-chan struct{}, func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runs == nil {
		a.runs = map[string]*appendWait{}
	}
	w := a.runs[id]
	if w == nil {
		w = &appendWait{ch: make(chan struct{})}
		a.runs[id] = w
	}
	w.n++
	return w.ch, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if w.n--; w.n == 0 && a.runs[id] == w {
			delete(a.runs, id)
		}
	}
}

// appended wakes the followers of run id.
func (a *appends) appended(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w := a.runs[id]; w != nil {
		close(w.ch)
		delete(a.runs, id)
	}
}

// notifyingStore is the service's store: each batch it appends wakes the
// followers of its run.
type notifyingStore struct {
	journal.Store
	a *appends
}

func (s notifyingStore) Append(ctx context.Context, b journal.Batch) ([]journal.Record, error) {
	recs, err := s.Store.Append(ctx, b)
	if err == nil && len(recs) > 0 {
		s.a.appended(b.RunID)
	}
	return recs, err
}
