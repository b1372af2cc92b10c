package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// Lease defaults: a holder renews its lease every DefaultHeartbeat, which
// is also how soon it observes a cancel request; a lease not renewed for
// DefaultLeaseTTL has expired.
const (
	DefaultHeartbeat = 500 * time.Millisecond
	DefaultLeaseTTL  = 15 * time.Second
)

// Config is what a Service works with.
type Config struct {
	// Store is the journal. Required.
	Store journal.Store
	// Actions returns the actions of one execution: the built-ins, whose
	// core.runbook runs its sub-runs with subRun, and the plugins.
	// Required.
	Actions func(subRun core.RunFunc) *actions.Registry
	// Resolve finds a runbook by name, for core.runbook: by name only
	// (runbooks.ResolveName), never by path, since the name may come from
	// an input. from is the commit of a Git or GitHub source the calling
	// run's runbook was read from (its origin), whose runbooks a sub-run
	// reads; nil for a runbook read from a folder or the bundled library.
	// Required for runbooks that start sub-runs.
	Resolve func(name string, from *runbooks.Pinned) (*runbooks.Document, error)
	// PinnedFiles, when set, returns the folder of a runbook that was read
	// from a commit of a Git or GitHub source (origin.Source set), in that
	// commit's tree: what core.read_file reads when such a run goes on
	// (approve, resume). Added with runbooks/sources.
	PinnedFiles func(ctx context.Context, origin journal.Origin) (fs.FS, error)
	// Clock is the time of records, leases and approval timeouts; default
	// the real clock.
	Clock clockwork.Clock
	// Secret resolves secret(NAME) in expressions.
	Secret func(name string) (string, bool)
	// Policy says who may decide approvals beside each step's approvers.
	Policy journal.Policy
	// Host and PID name this process in leases and run records.
	Host string
	PID  int
	// MaxSubRuns is how many sub-runs one run may start, all levels
	// together; 0 means engine.DefaultMaxSubRuns.
	MaxSubRuns int
	// Heartbeat and LeaseTTL: defaults DefaultHeartbeat, DefaultLeaseTTL.
	Heartbeat time.Duration
	LeaseTTL  time.Duration
	// Hold, when closed, stops every execution gracefully (steward serve
	// shutting down): see engine.Options.Hold. Their runs are left
	// interrupted, to resume; Start and Run return engine.ErrHeld.
	Hold <-chan struct{}
}

// Service is the run service. It is safe for concurrent use.
type Service struct {
	cfg     Config
	appends *appends // wakes the followers of a run (follow.go)
}

// New returns the service of cfg.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Secret == nil {
		cfg.Secret = func(string) (string, bool) { return "", false }
	}
	s := &Service{cfg: cfg, appends: &appends{}}
	s.cfg.Store = notifyingStore{Store: cfg.Store, a: s.appends}
	return s
}

// Plan is a runbook checked against the actions of the execution that
// will run it. Runbook is nil when the document does not parse.
type Plan struct {
	Doc         *runbooks.Document
	Runbook     *schema.Runbook
	Diagnostics schema.Diagnostics
	x           *execution
}

// Err is an *InvalidRunbookError when the plan cannot run: any
// diagnostic, a warning included (a step whose plugin is not installed
// cannot run).
func (p *Plan) Err() error {
	if len(p.Diagnostics) == 0 {
		return nil
	}
	return &InvalidRunbookError{File: p.Doc.File, Diagnostics: p.Diagnostics}
}

// Prepare checks a runbook for a new run. set collects the run's secrets
// and may already hold some (those of plugin settings); nil means a new
// set.
func (s *Service) Prepare(doc *runbooks.Document, set *redact.Set) *Plan {
	x := s.newExecution(set)
	files, _ := doc.Files()
	x.opts.Files = files
	x.opts.Version = doc.SHA256
	x.rb, x.diags = schema.Check(doc.File, doc.Src, x.reg)
	if p := s.cfg.Policy; p.Config != "" && len(x.diags.Errors()) == 0 {
		// steward.yaml was read: a group it does not define is refused
		// now, as validate does, not when the step asks.
		x.diags = append(x.diags, schema.CheckApprovers(x.rb, p.Groups, p.Config)...)
	}
	x.doc = doc
	return &Plan{Doc: doc, Runbook: x.rb, Diagnostics: x.diags, x: x}
}

// StartRequest is a new run of a prepared runbook.
type StartRequest struct {
	// Inputs are typed values (see engine.ParseInput); missing ones take
	// their defaults.
	Inputs map[string]any
	// Actor is who starts the run.
	Actor    string
	DryRun   bool
	Parallel int // default engine.DefaultParallel
	// Progress receives each event once it is recorded; may be nil. Its
	// first event is run.started, with the run's id.
	Progress engine.Sink
	// Trigger, when set, says what started the run (the API, a
	// schedule, a webhook); its Key, when set, is claimed with the
	// run.started record: see Start.
	Trigger *journal.Trigger
	// Queued, when set, is told when the run waits, before it starts,
	// for an active run that holds its concurrency key (concurrency.go).
	Queued func(holder, key string)
}

// Start records and executes a new run of p, and returns its document
// with secrets redacted: at its end, or when it waits for an approval. It
// returns an *engine.InputsError, and records nothing, when the inputs do
// not fit. When the trigger's key is held by another run (a slot that
// fired, an event already delivered), it returns that
// *journal.DuplicateError (errors.Is journal.ErrDuplicate) and nothing of
// the new run is recorded or executed. When the runbook has a
// concurrency.key, the run first waits while an active run of the
// runbook holds the same key (concurrency.go), telling req.Queued; if ctx
// ends meanwhile it returns ErrQueueCancelled and records nothing.
func (s *Service) Start(ctx context.Context, p *Plan, req StartRequest) (*engine.Result, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	vals, errs := engine.CheckInputs(p.Runbook, req.Inputs)
	if len(errs) > 0 {
		return nil, &engine.InputsError{Errors: errs}
	}
	x := p.x
	x.opts.Actor, x.opts.DryRun, x.opts.Parallel, x.by = req.Actor, req.DryRun, req.Parallel, req.Actor
	// The runbook's concurrency key: wait while an active run holds it
	// (concurrency.go). A dry run changes nothing and waits for no one.
	progress := req.Progress
	key, err := engine.ConcurrencyKey(x.rb, vals, x.opts)
	if err != nil {
		return nil, fmt.Errorf("runs: evaluating concurrency.key: %w", err)
	}
	if key != "" && !req.DryRun {
		release, err := s.awaitKey(ctx, x.rb.Name, key, func(holder string) {
			if req.Queued != nil {
				req.Queued(holder, key)
			}
		})
		if err != nil {
			return nil, err
		}
		defer release()
		progress = engine.SinkFunc(func(e *engine.Event) {
			if e.Type == engine.RunStarted {
				release() // recorded: the key is held by this run now
			}
			if req.Progress != nil {
				req.Progress.Event(e)
			}
		})
	}
	now := s.cfg.Clock.Now()
	x.run, x.source, x.origin = s.newRunRecord(engine.NewRunID(now), x.rb, x.doc, x.opts, now)
	x.origin.Trigger, x.origin.Concurrency = req.Trigger, key
	x.readFrom(x.run.ID, *x.origin)
	return x.execute(ctx, req.Inputs, progress, false, nil)
}

// newRunRecord describes a new run for the journal.
func (s *Service) newRunRecord(id string, rb *schema.Runbook, doc *runbooks.Document, opts engine.Options, now time.Time) (journal.Run, *journal.Source, *journal.Origin) {
	run := journal.Run{ID: id, Runbook: rb.Name, Version: doc.SHA256, Actor: opts.Actor, Status: string(engine.StatusRunning),
		DryRun: opts.DryRun, StartedAt: now, UpdatedAt: now}
	src := &journal.Source{SHA256: doc.SHA256, Name: rb.Name, File: doc.File, Src: doc.Src}
	origin := &journal.Origin{File: doc.File, SHA256: doc.SHA256, Host: s.cfg.Host, PID: s.cfg.PID, Commit: doc.Commit()}
	if p := doc.Pinned; p != nil { // read from a Git or GitHub source's commit
		origin.Source, origin.Repo, origin.Path, origin.Blob = p.Source, p.Repo, p.Path, p.Blob
	}
	return run, src, origin
}

// execution is one journaled execution of a run: a new run, or one that
// goes on (resume, approve, cancel).
type execution struct {
	s      *Service
	doc    *runbooks.Document
	rb     *schema.Runbook
	diags  schema.Diagnostics
	reg    *actions.Registry
	opts   engine.Options
	run    journal.Run
	source *journal.Source // a new run's runbook content
	origin *journal.Origin
	by     string // who starts or continues it: sub-runs go on as them

	// pinned holds, by run id, the commit each run of the execution (the
	// top run and its sub-runs) read its runbook from, when a Git or
	// GitHub source's: the commit its sub-runs read theirs from. Sub-runs
	// of a for_each may start together.
	mu     sync.Mutex
	pinned map[string]*runbooks.Pinned
}

// readFrom remembers the origin of run id, whose sub-runs read their
// runbooks from the same commit when it is a source's.
func (x *execution) readFrom(id string, o journal.Origin) {
	if o.Source == "" { // a folder's or the bundled library's
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.pinned == nil {
		x.pinned = map[string]*runbooks.Pinned{}
	}
	x.pinned[id] = &runbooks.Pinned{Source: o.Source, Repo: o.Repo, Commit: o.Commit, Path: o.Path, Blob: o.Blob}
}

// resolveSubRun finds the runbook of the sub-run that parent's
// core.runbook step starts: from the commit its run was read from (see
// Config.Resolve). A sub-run that started before (the step goes on after
// a wait or a crash) goes on with the version it recorded, as its top
// run does.
func (x *execution) resolveSubRun(name string, parent *actions.Request) (*runbooks.Document, error) {
	ctx := context.Background()
	st, err := journal.Load(ctx, x.s.cfg.Store, engine.SubRunID(parent))
	switch {
	case err == nil:
		return x.s.recorded(ctx, st)
	case !errors.Is(err, journal.ErrRunNotFound):
		return nil, storeErr(err)
	}
	if x.s.cfg.Resolve == nil {
		return nil, fmt.Errorf("no runbook named %q: sub-runs are not available here", name)
	}
	x.mu.Lock()
	from := x.pinned[parent.RunID]
	x.mu.Unlock()
	return x.s.cfg.Resolve(name, from)
}

func (s *Service) newExecution(set *redact.Set) *execution {
	if set == nil {
		set = &redact.Set{}
	}
	x := &execution{s: s}
	x.opts = engine.Options{Clock: s.cfg.Clock, Secret: s.cfg.Secret, Redact: set, Approver: s.approver(nil)}
	sub := &engine.SubRuns{Resolve: x.resolveSubRun, Options: x.subRunOptions, Max: s.cfg.MaxSubRuns}
	x.reg = s.cfg.Actions(func(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
		return sub.Run(ctx, name, inputs, parent)
	})
	sub.Catalog = x.reg
	x.opts.Registry = x.reg
	return x
}

// approver checks the approvers a step asks with against the policy (see
// journal.Policy.Guard), then asks inner; nil: every approval waits.
func (s *Service) approver(inner engine.Approver) engine.Approver {
	return s.cfg.Policy.Guard(inner)
}

// errCancelRequested is the cause of a run cancelled by a recorded
// request.
var errCancelRequested = fmt.Errorf("cancelled by request")

// execute runs the execution under the run's lease, records it, and
// returns the run's redacted document. current, when set (a run that
// goes on), is called once the lease is held, before anything runs: see
// Continuation.current.
func (x *execution) execute(ctx context.Context, inputs map[string]any, progress engine.Sink, cancelled bool, current func(context.Context) error) (*engine.Result, error) {
	s := x.s
	holder := s.holder()
	lease := journal.Lease{RunID: x.run.ID, Holder: holder, Host: s.cfg.Host, PID: s.cfg.PID}
	now := s.cfg.Clock.Now()
	lease.Acquired, lease.Heartbeat, lease.Expires = now, now, now.Add(s.cfg.LeaseTTL)
	if err := s.cfg.Store.AcquireLease(ctx, lease); err != nil {
		return nil, storeErr(err)
	}
	defer s.cfg.Store.ReleaseLease(context.WithoutCancel(ctx), x.run.ID, holder)
	if current != nil {
		if err := current(ctx); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if cancelled {
		cancel(errCancelRequested)
	}
	stopBeat := x.heartbeat(ctx, lease, cancel)
	defer stopBeat()

	x.run.Host, x.run.PID, x.run.Status = s.cfg.Host, s.cfg.PID, string(engine.StatusRunning)
	rec := journal.NewRecorder(s.cfg.Store, journal.RecorderOptions{Run: x.run, Source: x.source, Origin: x.origin,
		Stop: cancel, Now: s.cfg.Clock.Now, Then: progress})
	opts := x.opts
	opts.Sink = rec
	opts.RunID = x.run.ID
	opts.Hold = s.cfg.Hold // the top run's only: sub-runs finish with their step
	res, err := engine.Run(ctx, x.rb, inputs, opts)
	if cerr := rec.Close(); cerr != nil {
		var dup *journal.DuplicateError
		if errors.As(cerr, &dup) && dup.Key != "" {
			return nil, dup
		}
		return nil, &RecordingError{Err: cerr}
	}
	if err != nil {
		return nil, err
	}
	return res.Redacted(), nil
}

// heartbeat renews the lease every Heartbeat until stopped, and cancels
// the run when a cancel is requested or the lease is lost.
func (x *execution) heartbeat(ctx context.Context, lease journal.Lease, cancel context.CancelCauseFunc) (stop func()) {
	s := x.s
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := s.cfg.Clock.NewTicker(s.cfg.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.Chan():
			}
			now := s.cfg.Clock.Now()
			lease.Heartbeat, lease.Expires = now, now.Add(s.cfg.LeaseTTL)
			r, err := s.cfg.Store.RenewLease(context.WithoutCancel(ctx), lease)
			switch {
			case err == journal.ErrLeaseLost:
				cancel(fmt.Errorf("the run's lease was lost: another execution took it over"))
			case err != nil:
				// The store may be busy for a moment: the lease lasts
				// LeaseTTL, try again at the next beat.
			case r.Cancel != nil:
				cancel(errCancelRequested)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// holder names one execution uniquely.
func (s *Service) holder() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", s.cfg.Host, s.cfg.PID, hex.EncodeToString(b[:]))
}

// RecordingError: the journal failed while the run was executing; the run
// was stopped so that nothing runs unrecorded.
type RecordingError struct{ Err error }

func (e *RecordingError) Error() string { return e.Err.Error() }
func (e *RecordingError) Unwrap() error { return e.Err }
