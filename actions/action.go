package actions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
	"unicode/utf8"

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
	// Redact masks the run's secrets; nil when the caller knows none. The
	// engine redacts whatever an action returns before it stores or prints
	// it, but an action that cuts a text (quotes the start of a body, keeps
	// the first bytes of an output) must redact first, or the cut may keep
	// the start of a secret that redaction no longer recognises: see Clip
	// and CutEnd.
	Redact Redactor
}

// Redactor masks secrets in text (the engine's is a *redact.Set).
type Redactor interface {
	// String returns s with each secret replaced by "***".
	String(s string) string
	// CutEnd returns s, a text cut at its end, with the start of a secret
	// that the cut left there masked; the rest is unchanged.
	CutEnd(s string) string
}

// Clip returns s with the request's secrets replaced, then cut to at most
// n characters, ending with "…" when it was cut: redacting before cutting
// leaves no start of a secret at the cut. A nil request redacts nothing.
func (r *Request) Clip(s string, n int) string {
	if r != nil && r.Redact != nil {
		s = r.Redact.String(s)
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// CutEnd masks the start of a secret that a cut left at the end of s, a
// text kept up to a size (see Redactor). A nil request changes nothing.
func (r *Request) CutEnd(s string) string {
	if r == nil || r.Redact == nil {
		return s
	}
	return r.Redact.CutEnd(s)
}

// Error is an action failure with a code and whether retrying may help.
type Error struct {
	Code      Code
	Message   string
	Retryable bool
	Err       error // the cause, if any
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns a non-retryable *Error.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Retryable returns a retryable *Error.
func Retryable(code Code, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Retryable = true
	return e
}

// Code names what kind of failure an error is: error.code in expressions,
// the code of a plugin's error, the code in the journal. It is written as
// its string everywhere.
type Code string

// Common error codes. Actions may use their own, as constants of type Code.
const (
	CodeInvalidInput Code = "invalid_input" // the with does not fit the action
	CodeTimeout      Code = "timeout"       // the step or the run timed out
	CodeCancelled    Code = "cancelled"     // the run was cancelled
	CodeFailed       Code = "failed"        // the action failed for another reason
)
