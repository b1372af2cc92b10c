package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/console"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/plugins"
	"github.com/stewardhq/steward/runbooks"
)

// newConsole is the web console of steward serve, over the same run
// service, journal, background and scheduler as the API.
func newConsole(ctx context.Context, cfg consoleDeps) (*console.Console, error) {
	c := console.Config{Runs: cfg.svc.Service, Store: cfg.svc.store, Runbooks: cfg.runbooks, Resolve: cfg.resolve,
		Redact: cfg.secrets.newSet, Grants: cfg.conf.Server.SubjectGrants, Tokens: cfg.tokens,
		Background: cfg.bg, Logger: cfg.log}
	if o := cfg.conf.Server.OIDC; o != nil {
		secret, _ := envSecret(o.ClientSecret)
		c.OIDC = &console.OIDC{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: secret, RedirectURL: o.RedirectURL, SubjectClaim: o.SubjectClaim}
	}
	if cfg.schedules != nil {
		c.Schedules = consoleSchedules{cfg.schedules}
	}
	if cfg.svc.plugins != nil {
		c.Plugins = consolePlugins{cfg.svc.plugins}
	}
	c.SessionKey = cfg.sessionKey
	return console.New(ctx, c)
}

// sessionKey is the key that signs the console's session cookies: the
// secret server.session_key names, which replicas share and which
// outlives a restart; without one, a random key (sessions end with the
// process). A secret named but not set, or too short, is a usage error.
func sessionKey(name string) ([]byte, error) {
	if name == "" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		return key, nil
	}
	secret, ok := envSecret(name)
	switch {
	case !ok || secret == "":
		return nil, usageError("server.session_key: %s is not set (the secret %s that signs the console's sessions)", secretVar(name), name)
	case len(secret) < 32:
		return nil, usageError("server.session_key: %s is %d bytes: a session key needs 32 or more (openssl rand -base64 32 makes one)", secretVar(name), len(secret))
	}
	return []byte(secret), nil
}

// withConsole serves the API server's routes from it, and every other
// request from the console.
func withConsole(server *api.Server, con http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if server.Handles(r) {
			server.ServeHTTP(w, r)
			return
		}
		con.ServeHTTP(w, r)
	})
}

// consoleSchedules is the scheduler as the console sees it.
type consoleSchedules struct{ s api.Schedules }

func (a consoleSchedules) List(ctx context.Context) ([]console.ScheduleView, error) {
	list, err := a.s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]console.ScheduleView, 0, len(list))
	for _, st := range list {
		v := console.ScheduleView{Name: st.Name, Runbook: st.Runbook, Cron: st.Cron, Timezone: st.Timezone, Paused: st.Paused, Next: st.NextFire}
		if l := st.LastFire; l != nil {
			v.Last = &console.FireView{Slot: l.Slot, RunID: l.RunID, Outcome: l.Outcome}
			if reason, ok := strings.CutPrefix(l.Outcome, "skipped: "); ok {
				v.Skipped = []console.SkippedSlot{{Slot: l.Slot, Reason: reason}}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func (a consoleSchedules) Pause(ctx context.Context, name, by string) error {
	return a.s.Pause(ctx, name, by)
}
func (a consoleSchedules) Resume(ctx context.Context, name, by string) error {
	return a.s.Resume(ctx, name, by)
}
func (a consoleSchedules) Fire(ctx context.Context, name, by string) (string, error) {
	return a.s.Fire(ctx, name, by)
}

// consolePlugins is the plugin host as the console sees it.
type consolePlugins struct{ h *plugins.Host }

func (a consolePlugins) List(ctx context.Context) ([]console.PluginView, error) {
	list, err := a.h.List(ctx, true)
	if err != nil {
		return nil, err
	}
	out := make([]console.PluginView, 0, len(list))
	for _, p := range list {
		v := console.PluginView{Name: p.Name, Path: p.Path, SHA256: p.SHA256, Locked: p.Locked, LockState: string(p.Lock), Error: p.Problem}
		if d := p.Description; d != nil {
			for _, s := range d.Actions {
				v.Actions = append(v.Actions, console.ActionView{Name: s.Name, Description: s.Description, Mutates: s.Mutates, Idempotent: s.Idempotent})
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// consoleDeps are what newConsole takes from serve.
type consoleDeps struct {
	svc       *service
	conf      *config.Config
	secrets   *serverSecrets
	tokens    *auth.Tokens
	bg        *runs.Background
	schedules api.Schedules
	log       *slog.Logger
	// sessionKey signs the session cookies (see sessionKey).
	sessionKey []byte
	// runbooks and resolve are the API's (pinned sources first).
	runbooks func() ([]*runbooks.Entry, error)
	resolve  func(name string) (*runbooks.Document, error)
}
