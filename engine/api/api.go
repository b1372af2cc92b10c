// Package api is Steward's HTTP API: versioned JSON under /api/v1,
// described by openapi.yaml (embedded, served at /api/v1/openapi.yaml).
// It holds no run logic: every call goes to the run service (runs.Service)
// as the authenticated principal, and every change is recorded there.
//
// Identity comes from Config.Authenticate, a middleware that puts an
// auth.Principal in the request's context or answers 401; handlers check
// the principal's role on the runbook concerned (see docs/api.md). The
// actor recorded is always the principal's subject.
package api

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// OpenAPI is the OpenAPI 3.1 document of the API.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Prefix is the path every API route starts with.
const Prefix = "/api/v1"

// Config is what a Server serves.
type Config struct {
	// Runs is the run service. Required.
	Runs *runs.Service
	// Store is the journal the audit endpoints read. Required.
	Store journal.Store
	// Runbooks lists the runbooks a name finds (runbooks.List over the
	// configured folders). Required.
	Runbooks func() ([]*runbooks.Entry, error)
	// Resolve finds a runbook by name only, never by path (the name comes
	// from a request): runbooks.ResolveName. Required.
	Resolve func(name string) (*runbooks.Document, error)
	// Redact returns the secret set of a new run or continuation, seeded
	// with the server's secrets (plugin settings'); default a new set.
	Redact func() *redact.Set
	// Authenticate puts an auth.Principal in the request's context, or
	// answers 401 itself. Required: there is no anonymous access to the
	// API.
	Authenticate func(http.Handler) http.Handler
	// Schedules manages the scheduler's schedules; nil: the schedule
	// endpoints answer 503 (no scheduler runs).
	Schedules Schedules
	// Sources lists the runbook sources and their pins (GET /sources);
	// nil: the list is empty.
	Sources Sources
	// Ready says whether the server can take work (the store answers,
	// the scheduler started); nil: ready.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics; nil: not mounted.
	Metrics http.Handler
	// Hooks serves /hooks/ (webhooks verify their own requests: they are
	// not behind Authenticate); nil: not mounted.
	Hooks http.Handler
	// MCP serves /mcp: the Model Context Protocol for AI assistants
	// (mcpserver.Server.Handler, behind the token middleware itself);
	// nil: not mounted.
	MCP http.Handler
	// Observe receives every event of the runs the server executes
	// (metrics), after the journal recorded it; may be nil.
	Observe engine.Sink
	// Logger logs requests that failed on the server's side; default
	// slog.Default().
	Logger *slog.Logger
	// Background executes the runs the server starts or continues;
	// default one under New's context, observed by Observe. steward
	// serve shares one with its webhooks.
	Background *runs.Background
	// Poll is how often a stream of a run's events looks for new
	// records that nothing told it of (see runs.Service.Events);
	// default runs.DefaultPoll.
	Poll time.Duration
	// KeepAlive is how often a stream with nothing to send sends a
	// comment, so that proxies keep it open; default 15s.
	KeepAlive time.Duration
}

// Server serves the API. Runs it starts or continues execute in the
// background (Config.Background), tracked for Wait.
type Server struct {
	cfg Config
	mux *http.ServeMux
	bg  *runs.Background
	// drained is cancelled by Drain: event streams end.
	drained context.Context
	drain   context.CancelFunc
}

// ErrConfig: a required field of Config is missing.
var ErrConfig = errors.New("api: incomplete configuration")

// New returns the server of cfg. ctx is the context of the runs it
// executes in the background: cancelling it cancels them (a graceful
// shutdown does not: it waits for them, see Wait).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Runs == nil || cfg.Store == nil || cfg.Runbooks == nil || cfg.Resolve == nil || cfg.Authenticate == nil {
		return nil, ErrConfig
	}
	if cfg.Redact == nil {
		cfg.Redact = func() *redact.Set { return &redact.Set{} }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = runs.DefaultPoll
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.Background == nil {
		cfg.Background = runs.NewBackground(ctx, cfg.Observe, cfg.Logger)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), bg: cfg.Background}
	s.drained, s.drain = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	api := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /runbooks":                 s.listRunbooks,
		"GET /runbooks/{name}":          s.getRunbook,
		"POST /runs":                    s.startRun,
		"GET /runs":                     s.listRuns,
		"GET /runs/{id}":                s.getRun,
		"GET /runs/{id}/events":         s.runEvents,
		"POST /runs/{id}/cancel":        s.cancelRun,
		"POST /runs/{id}/resume":        s.resumeRun,
		"POST /runs/{id}/approve":       s.approve,
		"POST /runs/{id}/deny":          s.deny,
		"GET /schedules":                s.listSchedules,
		"POST /schedules/{name}/pause":  s.pauseSchedule,
		"POST /schedules/{name}/resume": s.resumeSchedule,
		"POST /schedules/{name}/fire":   s.fireSchedule,
		"GET /sources":                  s.listSources,
		"GET /audit/verify":             s.verify,
		"GET /audit/export":             s.export,
	} {
		api.HandleFunc(pattern, h)
	}
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, &problemError{status: http.StatusNotFound, title: "Not found", detail: "no API route " + r.Method + " " + Prefix + r.URL.Path})
	})
	s.mux.Handle(Prefix+"/", http.StripPrefix(Prefix, s.cfg.Authenticate(api)))
	// The description of the API is public, like the health checks.
	s.mux.HandleFunc("GET "+Prefix+"/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, health{Status: "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.ready)
	if s.cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.cfg.Metrics)
	}
	if s.cfg.Hooks != nil {
		s.mux.Handle("/hooks/", s.cfg.Hooks)
	}
	if s.cfg.MCP != nil {
		s.mux.Handle("/mcp", s.cfg.MCP) // POST, GET and DELETE of Streamable HTTP
	}
}

// Handles says whether the request is one of the server's routes (the
// API, health, metrics, webhooks, MCP): steward serve sends the others to
// the web console.
func (s *Server) Handles(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return pattern != ""
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type health struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, health{Status: "unavailable", Error: err.Error()})
			return
		}
	}
	if s.stopping() {
		writeJSON(w, http.StatusServiceUnavailable, health{Status: "unavailable", Error: "shutting down"})
		return
	}
	writeJSON(w, http.StatusOK, health{Status: "ok"})
}

// Go runs fn in the background, tracked by Wait; it refuses once Drain
// was called (see runs.Background.Go).
func (s *Server) Go(fn func(ctx context.Context)) error { return s.bg.Go(fn) }

func (s *Server) stopping() bool { return s.bg.Stopping() }

// Drain makes the server take no new work: starting or continuing a run
// answers 503, /readyz says so, and event streams end (a client resumes
// with Last-Event-ID elsewhere).
func (s *Server) Drain() {
	s.bg.Stop()
	s.drain()
}

// Wait waits for the runs executing in the background to end or wait,
// or for ctx to be done: then it returns ctx's error, and those runs
// are left to be resumed (their leases expire).
func (s *Server) Wait(ctx context.Context) error { return s.bg.Wait(ctx) }
