package mcpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/mcpserver"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// local is a server as steward mcp builds it (a local user acts) on a
// real SQLite journal, connected to the SDK's client in memory.
type local struct {
	store *sqlite.Store
	cs    *mcp.ClientSession
}

func newLocalServer(t testing.TB, files map[string]string, expose []string, secrets map[string]string) (*mcpserver.Server, *sqlite.Store, error) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{Store: store, Clock: clock, Host: "test", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			_ = reg.Register(core.Actions(clock, sub)...)
			return reg
		}})
	srv, err := mcpserver.New(mcpserver.Config{
		Runs:       svc,
		Runbooks:   expose,
		Resolve:    func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, []string{dir}) },
		Secret:     func(name string) (string, bool) { v, ok := secrets[name]; return v, ok },
		SecretHint: func(name string) string { return "STEWARD_SECRET_" + strings.ToUpper(name) },
		LocalUser:  "alice",
	})
	return srv, store, err
}

func newLocal(t testing.TB, client string, files map[string]string, expose []string, secrets map[string]string) *local {
	t.Helper()
	srv, store, err := newLocalServer(t, files, expose, secrets)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, ct := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: client, Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		<-done
	})
	return &local{store: store, cs: cs}
}

func (l *local) count(t *testing.T) int {
	t.Helper()
	n := 0
	_ = l.store.Runs(context.Background(), journal.Filter{}, func(journal.Run) error { n++; return nil })
	return n
}

func TestToolSchemaOfEveryInputType(t *testing.T) {
	src, err := os.ReadFile("../../schema/testdata/valid/inputs-every-type.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Its inputs, with a step of the built-ins (its own use a plugin).
	inputs, _, _ := strings.Cut(string(src), "\nvars:")
	rb := inputs + "\nsteps:\n  - id: s\n    action: core.set\n    with: {n: '${{ inputs.nodes }}'}\n"
	l := newLocal(t, "test", map[string]string{"resize-cluster": rb}, []string{"resize-cluster"}, nil)
	tools, err := l.cs.ListTools(context.Background(), nil)
	if err != nil || len(tools.Tools) != 1 {
		t.Fatalf("tools %v, %v", tools, err)
	}
	tl := tools.Tools[0]
	s := tl.InputSchema.(map[string]any)
	props := s["properties"].(map[string]any)
	delete(props, "dry_run")
	want := map[string]any{
		"cluster":       map[string]any{"type": "string", "pattern": "^[a-z][a-z0-9-]+$", "description": "Cluster name"},
		"region":        map[string]any{"type": "string", "enum": []any{"eu-west-1", "us-east-1"}, "default": "eu-west-1"},
		"nodes":         map[string]any{"type": "integer", "minimum": 1.0, "maximum": 50.0, "default": 3.0},
		"max_cpu_ratio": map[string]any{"type": "number", "minimum": 0.0, "maximum": 1.5, "default": 0.75},
		"size":          map[string]any{"type": "integer", "enum": []any{2.0, 4.0, 8.0}, "default": 4.0},
		"dry_run_only":  map[string]any{"type": "boolean", "default": false},
		"zones":         map[string]any{"type": "array", "default": []any{"a", "b"}},
		"labels":        map[string]any{"type": "object", "default": map[string]any{"team": "platform", "tier": "1"}},
		"note":          map[string]any{"type": "string"},
	}
	if !reflect.DeepEqual(props, want) {
		got, _ := json.MarshalIndent(props, "", "  ")
		t.Errorf("properties:\n%s", got)
	}
	if !reflect.DeepEqual(s["required"], []any{"cluster"}) || s["additionalProperties"] != false {
		t.Errorf("schema %v", s)
	}
	if tl.Title != "Resize a cluster node pool" || !strings.Contains(tl.Description, "Secret inputs (api_token) are supplied by the Steward server") {
		t.Errorf("title %q description %q", tl.Title, tl.Description)
	}
}

const secretRunbook = `version: 1
name: needs-secret
inputs:
  api_token: {type: string, secret: true, required: true}
  n: {type: integer, default: 1}
steps:
  - id: s
    action: core.set
    with: {ok: true}
`

func TestToolErrorsNothingRuns(t *testing.T) {
	l := newLocal(t, "test", map[string]string{"needs-secret": secretRunbook, "boom": `version: 1
name: boom
steps:
  - id: fail
    action: core.fail
    with: {message: it broke}
`}, []string{"needs-secret", "boom"}, nil)
	ctx := context.Background()
	for _, c := range []struct {
		args any
		want string
	}{
		{map[string]any{}, "needs-secret: 1 invalid input(s); nothing ran:\n- input api_token: is a secret input the server does not have (set STEWARD_SECRET_API_TOKEN where the Steward server runs)"},
		{map[string]any{"n": 1.5, "api_token": "x"}, "needs-secret: 2 invalid input(s); nothing ran:\n- input api_token: is a secret input: an assistant never passes it (the server reads it from STEWARD_SECRET_API_TOKEN)\n- input n: 1.5 is not an integer (integer)"},
		{[]any{1, 2}, "needs-secret: 1 invalid input(s); nothing ran:\n- the arguments must be a JSON object of the runbook's inputs"},
	} {
		res, err := l.cs.CallTool(ctx, &mcp.CallToolParams{Name: "needs-secret", Arguments: c.args})
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if !res.IsError || text(res) != c.want {
			t.Errorf("%v: error %v\n%s\nwant\n%s", c.args, res.IsError, text(res), c.want)
		}
	}
	if n := l.count(t); n != 0 {
		t.Fatalf("%d runs recorded", n)
	}
	// A run that fails is a tool error too, with its record.
	res, err := l.cs.CallTool(ctx, &mcp.CallToolParams{Name: "boom"})
	if err != nil {
		t.Fatal(err)
	}
	sc, _ := res.StructuredContent.(map[string]any)
	if !res.IsError || sc["status"] != "failed" || !strings.Contains(text(res), "failed. it broke") {
		t.Errorf("failed run: %v %s", sc, text(res))
	}
}

// The client's name is made safe before it goes in the actor: a name
// cannot pass for another user.
func TestLocalActorOfClientName(t *testing.T) {
	l := newLocal(t, "Evil (bob) \x1b[31m", map[string]string{"needs-secret": secretRunbook}, []string{"needs-secret"}, map[string]string{"api_token": "t0k"})
	res, err := l.cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "needs-secret"})
	if err != nil || res.IsError {
		t.Fatalf("%v %s", err, text(res))
	}
	var actor string
	_ = l.store.Runs(context.Background(), journal.Filter{}, func(r journal.Run) error { actor = r.Actor; return nil })
	if actor != "mcp:evil-bob-31m (alice)" || journal.StartedBy(actor, "bob") || !journal.StartedBy(actor, "alice") {
		t.Errorf("actor %q", actor)
	}
}

func TestNewRefusesWhatCannotRun(t *testing.T) {
	_, _, err := newLocalServer(t, map[string]string{"clash": `version: 1
name: clash
inputs:
  dry_run: {type: boolean, default: false}
steps:
  - id: s
    action: core.set
    with: {}
`, "broken": "version: 1\nname: broken\nsteps:\n  - id: s\n    action: core.nope\n"}, []string{"clash", "missing", "broken"}, nil)
	if !errors.Is(err, mcpserver.ErrNotExposable) {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{
		"clash: its input dry_run clashes with the tool argument of that name",
		"missing: ",
		"broken: ", "core.nope",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	// None by default: a server without tools.
	if _, _, err := newLocalServer(t, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkToolCall: one tool call of a two-step runbook through the
// SDK's client and server (in memory), journaled in a real SQLite store.
func BenchmarkToolCall(b *testing.B) {
	l := newLocal(b, "bench", map[string]string{"hello": helloRunbook}, []string{"hello"}, nil)
	ctx := context.Background()
	params := &mcp.CallToolParams{Name: "hello", Arguments: map[string]any{"name": "Ana"}}
	for b.Loop() {
		res, err := l.cs.CallTool(ctx, params)
		if err != nil || res.IsError {
			b.Fatalf("%v %s", err, text(res))
		}
	}
}

// A call the client cancels cancels its run, as Ctrl-C does steward
// run's: the run ends cancelled in the journal.
func TestCancelledCallCancelsRun(t *testing.T) {
	const slow = `version: 1
name: slow
steps:
  - id: wait
    action: core.sleep
    with: {duration: 10m}
`
	srv, store, err := newLocalServer(t, map[string]string{"slow": slow}, []string{"slow"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, ct := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, st) }()
	started := make(chan struct{}, 1)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) {
			select {
			case started <- struct{}{}:
			default:
			}
		},
	}).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	callCtx, stop := context.WithCancel(ctx)
	params := &mcp.CallToolParams{Name: "slow"}
	params.SetProgressToken("p")
	called := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(callCtx, params)
		called <- err
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the run never started")
	}
	stop()
	if err := <-called; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	// The run ends cancelled; the server's execution records it.
	status := ""
	for ctx.Err() == nil {
		_ = store.Runs(ctx, journal.Filter{}, func(r journal.Run) error { status = r.Status; return nil })
		if status != "running" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status != "cancelled" {
		t.Errorf("run status %q, want cancelled", status)
	}
	_ = cs.Close()
	cancel()
	<-done
}
