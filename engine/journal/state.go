package journal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/redact"
)

// State is what the journal knows of one run: enough to show it, to
// decide its approvals and to resume it.
type State struct {
	// Run is the run's summary as the store lists it, with the fields
	// its records hold (runbook, version, actor, dry-run, parent, status,
	// start and end) as the records say them.
	Run Run
	// Mismatches are the fields of the listed summary that differ from
	// the records: the runs list was changed (see Verify).
	Mismatches []Mismatch
	Origin     Origin
	// Version is the runbook version (SHA-256 of its content) that the
	// run.started record names: the source the run goes on with must
	// hash to it.
	Version string
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
	// Subjects are who the change is about, as resolved when the step
	// asked: they may not decide it.
	Subjects []string `json:"subjects,omitempty"`
	// Question is the record that opened the question: for an approval,
	// the step's first step.waiting; for an interrupted attempt, the
	// attempt's record. A question is decided once (see DecisionKey).
	Question int64 `json:"question"`
	// SubRun marks the question of a sub-run, Step being its path from
	// this run (SUB.STEP, see engine.Question): it is decided, and
	// recorded, in the sub-run.
	SubRun bool `json:"sub_run,omitempty"`
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

// Load reads a run's summary and records, from one snapshot of the store,
// and rebuilds its state.
func Load(ctx context.Context, s Store, runID string) (st *State, err error) {
	err = s.Snapshot(ctx, func(r Reader) error {
		st, err = load(ctx, r, runID)
		return err
	})
	return st, err
}

func load(ctx context.Context, s Reader, runID string) (*State, error) {
	run, err := s.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	st := &State{Run: run, Resume: &engine.Resume{StartedAt: run.StartedAt, Steps: map[engine.StepKey]*engine.Prior{}}}
	b := &builder{st: st, lastAttempt: map[engine.StepKey]int64{}, asked: map[waitKey]time.Time{}, askedSeq: map[waitKey]int64{}}
	err = s.Records(ctx, runID, time.Time{}, func(rec Record) error {
		st.Records = append(st.Records, rec)
		d, err := rec.Decode()
		if err != nil {
			return fmt.Errorf("journal: record %d of run %s: %w", rec.Seq, runID, err)
		}
		b.apply(rec, d)
		b.rec.apply(rec, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(st.Records) == 0 {
		return nil, fmt.Errorf("%w: %s has no records", ErrRunNotFound, runID)
	}
	b.finish()
	st.Mismatches = b.rec.mismatches(run)
	b.rec.fill(&st.Run)
	st.Resume.StartedAt = st.Run.StartedAt
	return st, nil
}

// startedVersion is the runbook version a run.started record names.
func startedVersion(d *Data) string {
	if d.Version == "" && d.Origin != nil {
		return d.Origin.SHA256
	}
	return d.Version
}

type waitKey struct {
	step        string
	interrupted bool
}

type builder struct {
	st          *State
	rec         recorded
	lastAttempt map[engine.StepKey]int64 // seq of the last attempt started, by step
	asked       map[waitKey]time.Time
	askedSeq    map[waitKey]int64 // the step.waiting that first asked
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
		st.Version = startedVersion(d)
	case engine.RunResumed:
		st.Resumed++
	case engine.StepStarted:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		p.Result.Status = engine.StatusRunning
		b.dropNested(p, d.Step)
		p.Result.Name, p.Result.Items = d.Name, d.Items
		if d.Attempt > 0 { // merged with its first attempt
			b.attempt(rec, p, d)
		}
	case engine.AttemptStarted:
		b.attempt(rec, b.prior(d.Phase, d.Step, d.Action, t), d)
	case engine.AttemptFailed:
		p := b.prior(d.Phase, d.Step, d.Action, t)
		it := b.item(p, d.index())
		if d.Error != nil && d.Error.Code == actions.CodeCancelled {
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
		if d.Nested != "" {
			// The step's sub-run waits: the question is the sub-run's,
			// named by its path from this run, and decided there.
			p.Result.Nested = append(p.Result.Nested, engine.Question{Step: d.Nested, Message: d.Message, Approvers: d.Approvers,
				Interrupted: d.Interrupted})
			if b.waiting == nil {
				b.waiting = map[waitKey]*Waiting{}
			}
			b.waiting[waitKey{d.Nested, d.Interrupted}] = &Waiting{Step: d.Nested, Message: d.Message, Interrupted: d.Interrupted,
				Since: t, Approvers: d.Approvers, Question: rec.Seq, SubRun: true}
			break
		}
		p.Result.Interrupted = d.Interrupted
		k := waitKey{d.Step, d.Interrupted}
		if _, ok := b.asked[k]; !ok {
			b.asked[k], b.askedSeq[k] = t, rec.Seq
		}
		question := b.askedSeq[k]
		if d.Interrupted {
			// Each interrupted attempt asks anew.
			if a := b.lastAttempt[engine.StepKey{Phase: d.Phase, ID: d.Step}]; a != 0 {
				question = a
			}
		}
		if b.waiting == nil {
			b.waiting = map[waitKey]*Waiting{}
		}
		b.waiting[k] = &Waiting{Step: d.Step, Message: d.Message, Interrupted: d.Interrupted, Since: b.asked[k], Approvers: d.Approvers,
			Subjects: d.Subjects, Question: question}
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

// dropNested forgets the questions of the sub-runs of a step that runs
// again: it goes on with its sub-runs, which ask again if they still wait.
func (b *builder) dropNested(p *engine.Prior, step string) {
	p.Result.Nested = nil
	for k, w := range b.waiting {
		if w.SubRun && strings.HasPrefix(k.step, step+".") {
			delete(b.waiting, k)
		}
	}
}

func (b *builder) attempt(rec Record, p *engine.Prior, d *Data) {
	it := b.item(p, d.index())
	it.Attempt, it.Open, it.Mutates, it.Idempotent = d.Attempt, true, d.Mutates, d.Idempotent
	it.Status = ""
	b.lastAttempt[engine.StepKey{Phase: d.Phase, ID: d.Step}] = rec.Seq
}

// cmpBool orders false before true.
func cmpBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
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
	// In the order they asked; questions asked at the same time (steps
	// of a parallel group), in a fixed order, not the map's.
	slices.SortFunc(b.st.Waiting, func(x, y *Waiting) int {
		return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.Question, y.Question),
			strings.Compare(x.Step, y.Step), cmpBool(x.Interrupted, y.Interrupted))
	})
	b.st.lastAttempt = b.lastAttempt
	b.st.asked = b.asked
}

// Terminal says whether the run has ended for good.
func (s *State) Terminal() bool {
	return final(engine.Status(s.Run.Status))
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
