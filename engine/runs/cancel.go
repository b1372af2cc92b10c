package runs

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// CancelRequest asks to cancel a run.
type CancelRequest struct {
	ContinueRequest
	Comment string
	// Wait is how long to wait for the execution holding the run to end
	// it; default one minute.
	Wait time.Duration
	// Progress receives the events of a cancellation executed here;
	// Prepared, when set, is called first with the run's runbook.
	Progress engine.Sink
	Prepared func(*schema.Runbook)
}

// Cancelled says how a cancel went.
type Cancelled struct {
	// Status is the run's status afterwards.
	Status string
	// Result is the run's document when the cancellation executed here
	// (the run waited or was interrupted); nil when its execution, in
	// another process or on another host, ended it.
	Result *engine.Result
}

// Cancel records a request to cancel a run, with who asked and why. The
// execution that holds the run observes it at its next heartbeat, wherever
// it runs, and ends the run cancelled (running actions are cancelled, the
// undo of finished steps runs); Cancel waits for that, at most req.Wait. A
// run that nothing executes (waiting for an approval, or interrupted) is
// cancelled here, the same way. It fails with ErrNotFound, *SubRunError,
// *EndedError, *SourceError (the run's stored runbook was changed:
// nothing recorded), *StillRunningError, or an error of Continue.
func (s *Service) Cancel(ctx context.Context, req CancelRequest) (*Cancelled, error) {
	st, err := s.load(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	if st.Run.Parent != "" {
		return nil, &SubRunError{ID: st.Run.ID, Parent: st.Run.Parent, Root: RootRun(st.Run.ID)}
	}
	if st.Terminal() {
		return nil, &EndedError{ID: st.Run.ID, Status: st.Run.Status}
	}
	// A run that nothing executes is cancelled here, with its runbook:
	// refuse an altered one before anything is recorded.
	if _, live, err := s.lease(ctx, st); err != nil {
		return nil, err
	} else if !live {
		if _, err := s.source(ctx, st); err != nil {
			return nil, err
		}
	}
	data, err := json.Marshal(&journal.Data{By: req.By, Comment: req.Comment})
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Store.Append(ctx, journal.Batch{RunID: st.Run.ID, Sync: true, Cancel: true,
		Entries: []journal.Entry{{Type: journal.CancelRequested, Time: s.cfg.Clock.Now(), Data: data}}})
	if errors.Is(err, journal.ErrRunEnded) {
		// It ended since it was loaded: nothing is recorded after.
		now, lerr := s.load(ctx, st.Run.ID)
		if lerr != nil {
			return nil, lerr
		}
		return nil, &EndedError{ID: st.Run.ID, Status: now.Run.Status}
	}
	if err != nil {
		return nil, storeErr(err)
	}
	l, live, err := s.lease(ctx, st)
	if err != nil {
		return nil, err
	}
	if !live {
		c, err := s.continuation(ctx, st, req.ContinueRequest)
		if err != nil {
			return nil, err
		}
		if req.Prepared != nil {
			req.Prepared(c.Runbook())
		}
		// The sub-runs it waits through are cancelled first (they
		// finished after the run's own steps: their undo comes first).
		if err := s.cancelSubRuns(ctx, st, req.By); err != nil {
			return nil, err
		}
		res, err := c.RunCancelled(ctx, req.Progress)
		var ended *EndedError
		if errors.As(err, &ended) {
			// Another execution took the run after the request was
			// recorded and ended it (see Continuation.current): as
			// when it holds the run, below.
			return &Cancelled{Status: ended.Status}, nil
		}
		if err != nil {
			return nil, err
		}
		return &Cancelled{Status: string(res.Status), Result: res}, nil
	}
	wait := req.Wait
	if wait <= 0 {
		wait = time.Minute
	}
	deadline := s.cfg.Clock.Now().Add(wait)
	for {
		_, live, err := s.cfg.Store.Lease(ctx, st.Run.ID, s.cfg.Clock.Now())
		if err != nil {
			return nil, storeErr(err)
		}
		if !live {
			run, err := s.cfg.Store.Run(ctx, st.Run.ID)
			if err != nil {
				return nil, storeErr(err)
			}
			status := run.Status
			if status == string(engine.StatusRunning) {
				status = StatusInterrupted
			}
			return &Cancelled{Status: status}, nil
		}
		if !s.cfg.Clock.Now().Before(deadline) {
			return nil, &StillRunningError{ID: st.Run.ID, Wait: wait, Lease: l}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.cfg.Clock.After(50 * time.Millisecond):
		}
	}
}

// cancelSubRuns cancels the sub-runs a waiting run waits through (its
// questions SUB.STEP, see engine.Question), the deepest first: each ends
// cancelled, the undo of its finished steps run, so that none is left
// waiting for a decision its run will never use.
func (s *Service) cancelSubRuns(ctx context.Context, st *journal.State, by string) error {
	seen := map[string]bool{}
	var ids []string
	for _, w := range st.Waiting {
		if !w.SubRun {
			continue
		}
		// card.inner.refund: card.inner, then card.
		path := w.Step
		for i := strings.LastIndex(path, "."); i > 0; i = strings.LastIndex(path, ".") {
			path = path[:i]
			if id := st.Run.ID + "." + path; !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return strings.Count(ids[i], ".") > strings.Count(ids[j], ".") })
	for _, id := range ids {
		sub, err := s.load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if sub.Terminal() {
			continue
		}
		c, err := s.continuation(ctx, sub, ContinueRequest{RunID: id, By: by})
		if err != nil {
			return err
		}
		var ended *EndedError
		if _, err := c.RunCancelled(ctx, nil); err != nil && !errors.As(err, &ended) {
			return err // ended since it was loaded: nothing to cancel
		}
	}
	return nil
}
