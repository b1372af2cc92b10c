package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
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
	RunStarted     EventType = "run.started"
	StepStarted    EventType = "step.started"    // its if was true; Items set for for_each
	StepWaiting    EventType = "step.waiting"    // for an approval; Message is the approval message
	StepApproved   EventType = "step.approved"   // Message: who and the comment
	AttemptStarted EventType = "attempt.started" // Attempt, Index, With (resolved)
	AttemptFailed  EventType = "attempt.failed"  // Error; RetryIn > 0 when it will be retried
	StepLog        EventType = "step.log"        // Level, Message from the action
	StepDryRun     EventType = "step.dry_run"    // not executed by a dry run; Message says what it would do
	StepFinished   EventType = "step.finished"   // Status succeeded, failed or cancelled; Outputs, Error
	StepSkipped    EventType = "step.skipped"    // Message says why
	RunFinished    EventType = "run.finished"    // Status, Outputs, Error
)

// Event is one state change of a run. Events of one run are delivered to
// the Sink one at a time, in the order they happened.
type Event struct {
	Type     EventType      `json:"type"`
	Time     time.Time      `json:"time"`
	RunID    string         `json:"run_id"`
	Step     string         `json:"step,omitempty"`
	Name     string         `json:"name,omitempty"` // the step's resolved name
	Phase    Phase          `json:"phase,omitempty"`
	Action   string         `json:"action,omitempty"`
	Index    int            `json:"index"` // the for_each item, or -1
	Items    int            `json:"items,omitempty"`
	Attempt  int            `json:"attempt,omitempty"`
	With     map[string]any `json:"with,omitempty"`
	Outputs  any            `json:"outputs,omitempty"`
	Status   Status         `json:"status,omitempty"`
	Error    *ErrorInfo     `json:"error,omitempty"`
	RetryIn  time.Duration  `json:"retry_in,omitempty"`
	Duration time.Duration  `json:"duration,omitempty"`
	Level    string         `json:"level,omitempty"`
	Message  string         `json:"message,omitempty"`
}

// Sink receives every state change of a run. Calls are serialized, in the
// order things happened. The engine does not modify an event or its maps
// after the call, so a sink may keep them.
type Sink interface {
	Event(e *Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(e *Event)

// Event implements Sink.
func (f SinkFunc) Event(e *Event) { f(e) }

// ErrorInfo is a failure as expressions see it: error.message, .code,
// .retryable and .step.
type ErrorInfo struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Retryable bool   `json:"retryable"`
	Step      string `json:"step,omitempty"`
}

func (e *ErrorInfo) env() map[string]any {
	if e == nil {
		return nil
	}
	return map[string]any{"message": e.Message, "code": e.Code, "retryable": e.Retryable, "step": e.Step}
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
}

// StepResult is what happened to one step.
type StepResult struct {
	ID         string     `json:"id"`
	Name       string     `json:"name,omitempty"`
	Action     string     `json:"action"`
	Phase      Phase      `json:"phase,omitempty"`
	Status     Status     `json:"status"`
	Attempts   int        `json:"attempts"` // the most any item took
	Items      int        `json:"items,omitempty"`
	Outputs    any        `json:"outputs,omitempty"`
	Error      *ErrorInfo `json:"error,omitempty"`
	Reason     string     `json:"reason,omitempty"` // why it was skipped or not executed
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
	Message   string
	Approvers []string
	Actor     string // who started the run
}

// Decision is a person's answer to an approval.
type Decision struct {
	Approved bool
	By       string
	Comment  string
}

// ErrPending means an approval has not been decided.
var ErrPending = errors.New("engine: approval pending")

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
}

// DefaultParallel is the default bound on actions running at once.
const DefaultParallel = 8
