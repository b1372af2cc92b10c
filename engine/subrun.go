package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// MaxSubRunDepth bounds core.runbook nesting, against a runbook that calls
// itself.
const MaxSubRunDepth = 8

// DefaultMaxSubRuns is how many sub-runs one run may start, all levels
// together, unless SubRuns.Max says otherwise: depth alone does not bound
// them (a runbook calling itself 4 times per level would start 4^8).
const DefaultMaxSubRuns = 100

// CodeSubRunLimit is the error code of a core.runbook step refused because
// its run has started as many sub-runs as it may.
const CodeSubRunLimit actions.Code = "sub_run_limit"

type depthKey struct{}

// budgetKey holds the *atomic.Int64 counting the sub-runs asked for under
// one run: set by Run for a run that is not itself a sub-run, shared by
// all its sub-runs.
type budgetKey struct{}

// withSubRunBudget gives ctx a count of sub-runs, unless it has one (it is
// a sub-run's).
func withSubRunBudget(ctx context.Context) context.Context {
	if _, ok := ctx.Value(budgetKey{}).(*atomic.Int64); ok {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, new(atomic.Int64))
}

// SubRuns runs the sub-runs of core.runbook: Resolve finds a runbook by
// name (only a runbook name reaches it, never a path) for the step
// parent, whose RunID is the run that calls it (a runbook read from a
// Git source's commit calls those of that commit), Catalog validates it,
// Options gives the options of its run (with its id, so that a journal
// can record it, or resume it when the parent's step runs again). A
// sub-run is a dry run when its parent is, and has the id
// PARENT_RUN.STEP, or PARENT_RUN.STEP.INDEX for a for_each item.
type SubRuns struct {
	Resolve func(name string, parent *actions.Request) (*runbooks.Document, error)
	Catalog schema.Catalog
	Options func(id string, rb *schema.Runbook, doc *runbooks.Document, parent *actions.Request) (Options, error)
	// MockedPlugins lets a sub-run use actions of plugins not installed
	// (validation warnings), as runbook tests do, which mock them; a real
	// sub-run refuses them before it starts.
	MockedPlugins bool
	// Max is how many sub-runs one run may start, all levels together,
	// each time it runs or goes on; 0 means DefaultMaxSubRuns. A
	// core.runbook step beyond it fails with CodeSubRunLimit.
	Max int
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
	if !schema.IsName(name) {
		// A path would read any file: a runbook taking the name from an
		// input must not run, or quote, what is not a runbook.
		return nil, actions.Errorf(actions.CodeInvalidInput,
			"core.runbook: %q is not a runbook name: give the name of a runbook in the runbook folders or the bundled library, never a path", name)
	}
	limit := s.Max
	if limit <= 0 {
		limit = DefaultMaxSubRuns
	}
	if n, ok := ctx.Value(budgetKey{}).(*atomic.Int64); ok && n.Add(1) > int64(limit) {
		return nil, &actions.Error{Code: CodeSubRunLimit, Message: fmt.Sprintf(
			"core.runbook %s: this run has started %d sub-runs, all levels together, the most one run may "+
				"(runs.max_sub_runs in steward.yaml); a runbook that calls itself must stop sooner", name, limit)}
	}
	doc, err := s.Resolve(name, parent)
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
	asked := &questions{inner: opts.Sink}
	opts.Sink = asked
	res, err := Run(context.WithValue(ctx, depthKey{}, depth+1), rb, inputs, opts)
	var ie *InputsError
	if errors.As(err, &ie) {
		return nil, actions.Errorf(actions.CodeInvalidInput, "core.runbook %s: %v", name, err)
	}
	if err != nil {
		return nil, err
	}
	if res.Status == StatusWaiting {
		return nil, &SubRunWaiting{ID: res.ID, Runbook: name, Questions: asked.list}
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

// Question is what a waiting run asks a person, named by its step path
// from the run that shows it: STEP for its own step, SUB.STEP for step
// STEP of the sub-run its step SUB started (SUB.INDEX.STEP for a for_each
// item), and so on down nested sub-runs. steward approve RUN PATH decides
// it.
type Question struct {
	Step        string   `json:"step"`
	Message     string   `json:"message,omitempty"`
	Approvers   []string `json:"approvers,omitempty"`
	Interrupted bool     `json:"interrupted,omitempty"`
}

// SubRunWaiting is core.runbook's error when its sub-run stopped to wait
// for a person: the step that started it waits too, and so does its run.
// The sub-run's attempt stays open: when the run goes on, the step runs
// core.runbook again, which goes on with the sub-run from its records
// (SubRuns.Options), the decision included.
type SubRunWaiting struct {
	ID      string // the sub-run
	Runbook string
	// Questions are what the sub-run waits for, paths from the sub-run.
	Questions []Question
}

func (e *SubRunWaiting) Error() string {
	steps := make([]string, len(e.Questions))
	for i, q := range e.Questions {
		steps[i] = q.Step
	}
	return fmt.Sprintf("sub-run %s of %s waits for a decision on %s", e.ID, e.Runbook, strings.Join(steps, ", "))
}

// questions is a sub-run's sink: it passes each event on, and keeps the
// questions the sub-run asks.
type questions struct {
	inner Sink
	list  []Question // events arrive one at a time
}

func (q *questions) Event(e *Event) {
	if e.Type == StepWaiting {
		step := e.Step
		if e.Nested != "" {
			step = e.Nested
		}
		q.list = append(q.list, Question{Step: step, Message: e.Message, Approvers: e.Approvers, Interrupted: e.Interrupted})
	}
	if q.inner != nil {
		q.inner.Event(e)
	}
}

// Err implements FailingSink: the inner sink's failure.
func (q *questions) Err() error {
	if fs, ok := q.inner.(FailingSink); ok {
		return fs.Err()
	}
	return nil
}
