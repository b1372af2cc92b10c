package main

import (
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// newRegistry returns the built-in actions. Sub-runs of core.runbook use
// the same registry and options as the run that starts them.
func newRegistry(clock clockwork.Clock, folders []string, base engine.Options) *actions.Registry {
	reg := actions.NewRegistry()
	sub := engine.SubRuns{
		Resolve: func(name string) (*runbooks.Document, error) { return runbooks.Resolve(name, folders) },
		Catalog: reg,
		Options: func(*schema.Runbook, *actions.Request) engine.Options {
			opts := base
			opts.Registry, opts.Sink = reg, nil
			return opts
		},
	}
	must(reg.Register(core.Actions(clock, sub.Run)...))
	must(reg.Register(httpaction.New("steward/"+buildVersion()), execaction.New()))
	return reg
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
