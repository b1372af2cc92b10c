package sdk

import (
	"context"
	"errors"
	"fmt"

	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
)

// Error codes the SDK itself returns. An action may return any short
// snake_case code of its own: not_found, rate_limited, insufficient_funds.
const (
	// CodeFailed is the code of an error that is not an *ActionError.
	CodeFailed = "failed"
	// CodeInvalidInput: the step's with does not fit the action's input.
	CodeInvalidInput = "invalid_input"
	// CodeUnknownAction: the plugin has no action of that name.
	CodeUnknownAction = "unknown_action"
	// CodeDryRun: a mutating action was asked to run in a dry-run. The
	// host never asks; the SDK refuses without calling the handler.
	CodeDryRun = "dry_run"
	// CodePanic: the handler panicked. Retryable: the panic may come from
	// a passing condition, and the process survives it.
	CodePanic = "plugin_panic"
	// CodeNotConfigured: the plugin's settings were refused, or are
	// missing and required.
	CodeNotConfigured = "not_configured"
	// CodeTimeout: the handler returned the context's deadline error.
	// Retryable.
	CodeTimeout = "timeout"
	// CodeCancelled: the handler returned the context's cancellation.
	CodeCancelled = "cancelled"
)

// ActionError is an action's failure as the host sees it: a code, a
// message and whether trying again may help. Make one with Error or
// Retryable; an action may wrap it (fmt.Errorf("...: %w", err)), and the
// message is then the wrapping error's.
type ActionError struct {
	Code      string
	Message   string
	Retryable bool
	Err       error // the cause, when the message wrapped one with %w
}

func (e *ActionError) Error() string { return e.Message }

func (e *ActionError) Unwrap() error { return e.Err }

// Error returns a failure that trying again will not fix, such as
// not_found or invalid_state. The message is formatted as by fmt.Errorf,
// %w included.
func Error(code, format string, args ...any) error {
	return newError(code, false, format, args...)
}

// Retryable returns a failure that trying again may fix, such as
// rate_limited or unavailable. The step's retry policy decides whether
// and when the engine tries again.
func Retryable(code, format string, args ...any) error {
	return newError(code, true, format, args...)
}

func newError(code string, retryable bool, format string, args ...any) *ActionError {
	err := fmt.Errorf(format, args...)
	return &ActionError{Code: code, Message: err.Error(), Retryable: retryable, Err: errors.Unwrap(err)}
}

// errorEvent turns a handler's error into the protocol's: an *ActionError
// anywhere in the chain gives the code and retryable; a context error
// says timeout or cancelled; anything else is failed.
func errorEvent(err error) *pluginv1.Error {
	var ae *ActionError
	switch {
	case errors.As(err, &ae):
		code := ae.Code
		if code == "" {
			code = CodeFailed
		}
		return &pluginv1.Error{Code: code, Message: err.Error(), Retryable: ae.Retryable}
	case errors.Is(err, context.DeadlineExceeded):
		return &pluginv1.Error{Code: CodeTimeout, Message: err.Error(), Retryable: true}
	case errors.Is(err, context.Canceled):
		return &pluginv1.Error{Code: CodeCancelled, Message: err.Error()}
	}
	return &pluginv1.Error{Code: CodeFailed, Message: err.Error()}
}
