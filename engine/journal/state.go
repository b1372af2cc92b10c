package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/redact"
)

// State is what the journal knows of one run: enough to show it, to
// decide its approvals and to resume it.
type State struct {
	Run     Run
	Origin  Origin
	Inputs  map[string]any // redacted: secret inputs are "***"
	Outputs map[string]any
	Error   *engine.ErrorInfo
	// Resume is where the run stands, for engine.Options.Resume.
	Resume *engine.Resume
	// Steps are the steps in the order they started, for show.
	Steps []*engine.StepResult
	// Waiting are the steps waiting for a decision, in the order they
	// asked.
	Waiting []*Waiting
	// Decisions are the approval decisions, in order.
	Decisions []*Decision
	// Records are the run's records, for show.
	Records []Record
	// Resumed counts the times the run went on after it stopped.
	Resumed int

	lastAttempt map[engine.StepKey]int64
	asked       map[waitKey]time.Time
}

// Waiting is a step waiting for a person.
type Waiting struct {
	Step        string    `json:"step"`
	Message     string    `json:"message,omitempty"`
	Interrupted bool      `json:"interrupted,omitempty"`
	Since       time.Time `json:"since"` // when it first asked
	// Approvers are who may decide, as resolved when the step asked; nil
	// in records written before approvers were recorded.
	Approvers []string `json:"approvers,omitempty"`
}

// Decision is a recorded approval decision.
type Decision struct {
	Step        string    `json:"step"`
	Approved    bool      `json:"approved"`
	By          string    `json:"by"`
	Comment     string    `json:"comment,omitempty"`
	Interrupted bool      `json:"interrupted,omitempty"`
	Time        time.Time `json:"time"`
	Seq         int64     `json:"seq"`
}

// Load reads a run's records and rebuilds its state.
func Load(ctx context.Context, s Store, runID string) (*State, error) {
	run, err := s.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	st := &State{Run: run, Resume: &engine.Resume{StartedAt: run.StartedAt, Steps: map[engine.StepKey]*engine.Prior{}}}
	b := &builder{st: st, lastAttempt: map[engine.StepKey]int64{}, asked: map[waitKey]time.Time{}}
	err = s.Records(ctx, runID, time.Time{}, func(rec Record) error {
		st.Records = append(st.Records, rec)
		d, err := rec.Decode()
		if err != nil {
			return fmt.Errorf("journal: record %d of run %s: %w", rec.Seq, runID, err)
		}
		b.apply(rec, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(st.Records) == 0 {
		return nil, fmt.Errorf("%w: %s has no records", ErrRunNotFound, runID)
	}
	b.finish()
	return st, nil
}

type waitKey struct {
	step        string
	interrupted bool
}

type builder struct {
	st          *State
	lastAttempt map[engine.StepKey]int64 // seq of the last attempt started, by step
	asked       map[waitKey]time.Time
	waiting     map[waitKey]*Waiting
}

func (b *builder) prior(phase engine.Phase, id, action string, t time.Time) *engine.Prior {
	k := engine.StepKey{Phase: phase, ID: id}
	p := b.st.Resume.Steps[k]
	if p == nil {
		p = &engine.Prior{Result: engine.StepResult{ID: id, Action: action, Phase: phase, StartedAt: t}, Items: map[int]*engine.PriorItem{}}
		b.st.Resume.Steps[k] = p
		b.st.Steps = append(b.st.Steps, &p.Result)
	}
	return p
}

func (b *builder) item(p *engine.Prior, i int) *engine.PriorItem {
	it := p.Items[i]
	if it == nil {
		it = &engine.PriorItem{}
		p.Items[i] = it
	}
	return it
}

func (b *builder) apply(rec Record, d *Data) {
	st := b.st
	t := rec.Time
	switch engine.EventType(rec.Type) {
	case engine.RunStarted:
		st.Inputs = d.Inputs
		if d.Origin != nil {
			st.Origin = *d.Origin
		}
	case engine.RunResumed:
		st.Resumed++
		st.Run.FinishedAt = time.Time{}
	case engine.StepStarted:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		p.Result.Status = engine.StatusRunning
		p.Result.Name, p.Result.Items = d.Name, d.Items
		if d.Attempt > 0 { // merged with its first attempt
			b.attempt(rec, p, d)
		}
	case engine.AttemptStarted:
		b.attempt(rec, b.prior(d.Phase, d.Step, d.Action, t), d)
	case engine.AttemptFailed:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		it := b.item(p, d.index())
		if d.Error != nil && d.Error.Code == "cancelled" {
			// Cancelled mid-flight: nobody knows whether it took effect.
			break
		}
		it.Open = false
		if d.RetryIn == "" {
			it.Status, it.Error = engine.StatusFailed, d.Error
		}
	case engine.ItemFinished:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		it := b.item(p, d.index())
		it.Status, it.Outputs, it.Error, it.Open = d.Status, d.Outputs, d.Error, false
	case engine.StepWaiting:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		p.Result.Status = engine.StatusWaiting
		k := waitKey{d.Step, d.Interrupted}
		if _, ok := b.asked[k]; !ok {
			b.asked[k] = t
		}
		if b.waiting == nil {
			b.waiting = map[waitKey]*Waiting{}
		}
		b.waiting[k] = &Waiting{Step: d.Step, Message: d.Message, Interrupted: d.Interrupted, Since: b.asked[k], Approvers: d.Approvers}
	case engine.StepSkipped:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		p.Result.Status, p.Result.Reason = engine.StatusSkipped, d.Message
	case engine.StepFinished:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		p.Result.Status, p.Result.Outputs, p.Result.Error = d.Status, d.Outputs, d.Error
		p.Result.FinishedAt = t
		p.Result.Duration = engine.Duration(d.duration())
		if d.Status == engine.StatusSucceeded || d.Status == engine.StatusFailed {
			for _, it := range p.Items {
				it.Open = false
			}
		}
	case engine.RunFinished:
		st.Outputs, st.Error = nil, d.Error
		if m, ok := d.Outputs.(map[string]any); ok {
			st.Outputs = m
		}
	case ApprovalDecided:
		st.Decisions = append(st.Decisions, &Decision{Step: d.Step, Approved: d.Approved, By: d.By, Comment: d.Comment,
			Interrupted: d.Interrupted, Time: t, Seq: rec.Seq})
		delete(b.waiting, waitKey{d.Step, d.Interrupted})
	}
	if d.Step != "" {
		if p := st.Resume.Steps[engine.StepKey{Phase: d.Phase, ID: d.Step}]; p != nil && d.Attempt > p.Result.Attempts {
			p.Result.Attempts = d.Attempt
		}
	}
}

func (b *builder) attempt(rec Record, p *engine.Prior, d *Data) {
	it := b.item(p, d.index())
	it.Attempt, it.Open, it.Mutates, it.Idempotent = d.Attempt, true, d.Mutates, d.Idempotent
	it.Status = ""
	b.lastAttempt[engine.StepKey{Phase: d.Phase, ID: d.Step}] = rec.Seq
}

func (b *builder) finish() {
	for k, p := range b.st.Resume.Steps {
		if k.Phase == engine.PhaseMain && p.Result.Status == engine.StatusSucceeded && redacted(p.Result.Outputs) && readOnly(p) {
			// Its outputs hold a secret the journal never kept: a
			// read-only step is run again to learn it; one that
			// mutates is not, and later steps see "***".
			p.Result.Status = engine.StatusRunning
			for _, it := range p.Items {
				it.Status, it.Open = "", false
			}
		}
	}
	for _, w := range b.waiting {
		b.st.Waiting = append(b.st.Waiting, w)
	}
	// In the order they asked.
	ws := b.st.Waiting
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].Since.Before(ws[j-1].Since); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
	b.st.lastAttempt = b.lastAttempt
	b.st.asked = b.asked
}

// Terminal says whether the run has ended for good.
func (s *State) Terminal() bool {
	switch engine.Status(s.Run.Status) {
	case engine.StatusSucceeded, engine.StatusFailed, engine.StatusCancelled:
		return true
	}
	return false
}

// ErrNotWaiting is returned when a decision is given for a step that does
// not wait for one.
var ErrNotWaiting = errors.New("journal: the step is not waiting for a decision")

// redacted says whether recorded outputs had a secret replaced.
func redacted(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, redact.Mask)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, redact.Mask) || redacted(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if redacted(e) {
				return true
			}
		}
	}
	return false
}

// readOnly says whether no attempt of the step mutated.
func readOnly(p *engine.Prior) bool {
	for _, it := range p.Items {
		if it.Mutates {
			return false
		}
	}
	return true
}
