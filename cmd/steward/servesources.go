package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/schema"
)

// serveSources are the Git and GitHub sources of steward.yaml inside
// steward serve (docs/sources.md): a poll loop for each source with
// poll:, the GitHub push webhook POST /hooks/github-sources (a push
// starts a sync, never a run), GET /api/v1/sources, and the schedules
// read again after a sync that moved a pin. The API, the webhooks and
// the scheduler find runbooks by name as steward run does: pinned
// commits first, then folders, then the bundled library.
type serveSources struct {
	g      *globalFlags
	cfg    *config.Config
	log    *slog.Logger
	syncer *sources.Syncer
	clock  clockwork.Clock
	// moved is called after a sync that moved a pin (the scheduler's
	// Reload); may be nil.
	moved func(ctx context.Context) error

	// ctx ends the polls and the syncs a push started, at stop.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newServeSources validates as steward sources sync does, against
// catalog: the built-ins and the server's plugins.
func newServeSources(g *globalFlags, cfg *config.Config, catalog schema.Catalog, log *slog.Logger) *serveSources {
	s := &serveSources{g: g, cfg: cfg, log: log.With("component", "sources"), syncer: syncerWith(g, cfg, catalog), clock: clockwork.NewRealClock()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// resolve finds a runbook by name (the API's and the webhooks' lookup).
func (s *serveSources) resolve(name string) (*runbooks.Document, error) {
	return nameResolver(s.g, s.cfg)(name)
}

// list lists what a name finds (GET /api/v1/runbooks).
func (s *serveSources) list() ([]*runbooks.Entry, error) {
	return listRunbooks(context.Background(), s.g, s.cfg)
}

// documents are the pinned runbooks, whose schedules fire
// (schedule.Config.Documents).
func (s *serveSources) documents(ctx context.Context) ([]*runbooks.Document, error) {
	if !sources.HasGit(s.cfg.Sources) {
		return nil, nil
	}
	r := &sources.Resolver{Home: s.g.home, Sources: s.cfg.Sources}
	return r.Documents(ctx)
}

// Statuses implements api.Sources.
func (s *serveSources) Statuses(ctx context.Context) ([]*sources.Status, error) {
	return sources.Statuses(ctx, s.g.home, s.cfg.Sources)
}

// hooks returns next (the webhooks of steward.yaml, may be nil) with
// POST /hooks/github-sources in front when server.sources_hook_secret
// is set; nil when neither is. A secret named but not in the
// environment is a usage error: serve does not start without it.
func (s *serveSources) hooks(next http.Handler) (http.Handler, error) {
	name := s.cfg.Server.SourcesHookSecret
	if name == "" {
		return next, nil
	}
	secret, ok := envSecret(name)
	if !ok || secret == "" {
		return nil, usageError("server.sources_hook_secret: %s is not set (the secret %s of the GitHub push webhook)", secretVar(name), name)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /hooks/"+config.SourcesHook, sources.PushHandler([]byte(secret), func() []config.Source { return s.cfg.Sources }, s.push))
	if next != nil {
		mux.Handle("/hooks/", next)
	}
	return mux, nil
}

// push syncs src in the background: the answer to GitHub does not wait.
func (s *serveSources) push(src config.Source) {
	s.log.Info("push webhook: syncing", "source", src.Name)
	s.goSync(func(ctx context.Context) {
		res, err := s.syncer.Sync(ctx, src)
		if ctx.Err() == nil { // cut short by a shutdown: nothing to say
			s.done(ctx, src)(res, err)
		}
	})
}

// start polls each source with poll: set (a sync at once, then every
// interval) until stop.
func (s *serveSources) start() {
	for _, src := range s.cfg.Sources {
		if src.Kind == config.SourceFolder || src.Poll <= 0 {
			continue
		}
		s.log.Info("polling", "source", src.Name, "every", src.Poll)
		s.goSync(func(ctx context.Context) { s.syncer.Poll(ctx, src, src.Poll, s.clock, s.done(ctx, src)) })
	}
}

func (s *serveSources) goSync(fn func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn(s.ctx)
	}()
}

// stop ends the polls and the syncs under way (a sync cut short leaves
// the pin as it was) and waits for them.
func (s *serveSources) stop() {
	s.cancel()
	s.wg.Wait()
}

// done logs a sync's outcome and, when it moved a pin, reads the
// schedules again.
func (s *serveSources) done(ctx context.Context, src config.Source) func(*sources.Result, error) {
	return func(res *sources.Result, err error) {
		switch {
		case err != nil && res != nil && sources.IsRefused(err):
			s.log.Warn("sync refused a commit; the pin stays", "source", src.Name, "commit", res.Commit, "pin", res.Previous, "error", err, "problems", len(res.Problems))
		case err != nil:
			s.log.Warn("sync failed", "source", src.Name, "error", err)
		case res.Previous == res.Commit:
			s.log.Debug("sync: the pin is still the ref's head", "source", src.Name, "commit", res.Commit)
		default:
			s.log.Info("pinned", "source", src.Name, "commit", res.Commit, "previous", res.Previous, "runbooks", res.Runbooks, "changes", changes(res.Changes))
			if s.moved != nil {
				if err := s.moved(ctx); err != nil {
					s.log.Error("reloading the schedules after a new pin", "source", src.Name, "error", err)
				}
			}
		}
	}
}
