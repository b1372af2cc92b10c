package actions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/stewardhq/steward/schema"
)

// Action is one thing a step can do.
type Action interface {
	Spec() Spec
	// Execute runs the action. It must return when ctx is cancelled (a
	// step timeout, a failed or cancelled run).
	Execute(ctx context.Context, req *Request) (map[string]any, error)
}

// RequestMutator is implemented by an action whose side effects depend on
// its input, such as http.request (a GET does not mutate, a POST may). The
// engine asks it instead of Spec.Mutates.
type RequestMutator interface {
	Mutates(with map[string]any) bool
}

// Mutates reports whether executing a with a request's input has side
// effects.
func Mutates(a Action, with map[string]any) bool {
	if m, ok := a.(RequestMutator); ok {
		return m.Mutates(with)
	}
	return a.Spec().Mutates
}

// RequestIdempotent is implemented by an action whose idempotency depends
// on its input, such as http.request (PUT and DELETE are idempotent, POST is
// not). The engine asks it instead of Spec.Idempotent.
type RequestIdempotent interface {
	Idempotent(with map[string]any) bool
}

// Idempotent reports whether executing a again with the same input and
// idempotency key has no further effect.
func Idempotent(a Action, with map[string]any) bool {
	if m, ok := a.(RequestIdempotent); ok {
		return m.Idempotent(with)
	}
	return a.Spec().Idempotent
}

// Spec describes an action. The same spec drives validation of `with`,
// dry-run, `plugins describe` and the docs.
type Spec struct {
	Name        string             `json:"name"` // PLUGIN.ACTION, or a built-in
	Description string             `json:"description"`
	Input       *schema.DataSchema `json:"input"`
	Output      *schema.DataSchema `json:"output,omitempty"`
	// Mutates says the action has side effects: dry-run does not execute it.
	Mutates bool `json:"mutates"`
	// Idempotent says that running it again with the same idempotency key
	// has no further effect: an interrupted attempt may be retried.
	Idempotent bool `json:"idempotent"`
	// Sensitive names output fields whose values are secrets.
	Sensitive []string `json:"sensitive,omitempty"`
	// Provider says where a plugin action comes from, for the record:
	// steward-plugin-NAME VERSION sha256:HEX. Empty for built-ins.
	Provider string `json:"provider,omitempty"`
}

// Request is one execution of an action by one attempt of a step.
type Request struct {
	Action  string
	With    map[string]any // the step's resolved with; nil when it has none
	RunID   string
	StepID  string
	Index   int // the for_each item, or -1
	Attempt int // 1 for the first try
	// IdempotencyKey is the same for every attempt of the same step item
	// in the same run.
	IdempotencyKey string
	DryRun         bool
	// Undo is set when the action runs as a step's undo, after the run
	// failed.
	Undo bool
	// Deadline is when the step times out; zero when it has no timeout.
	Deadline time.Time
	// Files is the folder of the runbook that runs (core.read_file reads
	// it); nil when the runbook has none.
	Files fs.FS
	// Log receives the action's log lines for the progress output and
	// the record. Never nil when called by the engine.
	Log func(level, message string)
}

// Error is an action failure with a code and whether retrying may help.
type Error struct {
	Code      string
	Message   string
	Retryable bool
	Err       error // the cause, if any
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a non-retryable *Error.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Retryable returns a retryable *Error.
func Retryable(code, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Retryable = true
	return e
}

// Common error codes. Actions may use their own.
const (
	CodeInvalidInput = "invalid_input" // the with does not fit the action
	CodeTimeout      = "timeout"       // the step or the run timed out
	CodeCancelled    = "cancelled"     // the run was cancelled
	CodeFailed       = "failed"        // the action failed for another reason
)
