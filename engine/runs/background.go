package runs

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/stewardhq/steward/engine"
)

// ErrStopping refuses new work once Background.Stop was called.
var ErrStopping = errors.New("runs: shutting down: no new work is taken")

// Background executes runs in the background under one context, tracked
// so that a server can stop taking work and wait for what executes: the
// one way steward serve's API, webhooks and resumes at start execute
// runs.
type Background struct {
	ctx     context.Context
	observe engine.Sink
	log     *slog.Logger
	mu      sync.Mutex
	stop    bool
	wg      sync.WaitGroup
}

// NewBackground returns a Background executing runs under ctx (cancelling
// it cancels them; a graceful shutdown does not: see Wait). observe, when
// not nil, receives every event of those runs once it is recorded
// (metrics); log receives the runs that stopped in error.
func NewBackground(ctx context.Context, observe engine.Sink, log *slog.Logger) *Background {
	if log == nil {
		log = slog.Default()
	}
	return &Background{ctx: ctx, observe: observe, log: log}
}

// Go runs fn in the background under the Background's context, tracked
// by Wait; ErrStopping once Stop was called.
func (b *Background) Go(fn func(ctx context.Context)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stop {
		return ErrStopping
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn(b.ctx)
	}()
	return nil
}

// Launch executes a run in the background (execute calls Start or a
// Continuation's Run with the progress given) and returns its id once
// its first record (run.started, or run.resumed) is written; or the
// error that stopped it before (a *journal.DuplicateError when its
// trigger's key is held); or ctx's error when ctx ends first (the run
// goes on).
func (b *Background) Launch(ctx context.Context, execute func(ctx context.Context, progress engine.Sink) error) (string, error) {
	started := make(chan string, 1)
	failed := make(chan error, 1)
	var progress engine.Sink = engine.SinkFunc(func(e *engine.Event) {
		if e.Type == engine.RunStarted || e.Type == engine.RunResumed {
			select {
			case started <- e.RunID:
			default:
			}
		}
	})
	if b.observe != nil {
		progress = engine.Sinks{progress, b.observe}
	}
	err := b.Go(func(ctx context.Context) {
		err := execute(ctx, progress)
		switch {
		case errors.Is(err, engine.ErrHeld):
			b.log.Info("a run was held: it resumes at the next start", "error", err)
		case err != nil:
			failed <- err
			b.log.Warn("run stopped in error", "error", err)
		}
	})
	if err != nil {
		return "", err
	}
	select {
	case id := <-started:
		return id, nil
	case err := <-failed:
		select {
		case id := <-started: // it started, then failed: it exists
			return id, nil
		default:
		}
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Stop makes the Background take no new work.
func (b *Background) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stop = true
}

// Stopping says whether Stop was called.
func (b *Background) Stopping() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stop
}

// Wait waits for the runs executing in the background to end or wait,
// or for ctx to be done: then it returns ctx's error, and those runs are
// left to be resumed (their leases expire).
func (b *Background) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
