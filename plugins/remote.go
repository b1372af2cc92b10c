package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/actions"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/schema/dataschema"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Description is what a plugin says of itself in Describe, checked.
type Description struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Description string          `json:"description,omitempty"`
	Protocol    int             `json:"protocol"`
	Actions     []actions.Spec  `json:"actions"` // named PLUGIN.ACTION, sorted
	Config      json.RawMessage `json:"config_schema,omitempty"`
}

// Error codes of plugin failures, as step errors.
const (
	// CodeCrashed: the plugin process exited or its connection broke
	// during the call. Retryable: the next call starts a fresh process.
	CodeCrashed = "plugin_crashed"
	// CodeStart: the plugin could not be started, verified or configured.
	CodeStart = "plugin_start"
	// CodeProtocol: the plugin broke the protocol (no result, outputs
	// that are not a JSON object...).
	CodeProtocol = "plugin_protocol"
	// CodeOutputTooLarge: the outputs exceed the host's cap.
	CodeOutputTooLarge = "output_too_large"
	// CodeInvalidOutput: the outputs do not fit the output schema the
	// plugin declares for the action (a field of another type, an
	// undeclared field, a required one missing). Not retryable: the
	// plugin is wrong, not the moment.
	CodeInvalidOutput = "invalid_output"
)

// MaxLogLine bounds one log line of a plugin; longer lines are cut.
const MaxLogLine = 8 << 10

// maxLogLines bounds the log lines of one call; the rest are dropped with
// a note.
const maxLogLines = 10000

// Describe asks a plugin what it is and checks the answer: its name, and
// each action's name and schemas.
func Describe(ctx context.Context, c pluginv1.ActionPluginClient) (*Description, error) {
	resp, err := c.Describe(ctx, &pluginv1.DescribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("describe: %s", statusMessage(err))
	}
	return describeResponse(resp)
}

func describeResponse(resp *pluginv1.DescribeResponse) (*Description, error) {
	d := &Description{Name: resp.GetName(), Version: resp.GetVersion(), Description: resp.GetDescription()}
	if !protocol.ValidPluginName(d.Name) {
		return nil, fmt.Errorf("describe: the plugin's name %q is not lower case letters, digits, _ and -", d.Name)
	}
	if len(resp.GetConfigSchema()) > 0 {
		if !json.Valid(resp.GetConfigSchema()) {
			return nil, fmt.Errorf("describe: the config schema is not JSON")
		}
		d.Config = json.RawMessage(resp.GetConfigSchema())
	}
	seen := map[string]bool{}
	for _, a := range resp.GetActions() {
		if !protocol.ValidActionName(a.GetName()) {
			return nil, fmt.Errorf("describe: action name %q is not lower case letters, digits and _", a.GetName())
		}
		if seen[a.GetName()] {
			return nil, fmt.Errorf("describe: action %q is described twice", a.GetName())
		}
		seen[a.GetName()] = true
		spec := actions.Spec{Name: d.Name + "." + a.GetName(), Description: a.GetDescription(),
			Mutates: a.GetMutates(), Idempotent: a.GetIdempotent(), Sensitive: a.GetSensitive()}
		var err error
		if spec.Input, err = dataSchema(a.GetInputSchema()); err != nil {
			return nil, fmt.Errorf("describe: %s: input schema: %v", spec.Name, err)
		}
		if spec.Output, err = dataSchema(a.GetOutputSchema()); err != nil {
			return nil, fmt.Errorf("describe: %s: output schema: %v", spec.Name, err)
		}
		d.Actions = append(d.Actions, spec)
	}
	sort.Slice(d.Actions, func(i, j int) bool { return d.Actions[i].Name < d.Actions[j].Name })
	return d, nil
}

// SettingsSchema is the schema of the settings the plugin takes, nil when
// it takes none.
func (d *Description) SettingsSchema() (*dataschema.Schema, error) {
	return dataSchema(d.Config)
}

// dataSchema reads a JSON Schema; empty means none (any input).
// additionalProperties may be a boolean, as JSON Schema allows: false is
// what Steward assumes of an object with properties, true allows any
// extra value.
func dataSchema(b []byte) (*dataschema.Schema, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	b, err := json.Marshal(booleanAdditional(raw))
	if err != nil {
		return nil, err
	}
	var s dataschema.Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// booleanAdditional rewrites additionalProperties: true as {} (any value)
// and drops additionalProperties: false, at any depth.
func booleanAdditional(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "additionalProperties" {
				if b, ok := x.(bool); ok {
					if b {
						t[k] = map[string]any{}
					} else {
						delete(t, k)
					}
					continue
				}
			}
			t[k] = booleanAdditional(x)
		}
	case []any:
		for i, x := range t {
			t[i] = booleanAdditional(x)
		}
	}
	return v
}

// Conn is a connection to one plugin process: its client, and the Logs
// stream that carries the log lines of every call.
type Conn struct {
	client pluginv1.ActionPluginClient
	stop   context.CancelFunc
	done   chan struct{} // closed when the Logs stream ends

	// marks: the plugin marks the end of each call on its output streams
	// (LogEntry.marks_output); output, when set, receives those streams.
	marks  bool
	output *stderrLines

	mu    sync.Mutex
	next  uint64
	calls map[uint64]*callLog
}

// callLog is where the log lines of one call in flight go.
type callLog struct {
	log  func(level, message string)
	got  int           // lines delivered
	wake chan struct{} // a line was delivered
}

// Connect opens the Logs stream of a plugin and waits until it is ready.
func Connect(ctx context.Context, c pluginv1.ActionPluginClient) (*Conn, error) {
	lctx, stop := context.WithCancel(context.Background())
	stream, err := c.Logs(lctx, &pluginv1.LogsRequest{})
	if err != nil {
		stop()
		return nil, fmt.Errorf("logs: %s", statusMessage(err))
	}
	ready := make(chan error, 1)
	var marks bool
	go func() {
		first, err := stream.Recv()
		switch {
		case err != nil:
			ready <- fmt.Errorf("logs: %s", statusMessage(err))
		case first.GetCallId() != 0:
			ready <- fmt.Errorf("logs: the first entry is not the ready entry")
		default:
			marks = first.GetMarksOutput()
			ready <- nil
		}
	}()
	select {
	case err = <-ready:
	case <-ctx.Done():
		err = fmt.Errorf("logs: %w", ctx.Err())
	}
	if err != nil {
		stop()
		return nil, err
	}
	conn := &Conn{client: c, stop: stop, done: make(chan struct{}), calls: map[uint64]*callLog{}, marks: marks}
	go conn.readLogs(stream)
	return conn, nil
}

// Client is the plugin's gRPC client.
func (c *Conn) Client() pluginv1.ActionPluginClient { return c.client }

// Close ends the Logs stream.
func (c *Conn) Close() { c.stop() }

// readLogs hands each log line to its call, in order.
func (c *Conn) readLogs(stream grpc.ServerStreamingClient[pluginv1.LogEntry]) {
	defer close(c.done)
	for {
		e, err := stream.Recv()
		if err != nil {
			return
		}
		c.mu.Lock()
		cl := c.calls[e.GetCallId()]
		c.mu.Unlock()
		if cl == nil {
			continue // a call that ended without waiting (cancelled)
		}
		switch n := cl.got + 1; {
		case n < maxLogLines:
			cl.log(logLevel(e.GetLevel()), cut(e.GetMessage(), MaxLogLine))
		case n == maxLogLines:
			cl.log("warn", fmt.Sprintf("more than %d log lines: the rest are dropped", maxLogLines))
		}
		c.mu.Lock()
		cl.got++
		c.mu.Unlock()
		select {
		case cl.wake <- struct{}{}:
		default:
		}
	}
}

// logWait bounds the wait for log lines a plugin says it sent.
const logWait = 2 * time.Second

// markWait bounds the wait for a call's output marks. They were written
// before the answer, so only a plugin that breaks the protocol (or a
// machine stalled for seconds) makes a call wait that long.
const markWait = 5 * time.Second

// Call executes one action: action is its name without the plugin's. Log
// lines go to req.Log before Call returns. A failure is an
// *actions.Error; a broken connection is CodeCrashed, retryable.
func (c *Conn) Call(ctx context.Context, action string, req *actions.Request) (map[string]any, error) {
	in := []byte("{}")
	if req.With != nil {
		var err error
		if in, err = json.Marshal(req.With); err != nil {
			return nil, actions.Errorf(actions.CodeInvalidInput, "with: %v", err)
		}
	}
	log := req.Log
	if log == nil {
		log = func(string, string) {}
	}
	cl := &callLog{log: log, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.next++
	id := c.next
	c.calls[id] = cl
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
	}()
	var waitMarks func(context.Context, time.Duration) bool
	if c.marks && c.output != nil {
		var forget func()
		waitMarks, forget = c.output.expectMarks(id)
		defer forget()
	}
	er := &pluginv1.ExecuteRequest{Action: action, Input: in, RunId: req.RunID, StepId: req.StepID,
		Index: int32(req.Index), Attempt: int32(req.Attempt), IdempotencyKey: req.IdempotencyKey,
		DryRun: req.DryRun, Undo: req.Undo, CallId: id}
	if !req.Deadline.IsZero() {
		er.DeadlineUnixMs = req.Deadline.UnixMilli()
	}
	resp, err := c.client.Execute(ctx, er)
	if err != nil {
		return nil, callError(ctx, err)
	}
	c.waitLogs(cl, int(resp.GetLogLines()))
	if waitMarks != nil && !waitMarks(ctx, markWait) && ctx.Err() == nil {
		cl.log("warn", fmt.Sprintf("what the plugin wrote on stdout and stderr during the call did not all arrive within %s", markWait))
	}
	switch o := resp.GetOutcome().(type) {
	case *pluginv1.ExecuteResponse_Result:
		return outputs(o.Result.GetOutputs())
	case *pluginv1.ExecuteResponse_Error:
		code := actions.Code(o.Error.GetCode())
		if code == "" {
			code = actions.CodeFailed
		}
		return nil, &actions.Error{Code: code, Message: cut(o.Error.GetMessage(), MaxLogLine), Retryable: o.Error.GetRetryable()}
	}
	return nil, actions.Errorf(CodeProtocol, "the plugin answered neither outputs nor an error")
}

// waitLogs waits until the call's n log lines were delivered, the stream
// ended, or logWait passed (then it says how many were lost).
func (c *Conn) waitLogs(cl *callLog, n int) {
	var timeout <-chan time.Time
	for {
		c.mu.Lock()
		got := cl.got
		c.mu.Unlock()
		if got >= n {
			return
		}
		if timeout == nil {
			t := time.NewTimer(logWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-cl.wake:
		case <-c.done:
			cl.log("warn", fmt.Sprintf("%d log lines of the call were lost: the plugin's log stream ended", n-got))
			return
		case <-timeout:
			cl.log("warn", fmt.Sprintf("%d log lines of the call did not arrive within %s", n-got, logWait))
			return
		}
	}
}

// outputs decodes a result: a JSON object, or nothing.
func outputs(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return map[string]any{}, nil
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil || out == nil {
		return nil, actions.Errorf(CodeProtocol, "the plugin's outputs are not a JSON object")
	}
	return out, nil
}

// callError turns a gRPC failure into a step error.
func callError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The step timed out or was cancelled: the engine says which.
		return ctx.Err()
	}
	st, _ := status.FromError(err)
	if st.Code() == codes.DeadlineExceeded {
		// gRPC may see the call's deadline pass a moment before the
		// context does: wait for it, so the caller sees its own deadline
		// (the engine reports it as the step's timeout).
		if dl, ok := ctx.Deadline(); ok {
			t := time.NewTimer(time.Until(dl) + 100*time.Millisecond)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.Aborted:
		return &actions.Error{Code: CodeCrashed, Message: "the plugin's connection broke during the call: " + st.Message(), Retryable: true, Err: err}
	case codes.ResourceExhausted:
		return &actions.Error{Code: CodeOutputTooLarge, Message: "the plugin's answer is too large: " + st.Message(), Err: err}
	case codes.DeadlineExceeded:
		return &actions.Error{Code: actions.CodeTimeout, Message: "the plugin did not answer in time", Retryable: true, Err: err}
	case codes.InvalidArgument:
		return &actions.Error{Code: actions.CodeInvalidInput, Message: st.Message(), Err: err}
	}
	return &actions.Error{Code: CodeProtocol, Message: fmt.Sprintf("the plugin failed the call (%s): %s", st.Code(), st.Message()), Err: err}
}

// statusMessage is the message of a gRPC error without its code prefix.
func statusMessage(err error) string {
	if st, ok := status.FromError(err); ok {
		return st.Message()
	}
	return err.Error()
}

func logLevel(l string) string {
	switch l = strings.ToLower(l); l {
	case "debug", "info", "warn", "error":
		return l
	case "warning":
		return "warn"
	}
	return "info"
}

// cut bounds s to n bytes, on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !isRuneStart(s[i]) {
		i--
	}
	return s[:i] + "… (cut)"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
