package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/schema"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testAction is an action defined by a test: these tests exercise the
// engine's scheduling, so the actions are functions of the test rather
// than plugins (plugins are tested as real processes in package plugins).
type testAction struct {
	spec actions.Spec
	fn   func(ctx context.Context, req *actions.Request) (map[string]any, error)
}

func (a *testAction) Spec() actions.Spec { return a.spec }
func (a *testAction) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	return a.fn(ctx, req)
}

func act(name string, mutates bool, fn func(ctx context.Context, req *actions.Request) (map[string]any, error)) *testAction {
	return &testAction{spec: actions.Spec{Name: name, Mutates: mutates, Input: &schema.DataSchema{Type: schema.Types{"object"}}}, fn: fn}
}

func registry(t testing.TB, clock clockwork.Clock, extra ...actions.Action) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clock, nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(extra...); err != nil {
		t.Fatal(err)
	}
	return reg
}

func load(t testing.TB, reg *actions.Registry, src string) *schema.Runbook {
	t.Helper()
	rb, diags := schema.Check("test.yaml", []byte(src), reg)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	return rb
}

// recorder keeps events as short lines.
type recorder struct {
	mu     sync.Mutex
	events []*engine.Event
}

func (r *recorder) Event(e *engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// lines renders the events of the given types as "type step[/phase] status".
func (r *recorder) lines(types ...engine.EventType) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		keep := len(types) == 0
		for _, t := range types {
			keep = keep || e.Type == t
		}
		if !keep {
			continue
		}
		s := string(e.Type)
		if e.Step != "" {
			s += " " + e.Step
		}
		if e.Phase != "" {
			s += "/" + string(e.Phase)
		}
		if e.Status != "" {
			s += " " + string(e.Status)
		}
		out = append(out, s)
	}
	return out
}

func statuses(res *engine.Result) string {
	var parts []string
	for _, s := range res.Steps {
		p := s.ID
		if s.Phase != "" {
			p += "/" + string(s.Phase)
		}
		parts = append(parts, p+"="+string(s.Status))
	}
	return strings.Join(parts, " ")
}

func run(t testing.TB, rb *schema.Runbook, reg *actions.Registry, inputs map[string]any, opts engine.Options) *engine.Result {
	t.Helper()
	opts.Registry = reg
	res, err := engine.Run(context.Background(), rb, inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func errf(code actions.Code, retryable bool, format string, args ...any) error {
	return &actions.Error{Code: code, Message: fmt.Sprintf(format, args...), Retryable: retryable}
}
