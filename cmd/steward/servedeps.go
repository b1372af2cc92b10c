package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/hooks"
	"github.com/stewardhq/steward/engine/mcpserver"
	"github.com/stewardhq/steward/engine/metrics"
	"github.com/stewardhq/steward/engine/notice"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/engine/schedule"
)

// wireDeps plugs into steward serve what runs beside the API: bearer
// tokens (engine/auth), the webhooks (engine/hooks, executing their runs
// in bg, as the API does), the approvers' notifications (engine/notice)
// the scheduler (engine/schedule) and the MCP server (engine/mcpserver).
func wireDeps(cmd *cobra.Command, g *globalFlags, log *slog.Logger, cfg *config.Config, svc *service, bg *runs.Background, m *metrics.Metrics, redact func() *redact.Set) (serveDeps, error) {
	var deps serveDeps
	tokens := auth.NewTokens(auth.TokensConfig{Store: svc.store, Service: svc.Service, Grants: cfg.Server.SubjectGrants, Log: log})
	deps.authenticate = tokens.Middleware
	deps.tokens = tokens

	// servesources.go: the Git and GitHub sources (polls, the push
	// webhook, GET /api/v1/sources); a name finds the pinned runbooks
	// first, as steward run does.
	reg := builtins(clockwork.NewRealClock(), nil)
	reg.AddSource(svc.plugins)
	srcs := newServeSources(g, cfg, reg, log)
	deps.runbooks, deps.resolve, deps.sources = srcs.list, srcs.resolve, srcs
	resolve := srcs.resolve
	if len(cfg.Webhooks) > 0 {
		if diags := hooks.Check(cfg, resolve); len(diags) > 0 {
			fmt.Fprint(cmd.ErrOrStderr(), printable.String(diags.Render()))
			return deps, &exitError{code: exitInvalid, err: fmt.Errorf("%s: the webhooks cannot start their runbooks: %s", cfg.File, plural(len(diags), "problem"))}
		}
		deps.hooks = hooks.New(hooks.Config{
			Webhooks: func() []config.Webhook { return cfg.Webhooks },
			Secret:   envSecret,
			Start:    hooks.NewRuns(bg, svc.Service, resolve).Starter(),
			Log:      log,
		})
	}
	hooksWithSources, err := srcs.hooks(deps.hooks) // POST /hooks/github-sources
	if err != nil {
		return deps, err
	}
	deps.hooks = hooksWithSources

	// AI assistants: the runbooks of mcp.runbooks as MCP tools at /mcp,
	// each call a run as the token's subject (docs/mcp.md).
	var assistants *mcpserver.Server
	if len(cfg.MCP.Runbooks) > 0 {
		var err error
		assistants, err = mcpserver.New(mcpserver.Config{
			Runs: svc.Service, Runbooks: cfg.MCP.Runbooks, Resolve: resolve, Redact: redact,
			Secret: envSecret, SecretHint: secretVar, URL: cfg.Server.URL, Version: buildVersion(), Log: log.With("component", "mcp"),
		})
		if errors.Is(err, mcpserver.ErrNotExposable) {
			return deps, &exitError{code: exitInvalid, err: fmt.Errorf("mcp.runbooks: %s", strings.TrimPrefix(err.Error(), mcpserver.ErrNotExposable.Error()+": "))}
		}
		if err != nil {
			return deps, err
		}
		deps.mcp = assistants.Handler(deps.authenticate)
	}

	var notifier *notice.Notifier
	if n := cfg.Server.Notify; n != nil {
		notifier = notice.New(notice.Config{Runs: svc.Service, Store: svc.store, Notify: *n, URL: cfg.Server.URL,
			Lookup: reg.Lookup, Describe: policy(cfg).Describe, Log: log})
	}

	// With replicas on PostgreSQL, the leader fires (servepg.go).
	elector, stepDown := schedulerElector(svc.store, log)
	sch, err := schedule.New(schedule.Config{
		Runs: svc.Service, Store: svc.store, Folders: cfg.Folders(), Documents: srcs.documents, Logger: log, Elector: elector,
		CatchupWindow: cfg.Schedules.CatchupWindow, CatchupMax: cfg.Schedules.CatchupMax,
		Observe: func(name string, slot, fired time.Time, outcome string) {
			m.ScheduleFired(name, outcome, fired.Sub(slot))
		},
	})
	if err != nil {
		return deps, err
	}
	deps.schedules = schedules{sch}
	srcs.moved = sch.Reload // a new pin may add, change or remove schedules
	deps.start = func(ctx context.Context) error {
		if notifier != nil {
			notifier.Start(ctx)
		}
		if err := sch.Start(ctx); err != nil {
			return err
		}
		srcs.start()
		return nil
	}
	deps.stop = func(ctx context.Context) {
		srcs.stop()
		if assistants != nil {
			assistants.CloseSessions() // their event streams would hold the shutdown up
		}
		if notifier != nil {
			notifier.Stop()
		}
		if err := sch.Stop(ctx); err != nil {
			log.Warn("scheduled runs still executing are left to resume", "error", err)
		}
		stepDown()
	}
	deps.reload = sch.Reload
	return deps, nil
}

// schedules is the scheduler as the API sees it.
type schedules struct{ s *schedule.Scheduler }

func (a schedules) List(ctx context.Context) ([]api.ScheduleStatus, error) {
	list, err := a.s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.ScheduleStatus, 0, len(list))
	for _, st := range list {
		v := api.ScheduleStatus{Name: st.Name, Runbook: st.Runbook, Cron: st.Cron, Timezone: st.Timezone,
			Catchup: st.Catchup, Overlap: st.Overlap, Paused: st.Paused}
		if !st.Paused {
			v.NextFire = st.Next
		}
		if l := st.Last; l != nil {
			v.LastFire = &api.LastFire{Slot: l.Slot, RunID: l.RunID, Outcome: l.Outcome}
		}
		out = append(out, v)
	}
	return out, nil
}

func (a schedules) Pause(ctx context.Context, name, by string) error {
	return scheduleErr(a.s.Pause(ctx, name, by))
}

func (a schedules) Resume(ctx context.Context, name, by string) error {
	return scheduleErr(a.s.Resume(ctx, name, by))
}

func (a schedules) Fire(ctx context.Context, name, by string) (string, error) {
	id, err := a.s.Fire(ctx, name, by)
	return id, scheduleErr(err)
}

// scheduleErr is the API's ErrNoSchedule for a name the scheduler does
// not know, with the scheduler's message (and its did-you-mean).
func scheduleErr(err error) error {
	if errors.Is(err, schedule.ErrNotFound) {
		return fmt.Errorf("%w: %w", api.ErrNoSchedule, err)
	}
	return err
}
