package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/engine/redact"
)

// Status is the state of a run or a step (SPEC "Statuses").
type Status string

// Statuses.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting"
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
)

// Phase says which part of the run a step belongs to.
type Phase string

// Phases. Main steps have the empty phase.
const (
	PhaseMain      Phase = ""
	PhaseUndo      Phase = "undo"
	PhaseOnFailure Phase = "on_failure"
)

// EventType names a state change.
type EventType string

// Event types, in the order they happen to a step.
const (
	RunStarted     EventType = "run.started"     // Runbook, Version, Actor, DryRun, Inputs (redacted)
	RunResumed     EventType = "run.resumed"     // the run goes on after it stopped (see Options.Resume)
	StepStarted    EventType = "step.started"    // its if was true; Items set for for_each
	StepWaiting    EventType = "step.waiting"    // for an approval (Message is its message), or Nested: its sub-run's question
	StepApproved   EventType = "step.approved"   // Message: who and the comment
	AttemptStarted EventType = "attempt.started" // Attempt, Index, With (resolved), Key, Mutates, Idempotent
	AttemptFailed  EventType = "attempt.failed"  // Error; RetryIn > 0 when it will be retried
	ItemFinished   EventType = "item.finished"   // a for_each item ended: Index, Status, Outputs, Error, Attempt
	StepLog        EventType = "step.log"        // Level, Message from the action
	StepDryRun     EventType = "step.dry_run"    // not executed by a dry run; Message says what it would do
	StepFinished   EventType = "step.finished"   // Status succeeded, failed or cancelled; Outputs, Error
	StepSkipped    EventType = "step.skipped"    // Message says why
	RunFinished    EventType = "run.finished"    // Status, Outputs, Error
)

// Event is one state change of a run. Events of one run are delivered to
// the Sink one at a time, in the order they happened.
type Event struct {
	Type    EventType      `json:"type"`
	Time    time.Time      `json:"time"`
	RunID   string         `json:"run_id"`
	Step    string         `json:"step,omitempty"`
	Name    string         `json:"name,omitempty"` // the step's resolved name
	Phase   Phase          `json:"phase,omitempty"`
	Action  string         `json:"action,omitempty"`
	Runbook string         `json:"runbook,omitempty"`
	Version string         `json:"version,omitempty"`
	Actor   string         `json:"actor,omitempty"`
	DryRun  bool           `json:"dry_run,omitempty"`
	Inputs  map[string]any `json:"inputs,omitempty"`
	Index   int            `json:"index"` // the for_each item, or -1
	Items   int            `json:"items,omitempty"`
	Attempt int            `json:"attempt,omitempty"`
	With    map[string]any `json:"with,omitempty"`
	// Key is the attempt's idempotency key; Mutates and Idempotent say
	// what the action declares for this input.
	Key        string `json:"key,omitempty"`
	Mutates    bool   `json:"mutates,omitempty"`
	Idempotent bool   `json:"idempotent,omitempty"`
	// Provider is the action's Spec.Provider: which plugin binary runs it.
	Provider string        `json:"provider,omitempty"`
	Outputs  any           `json:"outputs,omitempty"`
	Status   Status        `json:"status,omitempty"`
	Error    *ErrorInfo    `json:"error,omitempty"`
	RetryIn  time.Duration `json:"retry_in,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Level    string        `json:"level,omitempty"`
	Message  string        `json:"message,omitempty"`
	// Approvers are who may decide a step.waiting: its approval.approvers
	// as resolved when it asked (empty: anyone but the requester).
	Approvers []string `json:"approvers,omitempty"`
	// Subjects are who a step.waiting's change is about: its
	// approval.subjects as resolved when it asked. They may not decide it.
	Subjects []string `json:"subjects,omitempty"`
	// Interrupted marks a step.waiting for a decision to run again an
	// interrupted attempt (see ApprovalRequest), not for its approval.
	Interrupted bool `json:"interrupted,omitempty"`
	// Nested, on the step.waiting of a core.runbook step, is the question
	// its sub-run waits for, as a step path from this run (see Question):
	// Message, Approvers and Interrupted are the sub-run's.
	Nested string `json:"nested,omitempty"`
}

// Sink receives every state change of a run. Calls are serialized, in the
// order things happened. The engine does not modify an event or its maps
// after the call, so a sink may keep them. Secrets are already redacted.
// The engine waits for Event to return: an attempt.started event of an
// action that mutates is delivered before the action runs, so a journal
// can make it durable first.
type Sink interface {
	Event(e *Event)
}

// FailingSink is a Sink that can fail, such as a journal whose store is
// gone. Once Err returns an error the engine executes no more actions:
// nothing runs unrecorded.
type FailingSink interface {
	Sink
	Err() error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Event implements Sink.
func (f SinkFunc) Event(e *Event) { f(e) }

// ErrorInfo is a failure as expressions see it: error.message, .code,
// .retryable and .step.
type ErrorInfo struct {
	Message   string       `json:"message"`
	Code      actions.Code `json:"code"`
	Retryable bool         `json:"retryable"`
	Step      string       `json:"step,omitempty"`

	// waiting is set when the action was core.runbook and its sub-run
	// waits for a person: the step waits too (see SubRunWaiting). Only a
	// Go value can set it, never a plugin's error code.
	waiting *SubRunWaiting
}

func (e *ErrorInfo) env() map[string]any {
	if e == nil {
		return nil
	}
	// A plain string: expressions compare it with string literals.
	return map[string]any{"message": e.Message, "code": string(e.Code), "retryable": e.Retryable, "step": e.Step}
}

// Result is the document of a finished (or waiting) run: what `-o json`
// prints.
type Result struct {
	ID         string         `json:"id"`
	Runbook    string         `json:"runbook"`
	Version    string         `json:"version,omitempty"`
	Actor      string         `json:"actor,omitempty"`
	DryRun     bool           `json:"dry_run"`
	Status     Status         `json:"status"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Duration   Duration       `json:"duration"`
	Inputs     map[string]any `json:"inputs"`
	Outputs    map[string]any `json:"outputs"`
	Error      *ErrorInfo     `json:"error,omitempty"`
	Steps      []*StepResult  `json:"steps"`

	redact       *redact.Set
	secretInputs []string
}

// Redacted returns a copy of the document with every secret the run knew
// replaced by "***": what may be printed or stored.
func (r *Result) Redacted() *Result {
	c := *r
	c.Inputs = redactInputs(r.redact, r.Inputs, r.secretInputs)
	c.Outputs = r.redact.Map(r.Outputs)
	c.Error = redactError(r.redact, r.Error)
	c.Steps = make([]*StepResult, len(r.Steps))
	for i, s := range r.Steps {
		sc := *s
		sc.Name = r.redact.String(s.Name) // a resolved name may read a secret
		sc.Outputs = r.redact.Value(s.Outputs)
		sc.Error = redactError(r.redact, s.Error)
		sc.Reason = r.redact.String(s.Reason)
		c.Steps[i] = &sc
	}
	return &c
}

func redactInputs(set *redact.Set, in map[string]any, secret []string) map[string]any {
	if len(secret) == 0 {
		return set.Map(in)
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
	}
	for _, k := range secret {
		if _, ok := out[k]; ok {
			out[k] = redact.Mask
		}
	}
	return set.Map(out)
}

func redactError(set *redact.Set, e *ErrorInfo) *ErrorInfo {
	if e == nil || set.Empty() {
		return e
	}
	c := *e
	c.Message = set.String(e.Message)
	return &c
}

// StepResult is what happened to one step.
type StepResult struct {
	ID       string     `json:"id"`
	Name     string     `json:"name,omitempty"`
	Action   string     `json:"action"`
	Phase    Phase      `json:"phase,omitempty"`
	Status   Status     `json:"status"`
	Attempts int        `json:"attempts"` // the most any item took
	Items    int        `json:"items,omitempty"`
	Outputs  any        `json:"outputs,omitempty"`
	Error    *ErrorInfo `json:"error,omitempty"`
	Reason   string     `json:"reason,omitempty"` // why it was skipped or not executed
	// Interrupted marks a step waiting for a decision to run again an
	// interrupted attempt, not for its approval.
	Interrupted bool `json:"interrupted,omitempty"`
	// Subjects may not decide a waiting step (resolved approval.subjects).
	Subjects []string `json:"subjects,omitempty"`
	// Approvers are who may decide a waiting step (resolved approvers).
	Approvers []string `json:"approvers,omitempty"`
	// Nested are the questions the sub-runs of a waiting core.runbook
	// step wait for.
	Nested     []Question `json:"nested,omitempty"`
	StartedAt  time.Time  `json:"started_at,omitzero"`
	FinishedAt time.Time  `json:"finished_at,omitzero"`
	Duration   Duration   `json:"duration"`
}

// Step returns the record of the step with id in phase, or nil.
func (r *Result) Step(id string, phase Phase) *StepResult {
	for _, s := range r.Steps {
		if s.ID == id && s.Phase == phase {
			return s
		}
	}
	return nil
}

// Duration marshals as text such as "1.5s".
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads the text MarshalJSON writes (a document read back
// from the HTTP API, by steward --server).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("engine: a duration is text such as \"1.5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Unknown stands for a value a dry run cannot know, because it comes from a
// step that did not run.
type Unknown struct {
	Step string // the step that did not run
}

// Because says why the value is unknown.
func (u Unknown) Because() string { return "steps." + u.Step + " did not run (dry-run)" }

// MarshalJSON writes {"unknown": "steps.ID did not run (dry-run)"}.
func (u Unknown) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"unknown": u.Because()})
}

func (u Unknown) String() string { return "(unknown: " + u.Because() + ")" }

// Approver decides approvals. Decide returns ErrPending when nobody has
// decided yet: the step, and then the run, waits.
type Approver interface {
	Decide(ctx context.Context, req ApprovalRequest) (Decision, error)
}

// ApprovalRequest is a step asking for a person's decision.
type ApprovalRequest struct {
	RunID     string
	Step      string
	Phase     Phase // the main phase, or on_failure
	Action    string
	Message   string
	Approvers []string
	Actor     string        // who started the run
	Timeout   time.Duration // from when it was first asked; 0: none
	// Interrupted is set when the question is whether to run again a step
	// whose action mutates, is not idempotent, and was interrupted by a
	// crash: nobody knows whether it took effect.
	Interrupted bool
	// Subjects are who the change is about: they may not decide it
	// (approval.subjects, resolved).
	Subjects []string
}

// Decision is a person's answer to an approval.
type Decision struct {
	Approved bool
	By       string
	Comment  string
}

// Approval errors an Approver returns.
var (
	// ErrPending means an approval has not been decided.
	ErrPending = errors.New("engine: approval pending")
	// ErrApprovalExpired means nobody decided within the approval's
	// timeout: the step fails.
	ErrApprovalExpired = errors.New("engine: approval timed out")
)

// Options say how to run.
type Options struct {
	Registry *actions.Registry // required
	Sink     Sink              // may be nil
	Clock    clockwork.Clock   // default: the real clock
	Parallel int               // actions running at once; default 8
	DryRun   bool
	Actor    string
	RunID    string // default: a new id
	Version  string // the runbook's version, e.g. its content hash
	// Secret resolves secret(NAME); a missing secret fails the expression.
	Secret func(name string) (string, bool)
	// Approver decides approvals; nil means every approval waits.
	Approver Approver
	// Jitter returns a random number in [0, 1) for retry jitter; default
	// math/rand.
	Jitter func() float64
	// Redact collects the run's secrets (secret inputs, secret() values,
	// sensitive outputs) and redacts every event with them; default: a new
	// set. Sub-runs share their parent's.
	Redact *redact.Set
	// Resume continues a run that stopped before its end; nil starts a
	// new run.
	Resume *Resume
	// Files is the runbook's folder, given to actions (core.read_file
	// reads the data files beside the runbook); nil: none.
	Files fs.FS
	// Hold, when closed, stops the run gracefully (a server shutting
	// down): no new step starts, the steps running finish, and the run
	// stops without an end, to be resumed later; Run then returns
	// ErrHeld. Sub-runs do not see it: they finish with their step.
	Hold <-chan struct{}
}

// DefaultParallel is the default bound on actions running at once.
const DefaultParallel = 8

// Sinks delivers every event to each sink in turn; it fails when one of
// them does.
type Sinks []Sink

// Event implements Sink.
func (s Sinks) Event(e *Event) {
	for _, k := range s {
		if k != nil {
			k.Event(e)
		}
	}
}

// Err implements FailingSink.
func (s Sinks) Err() error {
	for _, k := range s {
		if fs, ok := k.(FailingSink); ok {
			if err := fs.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}
