package runs

import (
	"context"
	"errors"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// subRunOptions gives a sub-run of core.runbook the options of its run: the
// execution's, with a recorder of its own, linked to its parent; when a
// previous attempt of the parent's step started it, it goes on from what
// the journal holds of it instead of starting again. The lease of the top
// run covers its sub-runs.
func (x *execution) subRunOptions(id string, rb *schema.Runbook, doc *runbooks.Document, parent *actions.Request) (engine.Options, error) {
	s := x.s
	opts := x.opts
	opts.Sink, opts.Resume, opts.Approver = nil, nil, s.approver(nil)
	opts.Files, _ = doc.Files()
	ctx := context.Background()
	var rec journal.RecorderOptions
	st, err := journal.Load(ctx, s.cfg.Store, id)
	switch {
	case err == nil:
		resume := *st.Resume
		resume.By = x.by
		opts.Resume = &resume
		opts.Approver = s.approver(st.Approver(s.cfg.Clock.Now))
		rec.Run = st.Run
		rec.Run.FinishedAt = time.Time{}
		x.readFrom(id, st.Origin)
	case errors.Is(err, journal.ErrRunNotFound):
		now := s.cfg.Clock.Now()
		sub := opts
		sub.DryRun = parent.DryRun
		run, src, origin := s.newRunRecord(id, rb, doc, sub, now)
		run.Parent, origin.Parent = parent.RunID, parent.RunID
		x.readFrom(id, *origin)
		rec = journal.RecorderOptions{Run: run, Source: src, Origin: origin}
	default:
		return opts, err
	}
	rec.Run.Host, rec.Run.PID, rec.Run.Status = s.cfg.Host, s.cfg.PID, string(engine.StatusRunning)
	rec.Now = s.cfg.Clock.Now
	opts.Sink = journal.NewRecorder(s.cfg.Store, rec)
	return opts, nil
}
