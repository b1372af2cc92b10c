package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/schema/dataschema"
)

// ActionDef is one action of a plugin: its name, its spec and its
// handler. Make one with Action.
type ActionDef struct {
	name       string
	desc       string
	mutates    bool
	idempotent bool
	input      *dataschema.Schema
	output     *dataschema.Schema
	sensitive  []string
	err        error // a problem found by Action, reported by Serve
	run        func(ctx context.Context, call *Call, input []byte) (any, error)
}

// Name returns the action's name without the plugin's.
func (a ActionDef) Name() string { return a.name }

// Option sets a property of an action.
type Option func(*ActionDef)

// Describe sets the action's description: one sentence, shown by
// `steward plugins describe` and in the docs.
func Describe(text string) Option { return func(a *ActionDef) { a.desc = text } }

// Mutates says the action has side effects (it writes, sends, grants,
// revokes): a dry-run does not execute it, and a person must decide
// whether to run it again after a crash unless it is also Idempotent.
func Mutates() Option { return func(a *ActionDef) { a.mutates = true } }

// Idempotent says that running the action again with the same
// Call.IdempotencyKey has no further effect, so that an interrupted
// attempt may be retried safely. Pass the key to an API that deduplicates
// requests, or remember it yourself.
func Idempotent() Option { return func(a *ActionDef) { a.idempotent = true } }

// Action defines an action named name (lower case letters, digits and
// underscores) whose handler fn takes a typed input and returns a typed
// output. In and Out are structs (or maps with string keys); their JSON
// Schemas are derived from their fields and tags (see the package
// documentation). The step's with is decoded into In, strictly: a
// missing required field, an unknown field or a value of the wrong type
// is an invalid_input error and fn is not called. Out is encoded as the
// step's outputs.
//
// A problem with the name or the types is reported by Serve at startup,
// and by sdktest.Start in tests.
func Action[In, Out any](name string, fn func(ctx context.Context, call *Call, in In) (Out, error), opts ...Option) ActionDef {
	a := ActionDef{name: name}
	for _, o := range opts {
		o(&a)
	}
	switch {
	case !protocol.ValidActionName(name):
		a.err = fmt.Errorf("action %q: a name is lower case letters, digits and _, starting with a letter", name)
		return a
	case fn == nil:
		a.err = fmt.Errorf("action %q: the handler is nil", name)
		return a
	}
	var err error
	if a.input, err = SchemaOf(reflect.TypeFor[In]()); err != nil {
		a.err = fmt.Errorf("action %q: input: %v", name, err)
		return a
	}
	if a.output, err = SchemaOf(reflect.TypeFor[Out]()); err != nil {
		a.err = fmt.Errorf("action %q: output: %v", name, err)
		return a
	}
	a.sensitive = sensitiveFields(a.output)
	in := a.input
	a.run = func(ctx context.Context, call *Call, input []byte) (any, error) {
		var v In
		if err := decode(input, in, "with", &v); err != nil {
			return nil, &ActionError{Code: CodeInvalidInput, Message: err.Error()}
		}
		return fn(ctx, call, v)
	}
	return a
}

// invoke runs the handler, turning a panic into a retryable error after
// logging its stack.
func (a *ActionDef) invoke(ctx context.Context, call *Call, input []byte) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			call.Log(LevelError, fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
			out, err = nil, &ActionError{Code: CodePanic, Message: fmt.Sprintf("panic: %v", r), Retryable: true}
		}
	}()
	return a.run(ctx, call, input)
}

// encodeOutputs writes a handler's result as a JSON object: nothing (a
// nil map or pointer) is {}.
func encodeOutputs(out any) ([]byte, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("outputs: %v", err)
	}
	if string(b) == "null" {
		return []byte("{}"), nil
	}
	return b, nil
}

// Level is the level of a log line.
type Level string

// Log levels.
const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

// Call is one execution of an action: who asks, and a way to log.
type Call struct {
	// Action is the action's name without the plugin's.
	Action string
	// RunID and StepID name the run and the step executing the action.
	RunID  string
	StepID string
	// Index is the for_each item, or -1.
	Index int
	// Attempt is 1 for the first try, 2 for the first retry...
	Attempt int
	// IdempotencyKey is the same for every attempt of the same step item
	// in the same run, and differs otherwise. Pass it to APIs that
	// deduplicate requests (an Idempotency-Key header), or remember it.
	IdempotencyKey string
	// DryRun is set in a dry-run. Only actions that do not mutate run in
	// a dry-run, so a handler rarely needs it.
	DryRun bool
	// Undo is set when the action runs as a step's undo, after the run
	// failed.
	Undo bool
	// Deadline is when the step times out; zero when it has none. The
	// handler's context carries the same deadline.
	Deadline time.Time

	log *logSink
}

// Log streams a line to the host, for the run's progress output and its
// record, while the call runs. The host redacts known secrets from it and
// cuts lines longer than 8 KiB. Lines logged after the handler returned
// are dropped.
func (c *Call) Log(level Level, msg string) {
	if c == nil || c.log == nil {
		return
	}
	switch level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		level = LevelInfo
	}
	c.log.log(level, msg)
}

// Debugf logs a debug line, formatted as by fmt.Sprintf.
func (c *Call) Debugf(format string, args ...any) { c.Log(LevelDebug, fmt.Sprintf(format, args...)) }

// Infof logs an info line, formatted as by fmt.Sprintf.
func (c *Call) Infof(format string, args ...any) { c.Log(LevelInfo, fmt.Sprintf(format, args...)) }

// Warnf logs a warning, formatted as by fmt.Sprintf.
func (c *Call) Warnf(format string, args ...any) { c.Log(LevelWarn, fmt.Sprintf(format, args...)) }

// Errorf logs an error line, formatted as by fmt.Sprintf. It does not fail
// the call: return an error for that.
func (c *Call) Errorf(format string, args ...any) { c.Log(LevelError, fmt.Sprintf(format, args...)) }

// logSink serializes the sends of one call's stream: a handler may log
// from several goroutines, and nothing may follow the final event.
type logSink struct {
	mu   sync.Mutex
	done bool
	emit func(level Level, msg string) // called with mu held
}

func (l *logSink) log(level Level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.emit(level, msg)
	}
}

// finish runs last (the final event's send) and drops later lines.
func (l *logSink) finish(last func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	last()
}
