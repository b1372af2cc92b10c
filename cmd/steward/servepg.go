package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres"
	"github.com/stewardhq/steward/engine/runs"
)

// Several steward serve replicas share one PostgreSQL store
// (docs/postgres.md): the scheduler fires on one of them, the leader
// (schedulerElector), and each replica takes over the runs whose
// replica died, once their lease expired (resumer). With the SQLite
// store, serve is the only server of its journal: it fires every
// schedule and resumes the interrupted runs when it starts.

// takeoverPoll is how often a replica on a shared store looks for runs
// whose lease expired (runs.DefaultLeaseTTL after their replica died).
const takeoverPoll = 2 * time.Second

// schedulerElector is the scheduler's gocron.Elector when the store is
// PostgreSQL, with what steps down at shutdown; nil (every schedule
// fires here) with SQLite.
func schedulerElector(store journal.Store, log *slog.Logger) (gocron.Elector, func()) {
	pg, ok := store.(*postgres.Store)
	if !ok {
		return nil, func() {}
	}
	e := pg.Elector("scheduler", log.With("component", "schedule"))
	return e, func() { e.Close() }
}

// resumer resumes the interrupted runs: the runs whose execution stopped
// without ending them (their process died, or a shutdown left them), by
// the usual rules: finished steps are not run again, and a step that
// mutates and was interrupted mid-attempt waits for a person. One whose
// secret inputs are needed waits for a person too (steward resume with
// them).
type resumer struct {
	log     *slog.Logger
	svc     *service
	server  *api.Server
	secrets *serverSecrets
	observe engine.Sink

	mu     sync.Mutex
	warned map[string]bool // runs that cannot be resumed here, said once
}

// start resumes the interrupted runs now and, when the store is shared
// with other replicas (PostgreSQL), again every takeoverPoll until hold
// is closed (the shutdown): a run whose replica died is taken over once
// its lease expired. A run another replica took first is left to it.
func (r *resumer) start(ctx context.Context, hold <-chan struct{}) {
	r.warned = map[string]bool{}
	r.resume(ctx)
	if _, ok := r.svc.store.(*postgres.Store); !ok {
		return
	}
	go func() {
		t := time.NewTicker(takeoverPoll)
		defer t.Stop()
		for {
			select {
			case <-hold:
				return
			case <-t.C:
				r.resume(ctx)
			}
		}
	}()
}

// resume resumes, in the background, the interrupted runs.
func (r *resumer) resume(ctx context.Context) {
	var ids []string
	err := r.svc.List(ctx, runs.Filter{Status: runs.StatusInterrupted}, func(s runs.Summary) error {
		if s.Parent == "" {
			ids = append(ids, s.ID)
		}
		return nil
	})
	if err != nil {
		r.log.Error("listing interrupted runs", "error", err)
		return
	}
	for _, id := range ids {
		c, err := r.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "steward serve", Redact: r.secrets.newSet()})
		var busy *journal.BusyError
		switch {
		case errors.As(err, &busy):
			continue // another process took it
		case err != nil:
			if r.warnOnce(id) {
				r.log.Warn("an interrupted run cannot be resumed here", "run", id, "error", err)
			}
			continue
		}
		log := r.log
		r.log.Info("resuming an interrupted run", "run", id, "runbook", c.State().Run.Runbook)
		if err := r.server.Go(func(ctx context.Context) {
			res, err := c.Run(ctx, r.observe)
			var busy *journal.BusyError
			switch {
			case errors.Is(err, engine.ErrHeld):
				log.Info("a resumed run was held for the next start", "run", id)
			case errors.As(err, &busy):
				log.Info("another process took the interrupted run first", "run", id)
			case err != nil:
				log.Warn("a resumed run stopped in error", "run", id, "error", err)
			default:
				log.Info("a resumed run went on", "run", id, "status", res.Status)
			}
		}); err != nil {
			return // shutting down
		}
	}
}

// warnOnce says whether the problem of run id is to be logged: the first
// time only, as the takeover asks again every takeoverPoll.
func (r *resumer) warnOnce(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned[id] {
		return false
	}
	r.warned[id] = true
	return true
}

// watchAppends tells the run service's followers (the API's event
// streams, the console's live timelines) of the records other replicas
// append to a shared store (PostgreSQL's LISTEN, see runs.Service.Watch),
// until hold is closed. A connection lost is listened to again a second
// later; meanwhile followers poll. With SQLite it does nothing: the
// followers poll for the records of other processes.
func watchAppends(svc *service, log *slog.Logger, hold <-chan struct{}) {
	pg, ok := svc.store.(*postgres.Store)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-hold
		cancel()
	}()
	go func() {
		for ctx.Err() == nil {
			if err := svc.Watch(ctx, pg.Listen); err != nil {
				log.Warn("listening for the records of other replicas; event streams poll meanwhile", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
}
