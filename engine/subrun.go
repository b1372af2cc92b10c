package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// MaxSubRunDepth bounds core.runbook nesting, against a runbook that calls
// itself.
const MaxSubRunDepth = 8

type depthKey struct{}

// SubRuns runs the sub-runs of core.runbook: Resolve finds a runbook by
// name, Catalog validates it, Options gives the options of its run (with
// its id, so that a journal can record it, or resume it when the parent's
// step runs again). A sub-run is a dry run when its parent is, and has the
// id PARENT_RUN.STEP, or PARENT_RUN.STEP.INDEX for a for_each item.
type SubRuns struct {
	Resolve func(name string) (*runbooks.Document, error)
	Catalog schema.Catalog
	Options func(id string, rb *schema.Runbook, doc *runbooks.Document, parent *actions.Request) (Options, error)
	// MockedPlugins lets a sub-run use actions of plugins not installed
	// (validation warnings), as runbook tests do, which mock them; a real
	// sub-run refuses them before it starts.
	MockedPlugins bool
}

// SubRunID is the id of the sub-run a core.runbook request starts.
func SubRunID(parent *actions.Request) string {
	id := parent.RunID + "." + parent.StepID
	if parent.Index >= 0 {
		id += "." + strconv.Itoa(parent.Index)
	}
	return id
}

// Run has the signature of core.RunFunc.
func (s SubRuns) Run(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
	depth, _ := ctx.Value(depthKey{}).(int)
	if depth >= MaxSubRunDepth {
		return nil, actions.Errorf(actions.CodeFailed, "core.runbook: sub-runs nested more than %d deep", MaxSubRunDepth)
	}
	doc, err := s.Resolve(name)
	if err != nil {
		return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook: %v", err)
	}
	rb, diags := schema.Check(doc.File, doc.Src, s.Catalog)
	if s.MockedPlugins {
		diags = diags.Errors()
	} else {
		diags = diags.Strict()
	}
	if len(diags) > 0 {
		return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook: %s is invalid: %s", name, diags[0].Header())
	}
	id := SubRunID(parent)
	opts, err := s.Options(id, rb, doc, parent)
	if err != nil {
		return nil, actions.Errorf(actions.CodeFailed, "core.runbook %s: %v", name, err)
	}
	opts.RunID = id
	opts.DryRun = parent.DryRun
	opts.Version = doc.SHA256
	res, err := Run(context.WithValue(ctx, depthKey{}, depth+1), rb, inputs, opts)
	var ie *InputsError
	if errors.As(err, &ie) {
		return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook %s: %v", name, err)
	}
	if err != nil {
		return nil, err
	}
	if res.Status != StatusSucceeded {
		msg := string(res.Status)
		if res.Error != nil {
			msg = res.Error.Message
		}
		return nil, &actions.Error{Code: actions.CodeFailed, Message: fmt.Sprintf("sub-run %s of %s %s: %s", res.ID, name, res.Status, msg)}
	}
	return res.Outputs, nil
}
