package runs

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// ContinueRequest names a recorded run to go on with.
type ContinueRequest struct {
	RunID string
	// By is who continues it (resumes, decides, cancels).
	By string
	// Secrets are the run's secret inputs, given again as text (the
	// journal never keeps them), by input name.
	Secrets map[string]string
	// Redact collects the run's secrets, as in Prepare; nil: a new set.
	Redact *redact.Set
	// Deciding, when set, is the step the caller goes on to decide
	// (Continuation.Decide): when it waits for no decision and one is
	// recorded, Continue fails with *AlreadyDecidedError rather than
	// with the run's end or its execution elsewhere.
	Deciding string
}

// Continuation is a recorded run ready to go on: the exact runbook
// version it started with, checked against this execution's actions,
// its inputs, and what the journal says of its steps.
type Continuation struct {
	x      *execution
	st     *journal.State
	inputs map[string]any
	// deciding maps the step a caller decides to its path from this run,
	// when the caller named a sub-run (see Continue).
	deciding map[string]string
}

// State is what the journal held of the run when it was loaded (or after
// the last Decide).
func (c *Continuation) State() *journal.State { return c.st }

// Runbook is the runbook version the run started with.
func (c *Continuation) Runbook() *schema.Runbook { return c.x.rb }

// Continue prepares a recorded run to go on. It fails with ErrNotFound,
// an *AlreadyDecidedError (see Deciding), a *SubRunError, an
// *EndedError, a *journal.BusyError (another execution holds it), a
// *SourceError (its runbook source in the journal was changed), an
// *InvalidRunbookError (its version no longer validates here), or an
// *InputError or *MissingSecretsError (secret inputs).
//
// A sub-run goes on with the run it belongs to: Continue of a sub-run
// fails with a *SubRunError, unless Deciding is set; then the
// continuation is its top run's, and its Decide records the decision on
// Deciding in the sub-run.
func (s *Service) Continue(ctx context.Context, req ContinueRequest) (*Continuation, error) {
	st, err := s.load(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	if err := s.decidedAlready(ctx, st, req.Deciding); err != nil {
		return nil, err
	}
	if root := RootRun(st.Run.ID); root != st.Run.ID && req.Deciding != "" {
		path := strings.TrimPrefix(st.Run.ID, root+".") + "." + req.Deciding
		top := req
		top.RunID, top.Deciding = root, path
		c, err := s.Continue(ctx, top)
		if err != nil {
			return nil, err
		}
		c.deciding = map[string]string{req.Deciding: path}
		return c, nil
	}
	if err := s.goesOn(ctx, st); err != nil {
		if req.Deciding != "" {
			// Decided since it was loaded, and going on elsewhere with
			// that decision: say who decided.
			if now, lerr := s.load(ctx, req.RunID); lerr == nil {
				if derr := s.decidedAlready(ctx, now, req.Deciding); derr != nil {
					return nil, derr
				}
			}
		}
		return nil, err
	}
	return s.continuation(ctx, st, req)
}

// load reads a run's state from the journal.
func (s *Service) load(ctx context.Context, id string) (*journal.State, error) {
	st, err := journal.Load(ctx, s.cfg.Store, id)
	if err != nil {
		return nil, storeErr(err)
	}
	return st, nil
}

// goesOn checks that a run may go on here: a top-level run that has not
// ended and that no execution holds.
func (s *Service) goesOn(ctx context.Context, st *journal.State) error {
	if st.Run.Parent != "" {
		return &SubRunError{ID: st.Run.ID, Parent: st.Run.Parent, Root: RootRun(st.Run.ID)}
	}
	if st.Terminal() {
		return &EndedError{ID: st.Run.ID, Status: st.Run.Status}
	}
	l, live, err := s.lease(ctx, st)
	if err != nil {
		return err
	}
	if live {
		return &journal.BusyError{Lease: l}
	}
	return nil
}

// lease returns the run's lease and whether it is live. The execution of
// a run records that it waits, then releases the lease: in between, the
// run reads waiting and its lease is live. A run recorded as waiting
// whose lease is live is so waited for, at most LeaseTTL (by which a dead
// holder's lease has expired too), rather than taken for executing: an
// approval or cancel sent as soon as a run reads waiting goes through.
func (s *Service) lease(ctx context.Context, st *journal.State) (journal.Lease, bool, error) {
	deadline := s.cfg.Clock.Now().Add(s.cfg.LeaseTTL)
	for {
		now := s.cfg.Clock.Now()
		l, live, err := s.cfg.Store.Lease(ctx, st.Run.ID, now)
		if err != nil {
			return l, live, storeErr(err)
		}
		if !live || st.Run.Status != string(engine.StatusWaiting) || !now.Before(deadline) {
			return l, live, nil
		}
		select {
		case <-ctx.Done():
			return l, live, ctx.Err()
		case <-s.cfg.Clock.After(10 * time.Millisecond):
		}
	}
}

func (s *Service) continuation(ctx context.Context, st *journal.State, req ContinueRequest) (*Continuation, error) {
	doc, err := s.recorded(ctx, st)
	if err != nil {
		return nil, err
	}
	x := s.newExecution(req.Redact)
	x.opts.Files, _ = doc.Files()
	x.opts.DryRun, x.opts.Actor, x.opts.Version = st.Run.DryRun, st.Run.Actor, st.Version
	x.doc = doc
	x.rb, x.diags = schema.Check(doc.File, doc.Src, x.reg)
	if len(x.diags) > 0 {
		return nil, &InvalidRunbookError{File: doc.File, RunID: st.Run.ID, Diagnostics: x.diags}
	}
	inputs, err := recordedInputs(x.rb, st, req.Secrets)
	if err != nil {
		return nil, err
	}
	x.by = req.By
	x.readFrom(st.Run.ID, st.Origin)
	c := &Continuation{x: x, st: st, inputs: inputs}
	c.resumeFrom(st)
	return c, nil
}

// recorded returns the runbook the run started with (see source), for
// it to go on with: its files are the runbook's folder as it is now (a
// data file read before the stop is not read again: the step finished,
// its outputs are reused), or, for a runbook read from a pinned commit,
// that commit's tree, which does not change.
func (s *Service) recorded(ctx context.Context, st *journal.State) (*runbooks.Document, error) {
	src, err := s.source(ctx, st)
	if err != nil {
		return nil, err
	}
	doc := &runbooks.Document{File: src.File, Src: src.Src, SHA256: src.SHA256}
	if o := st.Origin; o.Source != "" {
		var files fs.FS
		if s.cfg.PinnedFiles != nil {
			files, _ = s.cfg.PinnedFiles(ctx, o)
		}
		doc = runbooks.NewPinned(src.Src, runbooks.Pinned{Source: o.Source, Repo: o.Repo, Commit: o.Commit, Path: o.Path, Blob: o.Blob}, files)
		doc.File = src.File
	}
	return doc, nil
}

// source returns the runbook source the run started with: the one whose
// SHA-256 its run.started record names, checked, since the store's
// sources table sits outside the hash chain. It fails with a
// *SourceError when the stored content does not hash to that version.
func (s *Service) source(ctx context.Context, st *journal.State) (journal.Source, error) {
	if st.Version == "" {
		return journal.Source{}, &SourceError{RunID: st.Run.ID}
	}
	src, err := s.cfg.Store.Source(ctx, st.Version)
	if err != nil {
		return journal.Source{}, storeErr(fmt.Errorf("run %s: its runbook version %s: %w", st.Run.ID, short(st.Version), err))
	}
	if got := journal.HashBody(src.Src); got != st.Version {
		return journal.Source{}, &SourceError{RunID: st.Run.ID, Want: st.Version, Got: got}
	}
	return src, nil
}

// resumeFrom makes the execution go on from where the journal says the
// run stands.
func (c *Continuation) resumeFrom(st *journal.State) {
	x := c.x
	resume := *st.Resume
	resume.By = x.by
	x.opts.Resume = &resume
	x.opts.Approver = x.s.approver(st.Approver(x.s.cfg.Clock.Now))
	x.run = st.Run
	x.run.FinishedAt = time.Time{}
	c.st = st
}

// current makes the continuation go on from the run's journal as it is
// now, under the run's lease (execute calls it once the lease is held):
// not from the state Continue loaded. Between the two, another process
// may have gone on with the run (a replica resuming it, a resume racing
// an approval) or ended it; going on from the state loaded would run
// again a step that does not mutate and finished meanwhile. Under the
// lease no other execution records anything of the run; the records
// written without it meanwhile (a decision, Cancel's own request, which
// Cancel records after it loaded the run) are read with the rest. A run
// that ended meanwhile is an *EndedError, with nothing recorded; one
// that moved on goes on from where it stands now (waiting for another
// approval: the result says so, and nothing runs).
func (c *Continuation) current(ctx context.Context) error {
	st, err := c.x.s.load(ctx, c.st.Run.ID)
	if err != nil {
		return err
	}
	if st.Terminal() {
		return &EndedError{ID: st.Run.ID, Status: st.Run.Status}
	}
	c.resumeFrom(st)
	return nil
}

// Run executes the run from where it stands, under its lease, and
// returns its redacted document. progress receives each event once it is
// recorded; may be nil. It fails with an *EndedError when the run ended
// since Continue loaded it.
func (c *Continuation) Run(ctx context.Context, progress engine.Sink) (*engine.Result, error) {
	return c.x.execute(ctx, c.inputs, progress, false, c.current)
}

// RunCancelled executes the run with its cancellation: no step starts,
// and the undo of the steps that finished runs. It fails with an
// *EndedError when the run ended since Continue loaded it.
func (c *Continuation) RunCancelled(ctx context.Context, progress engine.Sink) (*engine.Result, error) {
	return c.x.execute(ctx, c.inputs, progress, true, c.current)
}

// recordedInputs are the run's inputs from its run.started record, with
// the secret ones, which the journal never holds, given again.
func recordedInputs(rb *schema.Runbook, st *journal.State, given map[string]string) (map[string]any, error) {
	inputs := map[string]any{}
	for k, v := range st.Inputs {
		inputs[k] = v
	}
	supplied := map[string]string{}
	for k, v := range given {
		supplied[k] = v
	}
	var missing []string
	for _, in := range rb.Inputs {
		val, ok := supplied[in.Name]
		delete(supplied, in.Name)
		if !in.Secret {
			if ok {
				return nil, &InputError{Input: in.Name, Message: fmt.Sprintf("--input %s: only secret inputs are given again; the others are the run's own", in.Name)}
			}
			continue
		}
		if _, had := st.Inputs[in.Name]; !had {
			continue
		}
		if !ok {
			missing = append(missing, in.Name)
			continue
		}
		v, err := engine.ParseInput(in, val)
		if err != nil {
			return nil, &InputError{Input: in.Name, Message: fmt.Sprintf("--input %s: is not a valid %s", in.Name, in.Type)}
		}
		inputs[in.Name] = v
	}
	if unknown := slices.Sorted(maps.Keys(supplied)); len(unknown) > 0 { // the first by name, every time
		return nil, &InputError{Input: unknown[0], Message: fmt.Sprintf("--input %s: %s has no such input", unknown[0], rb.Name)}
	}
	if len(missing) > 0 {
		return nil, &MissingSecretsError{Inputs: missing}
	}
	return inputs, nil
}

// RootRun is the top run of a sub-run's id (PARENT.STEP[.INDEX]): the one
// whose execution holds the lease.
func RootRun(id string) string {
	root, _, _ := strings.Cut(id, ".")
	return root
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
