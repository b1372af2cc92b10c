package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// maxSubRunDepth bounds core.runbook nesting, against a runbook that calls
// itself.
const maxSubRunDepth = 8

type depthKey struct{}

// newRegistry returns the built-in actions. Sub-runs of core.runbook use
// the same registry and options as the run that starts them.
func newRegistry(clock clockwork.Clock, folders []string, base engine.Options) *actions.Registry {
	reg := actions.NewRegistry()
	sub := func(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
		depth, _ := ctx.Value(depthKey{}).(int)
		if depth >= maxSubRunDepth {
			return nil, actions.Errorf(actions.CodeFailed, "core.runbook: sub-runs nested more than %d deep", maxSubRunDepth)
		}
		doc, err := runbooks.Resolve(name, folders)
		if err != nil {
			return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook: %v", err)
		}
		rb, diags := schema.Check(doc.File, doc.Src, reg)
		if len(diags) > 0 {
			return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook: %s is invalid: %s", name, diags[0].Header())
		}
		opts := base
		opts.Registry, opts.Sink, opts.RunID = reg, nil, parent.RunID+"."+parent.StepID
		opts.DryRun = parent.DryRun
		opts.Version = doc.SHA256
		res, err := engine.Run(context.WithValue(ctx, depthKey{}, depth+1), rb, inputs, opts)
		var ie *engine.InputsError
		if errors.As(err, &ie) {
			return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook %s: %v", name, err)
		}
		if err != nil {
			return nil, err
		}
		if res.Status != engine.StatusSucceeded {
			msg := string(res.Status)
			if res.Error != nil {
				msg = res.Error.Message
			}
			return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("sub-run %s of %s %s: %s", res.ID, name, res.Status, msg)}
		}
		return res.Outputs, nil
	}
	must(reg.Register(core.Actions(clock, sub)...))
	must(reg.Register(httpaction.New("steward/"+buildVersion()), execaction.New()))
	return reg
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
