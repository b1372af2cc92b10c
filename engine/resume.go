package engine

import (
	"fmt"
	"time"
)

// Resume is what a journal recorded of a run that stopped before its end:
// killed, or waiting for an approval. Run goes on from there: steps that
// finished are not run again (their results are reused), steps that did
// not finish run again with the same idempotency keys, except that an
// interrupted attempt of an action that mutates and is not idempotent waits
// for a person to decide (an ApprovalRequest with Interrupted set).
type Resume struct {
	StartedAt time.Time
	// By is who resumes the run (the run.resumed event's actor).
	By string
	// Steps are the steps that started, by phase and id.
	Steps map[StepKey]*Prior
}

// StepKey names a step in a phase.
type StepKey struct {
	Phase Phase
	ID    string
}

// Prior is what was recorded of one step.
type Prior struct {
	// Result is the step as recorded. Its Status is succeeded, failed or
	// skipped when the step finished; anything else means it did not.
	Result StepResult
	// Items are its items (-1 for a step without for_each) that started.
	Items map[int]*PriorItem
}

// PriorItem is what was recorded of one item of a step.
type PriorItem struct {
	// Status is succeeded or failed when the item finished, "" otherwise.
	Status  Status
	Outputs any
	Error   *ErrorInfo
	// Attempt is the last attempt that started; Open says it never
	// ended, and Mutates and Idempotent what its action declared.
	Attempt    int
	Open       bool
	Mutates    bool
	Idempotent bool
}

// Finished says whether the step ended before the run stopped.
func (p *Prior) Finished() bool {
	switch p.Result.Status {
	case StatusSucceeded, StatusFailed, StatusSkipped:
		return true
	}
	return false
}

// unsafe returns an interrupted attempt that must not run again without a
// person's decision: its action mutates and is not idempotent.
func (p *Prior) unsafe() (int, *PriorItem) {
	for i, it := range p.Items {
		if it.Status == "" && it.Open && it.Mutates && !it.Idempotent {
			return i, it
		}
	}
	return 0, nil
}

func interruptedMessage(action string, index int, it *PriorItem) string {
	what := fmt.Sprintf("attempt %d of %s", it.Attempt, action)
	if index >= 0 {
		what = fmt.Sprintf("item %d, %s", index, what)
	}
	return fmt.Sprintf("interrupted during %s, which mutates and is not idempotent: nobody knows whether it took effect. Check, then approve to run it again or deny to fail the step", what)
}

// prior returns what was recorded of a step, or nil.
func (r *runner) prior(phase Phase, id string) *Prior {
	if r.opts.Resume == nil {
		return nil
	}
	return r.opts.Resume.Steps[StepKey{phase, id}]
}
