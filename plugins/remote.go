package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/stewardhq/steward/actions"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/schema"
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

var (
	pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	actionName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

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
	if !pluginName.MatchString(d.Name) {
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
		if !actionName.MatchString(a.GetName()) {
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

// dataSchema reads a JSON Schema; empty means none (any input).
// additionalProperties may be a boolean, as JSON Schema allows: false is
// what Steward assumes of an object with properties, true allows any
// extra value.
func dataSchema(b []byte) (*schema.DataSchema, error) {
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
	var s schema.DataSchema
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

// Call executes one action of a connected plugin: action is its name
// without the plugin's. Log lines go to req.Log as they arrive. A failure
// is an *actions.Error; a broken connection is CodeCrashed, retryable.
func Call(ctx context.Context, c pluginv1.ActionPluginClient, action string, req *actions.Request) (map[string]any, error) {
	in := []byte("{}")
	if req.With != nil {
		var err error
		if in, err = json.Marshal(req.With); err != nil {
			return nil, actions.Errorf(actions.CodeInvalidInput, "with: %v", err)
		}
	}
	er := &pluginv1.ExecuteRequest{Action: action, Input: in, RunId: req.RunID, StepId: req.StepID,
		Index: int32(req.Index), Attempt: int32(req.Attempt), IdempotencyKey: req.IdempotencyKey,
		DryRun: req.DryRun, Undo: req.Undo}
	if !req.Deadline.IsZero() {
		er.DeadlineUnixMs = req.Deadline.UnixMilli()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Execute(ctx, er)
	if err != nil {
		return nil, callError(ctx, err)
	}
	lines := 0
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, actions.Errorf(CodeProtocol, "the plugin ended the call without a result or an error")
		}
		if err != nil {
			return nil, callError(ctx, err)
		}
		switch e := ev.GetEvent().(type) {
		case *pluginv1.ExecuteEvent_Log:
			lines++
			switch {
			case lines < maxLogLines && req.Log != nil:
				req.Log(logLevel(e.Log.GetLevel()), cut(e.Log.GetMessage(), MaxLogLine))
			case lines == maxLogLines && req.Log != nil:
				req.Log("warn", fmt.Sprintf("more than %d log lines: the rest are dropped", maxLogLines))
			}
		case *pluginv1.ExecuteEvent_Result:
			return outputs(e.Result.GetOutputs())
		case *pluginv1.ExecuteEvent_Error:
			code := e.Error.GetCode()
			if code == "" {
				code = actions.CodeFailed
			}
			return nil, &actions.Error{Code: code, Message: cut(e.Error.GetMessage(), MaxLogLine), Retryable: e.Error.GetRetryable()}
		default:
			return nil, actions.Errorf(CodeProtocol, "the plugin sent an event this host does not know")
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
