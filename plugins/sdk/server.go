package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/schema/dataschema"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// server implements the ActionPlugin service for a Plugin.
type server struct {
	pluginv1.UnimplementedActionPluginServer
	p        Plugin
	actions  map[string]*ActionDef
	describe *pluginv1.DescribeResponse

	config         reflect.Value // *Plugin.Config, settable; invalid without Config
	configDefaults reflect.Value // its value when the server was made
	configSch      *dataschema.Schema

	// mu is held by Configure, and read-held by handlers while they run,
	// so that no handler sees the settings half written.
	mu         sync.RWMutex
	configured bool
	configErr  error

	// logs is the host's Logs stream; logMu serialises its sends.
	logMu sync.Mutex
	logs  grpc.ServerStreamingServer[pluginv1.LogEntry]

	// outputs, when set (by Serve), gives the streams each call's output
	// mark is written on when it answers; see LogEntry.marks_output.
	outputs func() []io.Writer
}

// Logs implements pluginv1.ActionPluginServer: it says it is ready, then
// carries the log lines of every call until the host closes it.
func (s *server) Logs(_ *pluginv1.LogsRequest, stream grpc.ServerStreamingServer[pluginv1.LogEntry]) error {
	s.logMu.Lock()
	err := stream.Send(&pluginv1.LogEntry{MarksOutput: s.outputs != nil})
	if err == nil {
		s.logs = stream
	}
	s.logMu.Unlock()
	if err != nil {
		return err
	}
	<-stream.Context().Done()
	s.logMu.Lock()
	if s.logs == stream {
		s.logs = nil
	}
	s.logMu.Unlock()
	return nil
}

// sendLog sends a line of a call on the Logs stream, and reports whether
// it was sent.
func (s *server) sendLog(callID uint64, level Level, msg string) bool {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.logs == nil {
		return false
	}
	return s.logs.Send(&pluginv1.LogEntry{CallId: callID, Level: string(level), Message: msg}) == nil
}

// Describe implements pluginv1.ActionPluginServer.
func (s *server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return s.describe, nil
}

// Configure implements pluginv1.ActionPluginServer: refused settings are
// an InvalidArgument status whose message the host shows.
func (s *server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.configureLocked(ctx, req.GetConfig()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &pluginv1.ConfigureResponse{}, nil
}

func (s *server) configureLocked(ctx context.Context, raw []byte) error {
	s.configured = true
	s.configErr = s.applyConfig(ctx, raw)
	return s.configErr
}

func (s *server) applyConfig(ctx context.Context, raw []byte) error {
	if !s.config.IsValid() {
		var v any
		if err := json.Unmarshal(raw, &v); len(raw) > 0 && err == nil {
			if m, ok := v.(map[string]any); v != nil && (!ok || len(m) > 0) {
				return fmt.Errorf("plugin %s takes no settings: remove plugins.settings.%s", s.p.Name, s.p.Name)
			}
		}
	} else {
		v := reflect.New(s.config.Type())
		v.Elem().Set(s.configDefaults)
		if err := decode(raw, s.configSch, "settings", v.Interface()); err != nil {
			return err
		}
		s.config.Set(v.Elem())
	}
	if s.p.Configure != nil {
		if err := s.p.Configure(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ensureConfigured configures a plugin the host never configured with no
// settings, so that missing required settings say so, and reports a
// refused configuration.
func (s *server) ensureConfigured(ctx context.Context) error {
	s.mu.RLock()
	done, err := s.configured, s.configErr
	s.mu.RUnlock()
	if !done {
		s.mu.Lock()
		if !s.configured {
			_ = s.configureLocked(ctx, nil)
		}
		err = s.configErr
		s.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("plugin %s is not configured: %v (plugins.settings.%s in steward.yaml)", s.p.Name, err, s.p.Name)
	}
	return nil
}

// Execute implements pluginv1.ActionPluginServer: the handler's log
// lines go on the Logs stream while it runs; the answer is its result or
// its error, with the number of lines sent.
func (s *server) Execute(ctx context.Context, req *pluginv1.ExecuteRequest) (*pluginv1.ExecuteResponse, error) {
	var sent uint32
	sink := &logSink{emit: func(level Level, msg string) {
		if s.sendLog(req.GetCallId(), level, msg) {
			sent++
		}
	}}
	final := func(resp *pluginv1.ExecuteResponse) (*pluginv1.ExecuteResponse, error) {
		sink.finish(func() { resp.LogLines = sent })
		s.markOutputs(req.GetCallId())
		return resp, nil
	}
	fail := func(e *pluginv1.Error) (*pluginv1.ExecuteResponse, error) {
		return final(&pluginv1.ExecuteResponse{Outcome: &pluginv1.ExecuteResponse_Error{Error: e}})
	}

	a := s.actions[req.GetAction()]
	switch {
	case a == nil:
		return fail(&pluginv1.Error{Code: CodeUnknownAction, Message: unknownAction(s.p.Name, req.GetAction(), s.actions)})
	case req.GetDryRun() && a.mutates:
		return fail(&pluginv1.Error{Code: CodeDryRun, Message: fmt.Sprintf("%s.%s mutates: it does not run in a dry-run", s.p.Name, a.name)})
	}
	if err := s.ensureConfigured(ctx); err != nil {
		return fail(&pluginv1.Error{Code: CodeNotConfigured, Message: err.Error()})
	}
	call := &Call{Action: a.name, RunID: req.GetRunId(), StepID: req.GetStepId(), Index: int(req.GetIndex()),
		Attempt: int(req.GetAttempt()), IdempotencyKey: req.GetIdempotencyKey(), DryRun: req.GetDryRun(),
		Undo: req.GetUndo(), log: sink}
	if ms := req.GetDeadlineUnixMs(); ms > 0 {
		call.Deadline = time.UnixMilli(ms)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, call.Deadline)
		defer cancel()
	}

	s.mu.RLock()
	out, err := a.invoke(ctx, call, req.GetInput())
	s.mu.RUnlock()
	if err != nil {
		return fail(errorEvent(err))
	}
	b, err := encodeOutputs(out)
	if err != nil {
		return fail(&pluginv1.Error{Code: CodeFailed, Message: err.Error()})
	}
	return final(&pluginv1.ExecuteResponse{Outcome: &pluginv1.ExecuteResponse_Result{Result: &pluginv1.Result{Outputs: b}}})
}

// markOutputs writes the output mark of a call that is done on each of
// the plugin's output streams, when it is served by Serve.
func (s *server) markOutputs(callID uint64) {
	if s.outputs == nil {
		return
	}
	mark := protocol.OutputMark(callID)
	for _, w := range s.outputs() {
		_, _ = io.WriteString(w, mark)
	}
}

func unknownAction(plugin, name string, known map[string]*ActionDef) string {
	msg := fmt.Sprintf("plugin %s has no action %q", plugin, name)
	if len(known) == 0 {
		return msg
	}
	return msg + "; it has " + strings.Join(slices.Sorted(maps.Keys(known)), ", ")
}
