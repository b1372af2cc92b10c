// Package core provides the built-in core.* actions: core.log, core.set,
// core.fail, core.sleep, core.runbook and core.read_file. None of them
// reaches outside the engine except core.runbook, which starts a sub-run
// through the function it is given, and core.read_file, which reads a file
// inside the runbook's folder (Request.Files).
package core

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/schema"
)

// RunFunc starts a sub-run of the named runbook with inputs and returns its
// outputs. parent is the request of the core.runbook step, to link the runs.
type RunFunc func(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error)

// Actions returns every core action. run may be nil when sub-runs are not
// available; core.runbook then fails with a clear error.
func Actions(clock clockwork.Clock, run RunFunc) []actions.Action {
	return []actions.Action{logAction{}, setAction{}, failAction{}, sleepAction{clock}, runbookAction{run}, readFileAction{}}
}

func str(desc string) *schema.DataSchema {
	return &schema.DataSchema{Type: schema.Types{"string"}, Description: desc}
}

func object(required []string, props map[string]*schema.DataSchema) *schema.DataSchema {
	return &schema.DataSchema{Type: schema.Types{"object"}, Properties: props, Required: required}
}

type logAction struct{}

var logLevels = []any{"debug", "info", "warn", "error"}

var logSpec = actions.Spec{
	Name:        "core.log",
	Description: "Writes a message to the run's progress output and record.",
	Input: object([]string{"message"}, map[string]*schema.DataSchema{
		"message": str("the text to write"),
		"level":   {Type: schema.Types{"string"}, Enum: logLevels, Default: "info", Description: "debug, info, warn or error"},
	}),
	Output: object(nil, map[string]*schema.DataSchema{"message": str("the text written")}),
}

// Spec implements actions.Action.
func (logAction) Spec() actions.Spec { return logSpec }

func (logAction) Execute(_ context.Context, req *actions.Request) (map[string]any, error) {
	msg, _ := req.With["message"].(string)
	level, _ := req.With["level"].(string)
	if level == "" {
		level = "info"
	}
	if req.Log != nil {
		req.Log(level, msg)
	}
	return map[string]any{"message": msg}, nil
}

type setAction struct{}

var setSpec = actions.Spec{
	Name:        "core.set",
	Description: "Returns its with as its outputs: names computed values for later steps.",
	Input:       &schema.DataSchema{Type: schema.Types{"object"}, Description: "any mapping"},
	Output:      &schema.DataSchema{Type: schema.Types{"object"}, Description: "the with, unchanged"},
}

// Spec implements actions.Action.
func (setAction) Spec() actions.Spec { return setSpec }

func (setAction) Execute(_ context.Context, req *actions.Request) (map[string]any, error) {
	out := make(map[string]any, len(req.With))
	for k, v := range req.With {
		out[k] = v
	}
	return out, nil
}

type failAction struct{}

var failSpec = actions.Spec{
	Name:        "core.fail",
	Description: "Fails the step with a message: stops the run unless the step continues on error.",
	Input: object([]string{"message"}, map[string]*schema.DataSchema{
		"message":   str("why the run stops"),
		"code":      str("an error code for on_failure and retry.when (default failed)"),
		"retryable": {Type: schema.Types{"boolean"}, Description: "whether a retry may help (default false)"},
	}),
}

// Spec implements actions.Action.
func (failAction) Spec() actions.Spec { return failSpec }

func (failAction) Execute(_ context.Context, req *actions.Request) (map[string]any, error) {
	msg, _ := req.With["message"].(string)
	s, _ := req.With["code"].(string)
	code := actions.Code(s)
	if code == "" {
		code = actions.CodeFailed
	}
	retry, _ := req.With["retryable"].(bool)
	return nil, &actions.Error{Code: code, Message: msg, Retryable: retry}
}

type sleepAction struct{ clock clockwork.Clock }

var sleepSpec = actions.Spec{
	Name:        "core.sleep",
	Description: "Waits for a duration, e.g. for a change to propagate.",
	Input: object([]string{"duration"}, map[string]*schema.DataSchema{
		"duration": {Type: schema.Types{"string"}, Format: "duration", Description: "how long, e.g. 30s"},
	}),
	Output: object(nil, map[string]*schema.DataSchema{"slept": str("the duration waited")}),
}

// Spec implements actions.Action.
func (sleepAction) Spec() actions.Spec { return sleepSpec }

func (a sleepAction) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	s, _ := req.With["duration"].(string)
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return nil, actions.Errorf(actions.CodeInvalidInput, "duration: invalid duration %q", s)
	}
	t := a.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return map[string]any{"slept": d.String()}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type runbookAction struct{ run RunFunc }

var runbookSpec = actions.Spec{
	Name:        "core.runbook",
	Description: "Runs another runbook as a sub-run and returns its outputs.",
	Input: object([]string{"name"}, map[string]*schema.DataSchema{
		"name": {Type: schema.Types{"string"}, Pattern: schema.NamePattern,
			Description: "the runbook to run, by name (never a path): found as steward run NAME finds it, in its caller's Git commit first"},
		"inputs": {Type: schema.Types{"object"}, Description: "its inputs"},
	}),
	Output: &schema.DataSchema{Type: schema.Types{"object"}, Description: "the sub-run's outputs"},
	// A sub-run may do anything its runbook does; dry-run passes
	// through to it instead of skipping it (see the engine).
	Mutates: true,
}

// Spec implements actions.Action.
func (runbookAction) Spec() actions.Spec { return runbookSpec }

// Mutates implements actions.RequestMutator: a sub-run is always executed,
// so that a dry run shows what the sub-runbook's own steps would do; the
// sub-run is itself a dry run then, and skips its mutating actions.
func (runbookAction) Mutates(map[string]any) bool { return false }

func (a runbookAction) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	if a.run == nil {
		return nil, actions.Errorf(actions.CodeFailed, "core.runbook is not available here")
	}
	name, _ := req.With["name"].(string)
	inputs, _ := req.With["inputs"].(map[string]any)
	return a.run(ctx, name, inputs, req)
}
