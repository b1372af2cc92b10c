package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/metrics"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/runbooks"
)

type serveFlags struct {
	listen     string
	grace      time.Duration
	pluginPoll time.Duration
}

func newServeCmd(g *globalFlags) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (and, once configured, schedules and webhooks)",
		Long: `Run Steward as a service: the HTTP API under /api/v1 (docs/api.md; its
OpenAPI document at /api/v1/openapi.yaml), /healthz, /readyz and
Prometheus /metrics, over the journal under --home and the runbooks and
plugins of steward.yaml.

Runs started over the API execute in this process. Plugins live as long
as the server: one that fails to start is tried again with a backoff, one
that crashed is started again at its next use, and a change of the lock
file or of a plugin binary is picked up without a restart (the new binary
is checked against the lock file first).

At start, runs whose process died (interrupted) are resumed by the usual
rules: finished steps are not run again, and a step that mutates and was
interrupted mid-attempt waits for a person.

Git and GitHub sources with poll: are synced at start and every interval,
and by GitHub push webhooks at /hooks/github-sources
(server.sources_hook_secret); runbooks are found in the pinned commits
first, and the schedules follow the pins (docs/sources.md).

SIGHUP reloads the plugins (and the schedules). SIGTERM or SIGINT stop
taking requests, start no new step, let the steps running finish within
--grace, and leave their runs to be resumed (by the next steward serve,
or steward resume); the exit status is 0.

Every API request needs an identity (a bearer token, steward tokens).`,
		Example: `  steward serve
  steward serve --listen 0.0.0.0:8080 --home /var/lib/steward --config /etc/steward/steward.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd, g, f) },
	}
	cmd.Flags().StringVar(&f.listen, "listen", envOr("STEWARD_LISTEN", "127.0.0.1:8080"), "address to listen on (env STEWARD_LISTEN)")
	cmd.Flags().DurationVar(&f.grace, "grace", 30*time.Second, "on SIGTERM, how long runs executing may go on before the server exits and leaves them to resume")
	cmd.Flags().DurationVar(&f.pluginPoll, "plugin-poll", 2*time.Second, "how often the lock file and plugin folders are checked for changes")
	return cmd
}

// serveDeps are what steward serve plugs in beside the run service and
// the API: the tokens middleware (engine/auth), the scheduler
// (engine/schedule) and the webhook handler (engine/hooks) are wired here.
type serveDeps struct {
	// authenticate turns a request's bearer token into a principal, or
	// answers 401 (auth.Tokens.Middleware): there is no anonymous access.
	authenticate func(http.Handler) http.Handler
	// tokens are the bearer tokens behind authenticate: the console
	// takes them for bots.
	tokens *auth.Tokens
	// schedules is the scheduler as the API sees it; nil: none.
	schedules api.Schedules
	// hooks serves /hooks/{name}; nil: not mounted.
	hooks http.Handler
	// runbooks and resolve are the API's listing and lookup by name,
	// and sources its GET /sources (servesources.go: the pinned
	// runbooks of Git and GitHub sources first, as steward run finds).
	runbooks func() ([]*runbooks.Entry, error)
	resolve  func(name string) (*runbooks.Document, error)
	sources  api.Sources
	// mcp serves /mcp (mcpserver, behind authenticate); nil: not mounted
	// (mcp.runbooks lists none).
	mcp http.Handler
	// start starts what runs beside the API (the scheduler) once
	// interrupted runs were resumed; stop stops it at shutdown; reload
	// is SIGHUP's (the scheduler's Reload); ready is /readyz's.
	start  func(ctx context.Context) error
	stop   func(ctx context.Context)
	reload func(ctx context.Context) error
	ready  func(ctx context.Context) error
}

// serverSecrets are the secrets the server's plugins were given (their
// settings'): each run's redact set starts with them.
type serverSecrets struct {
	mu     sync.Mutex
	values map[string]bool // a plugin started again gives the same ones
}

func (s *serverSecrets) add(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]bool{}
	}
	s.values[v] = true
}

func (s *serverSecrets) newSet() *redact.Set {
	set := &redact.Set{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.values {
		set.Add(v)
	}
	return set
}

func serve(cmd *cobra.Command, g *globalFlags, f *serveFlags) error {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	// The signals are caught before anything starts: a SIGTERM during
	// start-up (runs resumed, the scheduler firing) waits in sig for the
	// loop below and shuts down gracefully, rather than killing the
	// process with the runs it started.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sig)
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	sessKey, err := sessionKey(cfg.Server.SessionKey)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var svc *service
	m, err := metrics.New(reg, metrics.Options{ApprovalsWaiting: func(ctx context.Context) (int, error) {
		return approvalsWaiting(ctx, svc.Service)
	}})
	if err != nil {
		return err
	}
	secrets := &serverSecrets{}
	hold := make(chan struct{})
	svc, err = newServiceWith(cmd, g, cfg, serviceOptions{
		hold: hold,
		plugins: func(o *plugins.Options) {
			secret := o.Secret
			o.Secret = func(name string) (string, bool) {
				v, ok := secret(name)
				if ok {
					secrets.add(v)
				}
				return v, ok
			}
			o.RetryBackoff, o.MaxRetryBackoff = time.Second, time.Minute
			o.OnStart = m.PluginStarted
			o.Stderr = func(plugin, line string) {
				log.Info("plugin stderr", "plugin", plugin, "line", svc.redact.String(line))
			}
		},
		store: m.Store,
	})
	if err != nil {
		return err
	}
	// The plugin folders are read now (a command reads them at first
	// use): a binary changed from here on is a change Reload sees.
	svc.plugins.Plugins()
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		svc.close()
		return &exitError{code: exitInvalid, err: fmt.Errorf("--listen %s: %w", f.listen, err)}
	}
	// Runs execute under ctx: it is never cancelled by a shutdown, which
	// leaves runs to resume rather than cancelling them.
	ctx := context.Background()
	bg := runs.NewBackground(ctx, m, log)
	deps, err := wireDeps(cmd, g, log, cfg, svc, bg, m, secrets.newSet)
	if err != nil {
		ln.Close()
		svc.close()
		return err
	}
	server, err := api.New(ctx, api.Config{
		Runs: svc.Service, Store: svc.store,
		Runbooks:     deps.runbooks,
		Resolve:      deps.resolve,
		Sources:      deps.sources,
		Redact:       secrets.newSet,
		Authenticate: deps.authenticate,
		Schedules:    deps.schedules,
		Hooks:        deps.hooks,
		MCP:          deps.mcp,
		Metrics:      promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Observe:      m,
		Background:   bg,
		Logger:       log,
		Ready: func(ctx context.Context) error {
			if _, _, err := svc.store.Head(ctx); err != nil {
				return fmt.Errorf("the journal does not answer: %w", err)
			}
			if deps.ready != nil {
				return deps.ready(ctx)
			}
			return nil
		},
	})
	if err != nil {
		svc.close()
		return err
	}
	con, err := newConsole(ctx, consoleDeps{svc: svc, conf: cfg, secrets: secrets, tokens: deps.tokens, bg: bg,
		schedules: deps.schedules, log: log, runbooks: deps.runbooks, resolve: deps.resolve, sessionKey: sessKey})
	if err != nil {
		svc.close()
		return &exitError{code: exitFailed, err: err}
	}
	// Interrupted runs are resumed now, and taken over from dead replicas
	// on a shared store (servepg.go).
	(&resumer{log: log, svc: svc, server: server, secrets: secrets, observe: m}).start(ctx, hold)
	watchAppends(svc, log, hold) // the records other replicas append wake event streams (servepg.go)
	if deps.start != nil {
		if err := deps.start(ctx); err != nil {
			svc.close()
			return err
		}
	}
	hs := &http.Server{Handler: withConsole(server, con), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("steward serve listening", "addr", ln.Addr().String(), "home", g.home, "pid", os.Getpid())

	reloader := &pluginReloader{log: log, host: svc.plugins}
	poll := time.NewTicker(f.pluginPoll)
	defer poll.Stop()
	for {
		select {
		case err := <-served:
			log.Error("the HTTP server stopped", "error", err)
			svc.close()
			return &exitError{code: exitFailed, err: err}
		case <-poll.C:
			reloader.reload()
		case s := <-sig:
			if s == syscall.SIGHUP {
				log.Info("SIGHUP: reloading")
				reloader.last = "" // say again what is still wrong
				reloader.reload()
				if deps.reload != nil {
					if err := deps.reload(ctx); err != nil {
						log.Error("reload failed", "error", err)
					}
				}
				continue
			}
			con.Close() // its live timelines end: Shutdown waits for open requests
			shutdown(log, s, f.grace, hs, server, svc, deps, hold)
			return nil
		}
	}
}

// shutdown stops taking requests and work, lets the steps running finish
// within grace (no new step starts: their runs are left to resume), and
// past it exits without ending the steps still running (their leases end
// with the process; the journal holds what they did).
func shutdown(log *slog.Logger, s os.Signal, grace time.Duration, hs *http.Server, server *api.Server, svc *service, deps serveDeps, hold chan struct{}) {
	server.Drain()
	close(hold) // no new step starts; the running ones finish
	// Said once no new step can start: a step that ends after this line
	// is the last of its run here.
	log.Info("shutting down", "signal", s.String(), "grace", grace)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if deps.stop != nil {
		deps.stop(ctx)
	}
	if err := hs.Shutdown(ctx); err != nil {
		log.Warn("requests still open at the end of the grace period", "error", err)
	}
	if err := server.Wait(ctx); err != nil {
		// Exit now: closing the plugins or the store would fail the
		// steps still running, and record it. The journal holds what
		// they did; the next steward serve resumes them.
		log.Warn("runs still executing are left to resume", "grace", grace)
		release(svc.store)
		os.Exit(exitOK)
	}
	svc.close()
	log.Info("stopped")
}

// pluginReloader picks up a changed lock file or plugin binary, and logs
// a problem once, not at every poll.
type pluginReloader struct {
	log  *slog.Logger
	host *plugins.Host
	last string
}

func (p *pluginReloader) reload() {
	switched, err := p.host.Reload()
	if len(switched) > 0 {
		p.log.Info("plugins reloaded", "plugins", switched)
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != "" && msg != p.last {
		p.log.Warn("plugins not reloaded", "error", err)
	}
	p.last = msg
}

// approvalsWaiting counts the approvals the waiting runs wait for.
func approvalsWaiting(ctx context.Context, svc *runs.Service) (int, error) {
	var ids []string
	err := svc.List(ctx, runs.Filter{Status: string(engine.StatusWaiting)}, func(s runs.Summary) error {
		ids = append(ids, s.ID)
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		r, err := svc.Get(ctx, id)
		if err != nil {
			return 0, err
		}
		n += len(r.State.Waiting)
	}
	return n, nil
}
