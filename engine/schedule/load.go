package schedule

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// entry is one schedule: a `schedule:` item of a runbook.
type entry struct {
	name    string // RUNBOOK, or RUNBOOK/N (N from 0) when it has several
	runbook string
	doc     *runbooks.Document
	sc      *schema.Schedule
	slots   *Slots
	inputs  map[string]any
}

// same says whether e and o have the same slots (spec and zone).
func (e *entry) same(o *entry) bool {
	return e.sc.Cron == o.sc.Cron && e.sc.Timezone == o.sc.Timezone
}

// loaded is what one reading of the folders found.
type loaded struct {
	entries map[string]*entry
	// invalid are runbooks that cannot run now, with their diagnostics:
	// their schedules, when they had some, are kept as they were.
	invalid map[string]invalid
}

// invalid is a runbook that cannot run; scheduled when it has schedules
// (as far as it could be read).
type invalid struct {
	diags     string
	scheduled bool
	// why it cannot run: "runbook is invalid", or that a plugin it uses
	// is not installed (its diagnostics are then warnings only).
	why string
}

const whyInvalid = "runbook is invalid"

// load reads the runbooks of Documents and of the folders and returns
// their schedules. Bundled runbooks are not scheduled: a schedule fires
// only from a source or folder the installation configures (copy
// access-review there to schedule it).
func (s *Scheduler) load(ctx context.Context) (*loaded, error) {
	var docs []*runbooks.Document
	if s.cfg.Documents != nil {
		var err error
		if docs, err = s.cfg.Documents(ctx); err != nil {
			return nil, fmt.Errorf("schedule: reading the pinned runbooks: %w", err)
		}
	}
	list, err := runbooks.ListWith(docs, s.cfg.Folders)
	if err != nil {
		return nil, fmt.Errorf("schedule: reading the runbook folders: %w", err)
	}
	out := &loaded{entries: map[string]*entry{}, invalid: map[string]invalid{}}
	for _, le := range list {
		if le.Bundled || le.Runbook == nil {
			continue
		}
		if len(le.Runbook.Schedule) == 0 {
			if le.Problems > 0 {
				// Perhaps an edit broke a scheduled runbook so that its
				// schedules cannot be read: the old ones are kept.
				_, diags := schema.Load(le.Doc.File, le.Doc.Src)
				out.invalid[le.Name] = invalid{diags.Render(), false, whyInvalid}
			}
			continue
		}
		// Check the runbook as a run would (actions, inputs of schedules).
		plan := s.cfg.Runs.Prepare(le.Doc, nil)
		if plan.Err() != nil {
			why := whyInvalid
			if n, _ := plan.Diagnostics.Count(); n == 0 {
				why = "runbook uses a plugin that is not installed"
			}
			out.invalid[le.Name] = invalid{plan.Diagnostics.Render(), len(le.Runbook.Schedule) > 0, why}
			continue
		}
		rb := plan.Runbook
		for i, sc := range rb.Schedule {
			name := rb.Name
			if len(rb.Schedule) > 1 {
				name += "/" + strconv.Itoa(i)
			}
			slots, err := NewSlots(sc.Cron, sc.Location)
			if err != nil {
				out.invalid[le.Name] = invalid{err.Error(), true, whyInvalid}
				continue
			}
			inputs := map[string]any{}
			if sc.Inputs != nil {
				if m, ok := sc.Inputs.Go().(map[string]any); ok {
					inputs = m
				}
			}
			out.entries[name] = &entry{name: name, runbook: rb.Name, doc: le.Doc, sc: sc, slots: slots, inputs: inputs}
		}
	}
	return out, nil
}

// names returns the sorted names of m.
func names[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
