package hooks

import (
	"context"
	"maps"
	"slices"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// Runs starts runs with the run service, each in the background
// (runs.Background, which steward serve shares with its API): Start
// returns once the run's run.started record is written, and the run goes
// on (to its end, or until it waits for an approval). It is the Starter
// of steward serve, and of tests.
type Runs struct {
	bg      *runs.Background
	svc     *runs.Service
	resolve func(name string) (*runbooks.Document, error)
}

// NewRuns returns a Runs executing runs in bg, finding runbooks by name
// with resolve (runbooks.ResolveName over the configured folders).
func NewRuns(bg *runs.Background, svc *runs.Service, resolve func(name string) (*runbooks.Document, error)) *Runs {
	return &Runs{bg: bg, svc: svc, resolve: resolve}
}

// Starter returns r.Start as a Starter.
func (r *Runs) Starter() Starter { return r.Start }

// Start prepares runbook and starts a run of it; see Starter. It fails,
// starting nothing, when the runbook cannot be found or does not
// validate (*runs.InvalidRunbookError), when the inputs do not fit
// (*engine.InputsError), or when the trigger's key is held
// (*journal.DuplicateError).
func (r *Runs) Start(ctx context.Context, runbook string, inputs map[string]any, actor string, trigger *journal.Trigger) (string, error) {
	doc, err := r.resolve(runbook)
	if err != nil {
		return "", err
	}
	plan := r.svc.Prepare(doc, nil)
	if err := plan.Err(); err != nil {
		return "", err
	}
	inputs, err = typed(plan, inputs)
	if err != nil {
		return "", err
	}
	return r.bg.Launch(ctx, func(ctx context.Context, progress engine.Sink) error {
		_, err := r.svc.Start(ctx, plan, runs.StartRequest{Inputs: inputs, Actor: actor, Trigger: trigger, Progress: progress})
		return err
	})
}

// typed reads a text given for an input of another type (a template that
// wrote a number into text, "42") as --input reads it; other values are
// checked as they are by the run service.
func typed(plan *runs.Plan, inputs map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(inputs))
	var errs []*engine.InputError
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		v := inputs[k]
		out[k] = v
		s, ok := v.(string)
		if !ok {
			continue
		}
		for _, in := range plan.Runbook.Inputs {
			if in.Name == k && in.Type != schema.TypeString && in.Type != "" {
				x, err := engine.ParseInput(in, s)
				if err != nil {
					errs = append(errs, &engine.InputError{Input: k, Message: err.Error()})
					continue
				}
				out[k] = x
			}
		}
	}
	if len(errs) > 0 {
		return nil, &engine.InputsError{Errors: errs}
	}
	return out, nil
}
