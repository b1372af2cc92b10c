package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// newRegistry returns the built-in actions. Sub-runs of core.runbook use
// the same registry and options as the run that starts them, and are
// journaled by subs when it has a store.
func newRegistry(clock clockwork.Clock, folders []string, base engine.Options, subs *subRunJournal) *actions.Registry {
	reg := actions.NewRegistry()
	sub := engine.SubRuns{
		Resolve: func(name string) (*runbooks.Document, error) { return runbooks.Resolve(name, folders) },
		Catalog: reg,
		Options: func(id string, rb *schema.Runbook, doc *runbooks.Document, parent *actions.Request) (engine.Options, error) {
			opts := base
			opts.Registry, opts.Sink, opts.Resume, opts.Approver = reg, nil, nil, nil
			opts.Files, _ = doc.Files()
			if subs != nil && subs.store != nil {
				if err := subs.options(id, rb, doc, parent, &opts); err != nil {
					return opts, err
				}
			}
			return opts, nil
		},
	}
	must(reg.Register(core.Actions(clock, sub.Run)...))
	must(reg.Register(httpaction.New("steward/"+buildVersion()), execaction.New()))
	return reg
}

// subRunJournal records sub-runs as runs of their own, linked to their
// parent; store is set once the journal is open.
type subRunJournal struct {
	store journal.Store
	by    string // who runs the parent
}

// options gives a sub-run a recorder and, when a previous attempt of the
// parent's step started it, what the journal holds of it: it goes on
// from there instead of starting again.
func (j *subRunJournal) options(id string, rb *schema.Runbook, doc *runbooks.Document, parent *actions.Request, opts *engine.Options) error {
	ctx := context.Background()
	var rec journal.RecorderOptions
	st, err := journal.Load(ctx, j.store, id)
	switch {
	case err == nil:
		resume := *st.Resume
		resume.By = j.by
		opts.Resume = &resume
		opts.Approver = st.Approver(time.Now)
		rec.Run = st.Run
		rec.Run.FinishedAt = time.Time{}
	case errors.Is(err, journal.ErrRunNotFound):
		now := time.Now()
		run, src, origin := newRunRecord(id, rb, doc, *opts, now)
		run.Parent, origin.Parent, run.DryRun = parent.RunID, parent.RunID, parent.DryRun
		rec = journal.RecorderOptions{Run: run, Source: src, Origin: origin}
	default:
		return err
	}
	host, _ := os.Hostname()
	rec.Run.Host, rec.Run.PID, rec.Run.Status = host, os.Getpid(), string(engine.StatusRunning)
	opts.Sink = journal.NewRecorder(j.store, rec)
	return nil
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
