package main

import (
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
)

// builtins returns a registry of the built-in actions; core.runbook runs
// its sub-runs with sub (the run service's), or cannot run when sub is
// nil (validate and test only read the specs).
func builtins(clock clockwork.Clock, sub core.RunFunc) *actions.Registry {
	reg := actions.NewRegistry()
	must(reg.Register(core.Actions(clock, sub)...))
	must(reg.Register(httpaction.New("steward/"+buildVersion()), execaction.New()))
	return reg
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
