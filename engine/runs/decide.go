package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// DecideRequest is a person's decision on what a run waits for.
type DecideRequest struct {
	RunID string // for Service.Decide
	// Step is the step of the run, or the path from it of a step of one
	// of its sub-runs: SUB.STEP decides step STEP of the sub-run RUN.SUB
	// (engine.Question).
	Step     string
	Approved bool
	By       string
	Comment  string
}

// Decided is a recorded decision.
type Decided struct {
	// RunID is the run it is recorded in: the sub-run's for a step of a
	// sub-run.
	RunID       string
	Step        string
	Approved    bool
	By          string
	Interrupted bool // a decision to run again an interrupted attempt
}

// Decide records a decision on a waiting run without executing it: the
// run goes on when it is resumed (by the caller, or by whichever
// execution holds it). It fails with ErrNotFound, *AlreadyDecidedError
// (the step's question was decided, by anyone, before this decision was
// recorded), *EndedError, ErrNotWaiting, *ExpiredError (nothing
// recorded: the step fails when the run goes on) or *RefusedError.
func (s *Service) Decide(ctx context.Context, req DecideRequest) (*Decided, error) {
	st, err := s.load(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	if err := s.decidedAlready(ctx, st, req.Step); err != nil {
		return nil, err
	}
	if st.Terminal() {
		return nil, &EndedError{ID: st.Run.ID, Status: st.Run.Status}
	}
	// Checked: approvers and timeouts come from it.
	src, err := s.source(ctx, st)
	if err != nil {
		return nil, err
	}
	// The approval's approvers and timeout are in the runbook: parsing
	// it needs no plugin.
	rb, _ := schema.Check(src.File, src.Src, s.newExecution(nil).reg)
	return s.decide(ctx, st, rb, req)
}

// Decide records a decision on what the continued run waits for; Run then
// goes on with it.
func (c *Continuation) Decide(ctx context.Context, req DecideRequest) (*Decided, error) {
	if path, ok := c.deciding[req.Step]; ok {
		req.Step = path
	}
	d, err := c.x.s.decide(ctx, c.st, c.x.rb, req)
	if err != nil {
		return d, err
	}
	st, err := c.x.s.load(ctx, c.st.Run.ID)
	if err != nil {
		return d, err
	}
	c.resumeFrom(st)
	return d, nil
}

// decide records req on the question st says the step waits for, once:
// the record claims the question's key (journal.Waiting.DecisionKey), so
// that of decisions made at once on the same question, by any process,
// one is recorded and the others fail with *AlreadyDecidedError.
func (s *Service) decide(ctx context.Context, st *journal.State, rb *schema.Runbook, req DecideRequest) (*Decided, error) {
	if sub, step, ok := nestedStep(st.Run.ID, req.Step); ok {
		return s.decideIn(ctx, sub, step, req)
	}
	w, err := s.mayDecide(st, rb, req.Step, req.By)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	data, err := json.Marshal(&journal.Data{Step: req.Step, Approved: req.Approved, By: req.By, Comment: req.Comment, Interrupted: w.Interrupted})
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Store.Append(ctx, journal.Batch{RunID: st.Run.ID, Sync: true, Once: w.DecisionKey(),
		Entries: []journal.Entry{{Type: journal.ApprovalDecided, Time: now, Data: data}}})
	var dup *journal.DuplicateError
	switch {
	case errors.As(err, &dup):
		return nil, s.decidedBy(ctx, st.Run.ID, req.Step, dup.Seq)
	case errors.Is(err, journal.ErrRunEnded):
		return nil, s.endedSince(ctx, st.Run.ID, req.Step)
	case err != nil:
		return nil, storeErr(err)
	}
	return &Decided{RunID: st.Run.ID, Step: req.Step, Approved: req.Approved, By: req.By, Interrupted: w.Interrupted}, nil
}

// nestedStep splits a step path SUB.STEP of run id into the sub-run
// id.SUB and its step STEP; ok is false for a plain step id (step ids
// have no dots).
func nestedStep(id, path string) (sub, step string, ok bool) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return id, path, false
	}
	return id + "." + path[:i], path[i+1:], true
}

// decideIn records req on step of the sub-run sub, with the approvers and
// timeout of the sub-run's runbook. The sub-run goes on with its parent,
// as before: only the decision is recorded in it.
func (s *Service) decideIn(ctx context.Context, sub, step string, req DecideRequest) (*Decided, error) {
	st, err := journal.Load(ctx, s.cfg.Store, sub)
	switch {
	case errors.Is(err, journal.ErrRunNotFound):
		return nil, fmt.Errorf("%w: %s names no sub-run: no run %s in the journal", ErrNotWaiting, req.Step, sub)
	case err != nil:
		return nil, storeErr(err)
	}
	if err := decidedAlready(st, step); err != nil {
		return nil, err
	}
	src, err := s.source(ctx, st)
	if err != nil {
		return nil, err
	}
	rb, _ := schema.Check(src.File, src.Src, s.newExecution(nil).reg)
	req.Step = step
	return s.decide(ctx, st, rb, req)
}

// decidedAlready is decidedAlready of the run that holds step: the
// sub-run of a path SUB.STEP.
func (s *Service) decidedAlready(ctx context.Context, st *journal.State, step string) error {
	sub, id, ok := nestedStep(st.Run.ID, step)
	if !ok {
		return decidedAlready(st, step)
	}
	subSt, err := journal.Load(ctx, s.cfg.Store, sub)
	if err != nil {
		return nil // no such sub-run: deciding says so
	}
	return decidedAlready(subSt, id)
}

// decidedAlready is an *AlreadyDecidedError when the step waits for no
// decision and one was recorded on it: its last.
func decidedAlready(st *journal.State, step string) error {
	if step == "" {
		return nil
	}
	for _, w := range st.Waiting {
		if w.Step == step {
			return nil
		}
	}
	for i := len(st.Decisions) - 1; i >= 0; i-- {
		if d := st.Decisions[i]; d.Step == step {
			return &AlreadyDecidedError{RunID: st.Run.ID, Step: step, By: d.By, Approved: d.Approved, Interrupted: d.Interrupted, Seq: d.Seq}
		}
	}
	return nil
}

// decidedBy is the *AlreadyDecidedError of the decision record seq.
func (s *Service) decidedBy(ctx context.Context, runID, step string, seq int64) error {
	rec, ok, err := s.cfg.Store.Record(ctx, seq)
	if err != nil {
		return storeErr(err)
	}
	e := &AlreadyDecidedError{RunID: runID, Step: step, Seq: seq}
	if ok {
		if d, err := rec.Decode(); err == nil {
			e.By, e.Approved, e.Interrupted = d.By, d.Approved, d.Interrupted
		}
	}
	return e
}

// endedSince is why nothing could be recorded of a run that ended after
// it was loaded: the step was decided meanwhile (*AlreadyDecidedError), or
// the run ended otherwise (*EndedError).
func (s *Service) endedSince(ctx context.Context, runID, step string) error {
	st, err := s.load(ctx, runID)
	if err != nil {
		return err
	}
	if err := decidedAlready(st, step); err != nil {
		return err
	}
	return &EndedError{ID: runID, Status: st.Run.Status}
}

// MayDecide says whether by may decide what step of run id waits for
// now (step as Decide takes it: SUB.STEP for a step of a sub-run), by the
// rules Decide applies (the step's approvers, four eyes, the change's
// subjects, the approval's timeout), recording nothing: nil, or the error
// Decide would return (*RefusedError, *ExpiredError, ErrNotWaiting,
// *AlreadyDecidedError, *EndedError, ErrNotFound). The web console asks
// it to show who may decide, and why not.
func (s *Service) MayDecide(ctx context.Context, id, step, by string) error {
	st, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	if err := s.decidedAlready(ctx, st, step); err != nil {
		return err
	}
	if st.Terminal() {
		return &EndedError{ID: st.Run.ID, Status: st.Run.Status}
	}
	if sub, inner, ok := nestedStep(st.Run.ID, step); ok {
		if st, err = journal.Load(ctx, s.cfg.Store, sub); err != nil {
			if errors.Is(err, journal.ErrRunNotFound) {
				return fmt.Errorf("%w: %s names no sub-run: no run %s in the journal", ErrNotWaiting, step, sub)
			}
			return storeErr(err)
		}
		step = inner
	}
	src, err := s.source(ctx, st)
	if err != nil {
		return err
	}
	rb, _ := schema.Check(src.File, src.Src, s.newExecution(nil).reg)
	_, err = s.mayDecide(st, rb, step, by)
	return err
}

// mayDecide returns the question step of st waits for, once by is known
// to be allowed to decide it now (see MayDecide).
func (s *Service) mayDecide(st *journal.State, rb *schema.Runbook, step, by string) (*journal.Waiting, error) {
	w, err := st.WaitingFor(step)
	if err != nil {
		if derr := decidedAlready(st, step); derr != nil {
			return nil, derr
		}
		return nil, err
	}
	var approvers []string
	var timeout time.Duration
	if rb != nil {
		for _, s := range rb.Steps {
			if s.ID == step && s.Approval != nil {
				approvers, timeout = s.Approval.Approvers, s.Approval.Timeout
			}
		}
	}
	if w.Approvers != nil && !w.Interrupted {
		// As resolved when the step asked: approvers may be templates.
		approvers = w.Approvers
	}
	if now := s.cfg.Clock.Now(); w.Expired(now, timeout) {
		at, _ := w.Expiry(timeout)
		return nil, &ExpiredError{Step: step, At: at, Timeout: timeout}
	}
	if err := s.cfg.Policy.MayDecide(st, w, by, approvers); err != nil {
		return nil, &RefusedError{Err: err}
	}
	return w, nil
}
