// Package sdktest runs a plugin written with package sdk inside a unit
// test: in process, over a real gRPC connection made by go-plugin, and
// through the very code the Steward host uses to describe plugins and call
// their actions. What a test sees (outputs, log lines, error codes and
// messages, schemas) is what a runbook will see.
//
//	func TestLookup(t *testing.T) {
//		p := sdktest.Start(t, example.New())
//		out, logs, err := p.Execute("lookup_transaction", map[string]any{
//			"chain": "ethereum", "tx_hash": "0xabc...",
//		})
//		...
//	}
package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/plugins/sdk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Plugin is a plugin started by Start.
type Plugin struct {
	t      testing.TB
	client pluginv1.ActionPluginClient
	conn   *plugins.Conn
	desc   *plugins.Description
}

// Start serves p in process and connects to it as the host does; the
// connection is closed when the test ends. It fails the test at once if p
// has a problem Serve would refuse to start with, or if the host would
// refuse its description.
func Start(t testing.TB, p sdk.Plugin) *Plugin {
	t.Helper()
	srv, err := sdk.NewServer(p)
	if err != nil {
		t.Fatalf("sdktest: plugin %s: %v", p.Name, err)
	}
	client, _ := plugin.TestPluginGRPCConn(t, false, protocol.Plugins(srv)[protocol.Version])
	// Closing the client asks the server to stop (go-plugin's controller
	// Shutdown); stopping it here as well would race with that.
	t.Cleanup(func() { _ = client.Close() })
	raw, err := client.Dispense(protocol.PluginKey)
	if err != nil {
		t.Fatalf("sdktest: dispense: %v", err)
	}
	c, ok := raw.(pluginv1.ActionPluginClient)
	if !ok {
		t.Fatalf("sdktest: dispensed %T, not an ActionPluginClient", raw)
	}
	desc, err := plugins.Describe(context.Background(), c)
	if err != nil {
		t.Fatalf("sdktest: plugin %s: the host refuses its description: %v", p.Name, err)
	}
	conn, err := plugins.Connect(context.Background(), c)
	if err != nil {
		t.Fatalf("sdktest: plugin %s: %v", p.Name, err)
	}
	t.Cleanup(conn.Close)
	return &Plugin{t: t, client: c, conn: conn, desc: desc}
}

// Client returns the raw gRPC client, for tests of the protocol itself.
func (p *Plugin) Client() pluginv1.ActionPluginClient { return p.client }

// Describe returns the plugin's description as the host reads it: actions
// named PLUGIN.ACTION and sorted, schemas decoded.
func (p *Plugin) Describe() *plugins.Description { return p.desc }

// Action returns the spec of an action, named without the plugin's name,
// and fails the test if there is none.
func (p *Plugin) Action(name string) actions.Spec {
	p.t.Helper()
	for _, a := range p.desc.Actions {
		if a.Name == p.desc.Name+"."+name {
			return a
		}
	}
	p.t.Fatalf("sdktest: plugin %s has no action %q", p.desc.Name, name)
	return actions.Spec{}
}

// Configure sends settings as the host does after resolving secrets. A
// refusal is an error whose message is what the user would see.
func (p *Plugin) Configure(settings map[string]any) error {
	p.t.Helper()
	b := []byte("{}")
	if settings != nil {
		var err error
		if b, err = json.Marshal(settings); err != nil {
			p.t.Fatalf("sdktest: settings: %v", err)
		}
	}
	_, err := p.client.Configure(p.t.Context(), &pluginv1.ConfigureRequest{Config: b})
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
		return errors.New(st.Message())
	}
	return err
}

// Log is a log line an action sent.
type Log struct {
	Level   string // debug, info, warn or error
	Message string
}

// Execute runs an action (named without the plugin's name) with a step's
// with, through the host's plugins.Conn, and returns its outputs, the log
// lines it sent in order, and its error: an *actions.Error with the code,
// message and retryable the engine would record. The defaults of the
// request are those of a first attempt of step "step" of run "run-1",
// outside for_each; options change them.
func (p *Plugin) Execute(action string, with map[string]any, opts ...CallOption) (map[string]any, []Log, error) {
	p.t.Helper()
	c := &callConfig{ctx: p.t.Context(), req: actions.Request{
		Action: p.desc.Name + "." + action, With: with, RunID: "run-1", StepID: "step",
		Index: -1, Attempt: 1, IdempotencyKey: "run-1/step",
	}}
	for _, o := range opts {
		o(c)
	}
	ctx := c.ctx
	if !c.req.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, c.req.Deadline)
		defer cancel()
	}
	var mu sync.Mutex
	var logs []Log
	c.req.Log = func(level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, Log{level, msg})
	}
	out, err := p.conn.Call(ctx, action, &c.req)
	mu.Lock()
	defer mu.Unlock()
	return out, logs, err
}

// CallOption changes the request Execute sends.
type CallOption func(*callConfig)

type callConfig struct {
	ctx context.Context
	req actions.Request
}

// Attempt sets the attempt number (1 for the first try).
func Attempt(n int) CallOption { return func(c *callConfig) { c.req.Attempt = n } }

// IdempotencyKey sets the idempotency key.
func IdempotencyKey(key string) CallOption {
	return func(c *callConfig) { c.req.IdempotencyKey = key }
}

// Step sets the run and step ids.
func Step(runID, stepID string) CallOption {
	return func(c *callConfig) { c.req.RunID, c.req.StepID = runID, stepID }
}

// Index sets the for_each item.
func Index(i int) CallOption { return func(c *callConfig) { c.req.Index = i } }

// DryRun marks the call as part of a dry-run.
func DryRun() CallOption { return func(c *callConfig) { c.req.DryRun = true } }

// Undo marks the call as a step's undo.
func Undo() CallOption { return func(c *callConfig) { c.req.Undo = true } }

// Deadline sets the step's deadline: the request's and the call's.
func Deadline(t time.Time) CallOption { return func(c *callConfig) { c.req.Deadline = t } }

// Context sets the context of the call (the test's by default): cancel it
// to cancel the step.
func Context(ctx context.Context) CallOption { return func(c *callConfig) { c.ctx = ctx } }

// WantError fails the test unless err is an action error with exactly this
// code, retryable flag and message.
func WantError(t testing.TB, err error, code string, retryable bool, msg string) *actions.Error {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) || string(ae.Code) != code || ae.Retryable != retryable || ae.Message != msg {
		t.Fatalf("error %#v\nwant %s (retryable %v) %q", err, code, retryable, msg)
	}
	return ae
}

// WantErrorContaining fails the test unless err is an action error with
// this code and retryable flag whose message holds every part.
func WantErrorContaining(t testing.TB, err error, code string, retryable bool, parts ...string) *actions.Error {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) || string(ae.Code) != code || ae.Retryable != retryable {
		t.Fatalf("error %#v, want %s (retryable %v)", err, code, retryable)
	}
	for _, p := range parts {
		if !strings.Contains(ae.Message, p) {
			t.Errorf("error message %q does not say %q", ae.Message, p)
		}
	}
	return ae
}
