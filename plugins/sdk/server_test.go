package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type echoIn struct {
	Text  string       `json:"text" desc:"what to echo" pattern:"^[a-z ]+$"`
	Times int          `json:"times,omitempty" min:"1" max:"5"`
	Mode  string       `json:"mode,omitempty" enum:"plain,loud"`
	Wait  sdk.Duration `json:"wait,omitempty"`
	Meta  *struct {
		Ticket string `json:"ticket"`
	} `json:"meta,omitempty"`
}

type echoOut struct {
	Text  string `json:"text"`
	Times int    `json:"times"`
}

type secretOut struct {
	User  string `json:"user"`
	Token string `json:"token" steward:"sensitive"`
}

type empty struct{}

type settings struct {
	Endpoint string       `json:"endpoint" desc:"base URL"`
	APIKey   string       `json:"api_key,omitempty" steward:"sensitive"`
	Timeout  sdk.Duration `json:"timeout,omitempty"`
}

// testPlugin is a plugin whose handlers report what they saw.
type testPlugin struct {
	cfg      settings
	mu       sync.Mutex
	calls    []*sdk.Call
	mutated  int
	validate func(settings) error
}

func (tp *testPlugin) record(c *sdk.Call) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.calls = append(tp.calls, c)
}

func (tp *testPlugin) plugin() sdk.Plugin {
	tp.cfg = settings{Timeout: sdk.Duration(5 * time.Second)}
	return sdk.Plugin{
		Name: "testing", Version: "0.1.0", Description: "Exercises the SDK.",
		Config: &tp.cfg,
		Configure: func(context.Context) error {
			if tp.validate != nil {
				return tp.validate(tp.cfg)
			}
			return nil
		},
		Actions: []sdk.ActionDef{
			sdk.Action("echo", func(ctx context.Context, call *sdk.Call, in echoIn) (echoOut, error) {
				tp.record(call)
				if in.Times == 0 {
					in.Times = 1
				}
				call.Infof("echo %q %d times", in.Text, in.Times)
				return echoOut{Text: strings.Repeat(in.Text, in.Times), Times: in.Times}, nil
			}, sdk.Describe("Echoes its text.")),
			sdk.Action("mutate", func(ctx context.Context, call *sdk.Call, in empty) (map[string]any, error) {
				tp.mu.Lock()
				defer tp.mu.Unlock()
				tp.mutated++
				return map[string]any{"key": call.IdempotencyKey}, nil
			}, sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("secret", func(ctx context.Context, call *sdk.Call, in empty) (secretOut, error) {
				return secretOut{User: "u", Token: "s3cr3t"}, nil
			}),
			sdk.Action("logs", func(ctx context.Context, call *sdk.Call, in struct {
				N int `json:"n"`
			}) (empty, error) {
				var wg sync.WaitGroup
				for i := range in.N {
					call.Log(sdk.Level([]string{"debug", "info", "warn", "error", "loud"}[i%5]), fmt.Sprintf("line %d", i+1))
				}
				// Lines from other goroutines arrive whole, before the result.
				for i := range 10 {
					wg.Add(1)
					go func() { defer wg.Done(); call.Warnf("from goroutine %d", i) }()
				}
				wg.Wait()
				return empty{}, nil
			}),
			sdk.Action("fail", func(ctx context.Context, call *sdk.Call, in struct {
				How string `json:"how" enum:"error,retryable,plain,wrapped,deadline,panic,nan,nil"`
			}) (map[string]any, error) {
				switch in.How {
				case "error":
					return nil, sdk.Error("not_found", "no payment %s", "pay_1")
				case "retryable":
					return nil, sdk.Retryable("rate_limited", "slow down: %w", errors.New("429"))
				case "plain":
					return nil, errors.New("boom")
				case "wrapped":
					return nil, fmt.Errorf("looking up: %w", sdk.Retryable("unavailable", "the API is down"))
				case "deadline":
					<-ctx.Done()
					return nil, ctx.Err()
				case "panic":
					var items []int
					return map[string]any{"x": items[len(in.How)]}, nil
				case "nan":
					return map[string]any{"x": math.NaN()}, nil
				}
				return nil, nil
			}),
			sdk.Action("config", func(ctx context.Context, call *sdk.Call, in empty) (settings, error) {
				return tp.cfg, nil
			}),
		},
	}
}

func start(t *testing.T) (*testPlugin, *sdktest.Plugin) {
	t.Helper()
	tp := &testPlugin{}
	p := sdktest.Start(t, tp.plugin())
	if err := p.Configure(map[string]any{"endpoint": "https://x.example"}); err != nil {
		t.Fatal(err)
	}
	return tp, p
}

func wantError(t *testing.T, err error, code string, retryable bool, msg string) {
	t.Helper()
	var ae *actions.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want code %s", err, err, code)
	}
	if string(ae.Code) != code || ae.Retryable != retryable || ae.Message != msg {
		t.Fatalf("error %s retryable %v %q, want %s retryable %v %q", ae.Code, ae.Retryable, ae.Message, code, retryable, msg)
	}
}

func TestDescribe(t *testing.T) {
	_, p := start(t)
	d := p.Describe()
	if d.Name != "testing" || d.Version != "0.1.0" || d.Description != "Exercises the SDK." || len(d.Actions) != 6 {
		t.Fatalf("description: %+v", d)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, " "); got != "testing.config testing.echo testing.fail testing.logs testing.mutate testing.secret" {
		t.Errorf("actions: %s", got)
	}
	echo := p.Action("echo")
	if echo.Description != "Echoes its text." || echo.Mutates || echo.Idempotent || echo.Input.Properties["text"].Pattern != "^[a-z ]+$" ||
		strings.Join(echo.Input.Required, ",") != "text" || echo.Output.Properties["times"].Type[0] != "integer" {
		t.Errorf("echo: %+v", echo)
	}
	if m := p.Action("mutate"); !m.Mutates || !m.Idempotent {
		t.Errorf("mutate: %+v", m)
	}
	if s := p.Action("secret"); strings.Join(s.Sensitive, ",") != "token" || !s.Output.Properties["token"].Sensitive {
		t.Errorf("secret: %+v", s)
	}
	if want := `{"type":"object","properties":{"api_key":{"type":"string","x-sensitive":true},"endpoint":{"type":"string","description":"base URL"},"timeout":{"type":"string","format":"duration"}},"required":["endpoint"]}`; string(d.Config) != want {
		t.Errorf("config schema\n got %s\nwant %s", d.Config, want)
	}
}

func TestExecutePassesTheCall(t *testing.T) {
	tp, p := start(t)
	deadline := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	out, logs, err := p.Execute("echo", map[string]any{"text": "hi ", "times": 2},
		sdktest.Step("run-7", "greet"), sdktest.Index(3), sdktest.Attempt(2), sdktest.IdempotencyKey("k-1"),
		sdktest.DryRun(), sdktest.Undo(), sdktest.Deadline(deadline))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out) != "map[text:hi hi  times:2]" {
		t.Errorf("outputs %v", out)
	}
	if len(logs) != 1 || logs[0] != (sdktest.Log{Level: "info", Message: `echo "hi " 2 times`}) {
		t.Errorf("logs %v", logs)
	}
	c := tp.calls[0]
	if c.Action != "echo" || c.RunID != "run-7" || c.StepID != "greet" || c.Index != 3 || c.Attempt != 2 ||
		c.IdempotencyKey != "k-1" || !c.DryRun || !c.Undo || !c.Deadline.Equal(deadline) {
		t.Errorf("call %+v", c)
	}
	// Defaults: a first attempt, no deadline.
	if _, _, err := p.Execute("echo", map[string]any{"text": "x"}); err != nil {
		t.Fatal(err)
	}
	if c := tp.calls[1]; c.Attempt != 1 || c.Index != -1 || c.DryRun || !c.Deadline.IsZero() {
		t.Errorf("call %+v", c)
	}
}

func TestInputDecodingErrors(t *testing.T) {
	tp, p := start(t)
	for _, c := range []struct {
		with map[string]any
		msg  string
	}{
		{nil, `with: missing required field "text"`},
		{map[string]any{"text": "a", "txt": "b"}, `with: unknown field "txt"`},
		{map[string]any{"text": 5}, "with.text must be a string, got an integer"},
		{map[string]any{"text": "A"}, `with.text must match ^[a-z ]+$, got "A"`},
		{map[string]any{"text": "a", "times": 9}, "with.times must be at most 5, got 9"},
		{map[string]any{"text": "a", "times": 1.5}, "with.times must be an integer, got a number"},
		{map[string]any{"text": "a", "mode": "quiet"}, `with.mode must be one of ["plain", "loud"], got "quiet"`},
		{map[string]any{"text": "a", "wait": "soon"}, `with.wait: invalid duration "soon"`},
		{map[string]any{"text": "a", "meta": map[string]any{}}, `with.meta: missing required field "ticket"`},
		{map[string]any{"text": "a", "meta": map[string]any{"ticket": "T-1", "x": 1}}, `with.meta: unknown field "x"`},
	} {
		_, _, err := p.Execute("echo", c.with)
		wantError(t, err, sdk.CodeInvalidInput, false, c.msg)
	}
	if len(tp.calls) != 0 {
		t.Errorf("the handler ran on invalid input %d times", len(tp.calls))
	}
}

func TestErrors(t *testing.T) {
	_, p := start(t)
	for how, want := range map[string]struct {
		code      string
		retryable bool
		msg       string
	}{
		"error":     {"not_found", false, "no payment pay_1"},
		"retryable": {"rate_limited", true, "slow down: 429"},
		"plain":     {"failed", false, "boom"},
		"wrapped":   {"unavailable", true, "looking up: the API is down"},
		"panic":     {"plugin_panic", true, "panic: runtime error: index out of range [5] with length 0"},
		"nan":       {"failed", false, "outputs: json: unsupported value: NaN"},
	} {
		_, logs, err := p.Execute("fail", map[string]any{"how": how})
		wantError(t, err, want.code, want.retryable, want.msg)
		if how == "panic" {
			if len(logs) != 1 || logs[0].Level != "error" || !strings.HasPrefix(logs[0].Message, "panic: runtime error: index out of range [5] with length 0\ngoroutine ") {
				t.Errorf("panic logs: %v", logs)
			}
		}
	}
	// A handler returning nothing has no outputs.
	if out, _, err := p.Execute("fail", map[string]any{"how": "nil"}); err != nil || len(out) != 0 || out == nil {
		t.Errorf("nil: %v %v", out, err)
	}
	// The context's error: the host sees its own deadline first and says
	// timeout; the answer the plugin sends says so too.
	ev, err := p.Client().Execute(context.Background(), &pluginv1.ExecuteRequest{Action: "fail", Input: []byte(`{"how":"deadline"}`),
		DeadlineUnixMs: time.Now().Add(50 * time.Millisecond).UnixMilli(), CallId: 1})
	if err != nil || ev.GetError().GetCode() != "timeout" || !ev.GetError().GetRetryable() {
		t.Errorf("deadline: %v %v", ev, err)
	}
}

func TestUnknownActionAndDryRun(t *testing.T) {
	tp, p := start(t)
	_, _, err := p.Execute("nope", nil)
	wantError(t, err, sdk.CodeUnknownAction, false, `plugin testing has no action "nope"; it has config, echo, fail, logs, mutate, secret`)
	_, _, err = p.Execute("mutate", nil, sdktest.DryRun())
	wantError(t, err, sdk.CodeDryRun, false, "testing.mutate mutates: it does not run in a dry-run")
	if tp.mutated != 0 {
		t.Error("the mutating handler ran in a dry-run")
	}
	out, _, err := p.Execute("mutate", nil, sdktest.IdempotencyKey("run-1/s"))
	if err != nil || out["key"] != "run-1/s" || tp.mutated != 1 {
		t.Errorf("mutate: %v %v %d", out, err, tp.mutated)
	}
}

func TestLogsArriveInOrderBeforeTheResult(t *testing.T) {
	_, p := start(t)
	_, logs, err := p.Execute("logs", map[string]any{"n": 200})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 210 {
		t.Fatalf("%d log lines, want 210", len(logs))
	}
	levels := []string{"debug", "info", "warn", "error", "info"} // an unknown level is info
	for i, l := range logs[:200] {
		if want := (sdktest.Log{Level: levels[i%5], Message: fmt.Sprintf("line %d", i+1)}); l != want {
			t.Fatalf("log %d is %v, want %v", i, l, want)
		}
	}
	for _, l := range logs[200:] {
		if l.Level != "warn" || !strings.HasPrefix(l.Message, "from goroutine ") {
			t.Errorf("goroutine log %v", l)
		}
	}
}

func TestLogAfterTheCallIsDropped(t *testing.T) {
	tp, p := start(t)
	if _, _, err := p.Execute("echo", map[string]any{"text": "a"}); err != nil {
		t.Fatal(err)
	}
	tp.calls[0].Infof("late") // must neither panic nor reach anyone
	var nilCall *sdk.Call
	nilCall.Infof("nothing")
}

func TestSensitiveOutputs(t *testing.T) {
	_, p := start(t)
	out, _, err := p.Execute("secret", nil)
	if err != nil || out["token"] != "s3cr3t" {
		t.Fatalf("%v %v", out, err)
	}
}

func TestConfigure(t *testing.T) {
	tp := &testPlugin{}
	p := sdktest.Start(t, tp.plugin())
	for _, c := range []struct{ settings, want string }{
		{`{"endpoint": "x", "api_kee": "k"}`, `settings: unknown field "api_kee"`},
		{`{}`, `settings: missing required field "endpoint"`},
		{`{"endpoint": 1}`, "settings.endpoint must be a string, got an integer"},
		{`{"endpoint": "x", "timeout": "1"}`, `settings.timeout: invalid duration "1"`},
	} {
		if err := p.Configure(mustJSON(t, c.settings)); err == nil || err.Error() != c.want {
			t.Errorf("%s: error %v, want %s", c.settings, err, c.want)
		}
	}
	// A refused configuration: calls fail until settings are accepted.
	_, _, err := p.Execute("config", nil)
	wantError(t, err, sdk.CodeNotConfigured, false,
		`plugin testing is not configured: settings.timeout: invalid duration "1" (plugins.settings.testing in steward.yaml)`)

	// Defaults survive; the Configure hook sees the decoded settings.
	tp.validate = func(s settings) error {
		if !strings.HasPrefix(s.Endpoint, "https://") {
			return fmt.Errorf("endpoint %q: use https", s.Endpoint)
		}
		return nil
	}
	if err := p.Configure(map[string]any{"endpoint": "http://x"}); err == nil || err.Error() != `endpoint "http://x": use https` {
		t.Errorf("hook: %v", err)
	}
	if err := p.Configure(map[string]any{"endpoint": "https://x", "api_key": "k"}); err != nil {
		t.Fatal(err)
	}
	out, _, err := p.Execute("config", nil)
	if err != nil || fmt.Sprint(out) != "map[api_key:k endpoint:https://x timeout:5s]" {
		t.Errorf("config: %v %v", out, err)
	}
}

func mustJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNeverConfigured(t *testing.T) {
	// A host that calls Execute without Configure: the settings are
	// taken as empty, and the required one is missing.
	p := sdktest.Start(t, (&testPlugin{}).plugin())
	_, _, err := p.Execute("echo", map[string]any{"text": "a"})
	wantError(t, err, sdk.CodeNotConfigured, false,
		`plugin testing is not configured: settings: missing required field "endpoint" (plugins.settings.testing in steward.yaml)`)
}

func TestAPluginWithoutSettingsRefusesSome(t *testing.T) {
	p := sdktest.Start(t, sdk.Plugin{Name: "bare", Actions: []sdk.ActionDef{
		sdk.Action("nothing", func(context.Context, *sdk.Call, empty) (empty, error) { return empty{}, nil }),
	}})
	if d := p.Describe(); d.Config != nil {
		t.Errorf("config schema %s", d.Config)
	}
	if err := p.Configure(nil); err != nil {
		t.Errorf("no settings: %v", err)
	}
	if err := p.Configure(map[string]any{"x": 1}); err == nil || err.Error() != "plugin bare takes no settings: remove plugins.settings.bare" {
		t.Errorf("settings: %v", err)
	}
}

func TestNewServerReportsEveryProblem(t *testing.T) {
	type bad struct {
		C chan int `json:"c"`
	}
	_, err := sdk.NewServer(sdk.Plugin{
		Name: "Bad Name",
		Actions: []sdk.ActionDef{
			sdk.Action("ok", func(context.Context, *sdk.Call, empty) (empty, error) { return empty{}, nil }),
			sdk.Action("ok", func(context.Context, *sdk.Call, empty) (empty, error) { return empty{}, nil }),
			sdk.Action("Get", func(context.Context, *sdk.Call, empty) (empty, error) { return empty{}, nil }),
			sdk.Action("in", func(context.Context, *sdk.Call, bad) (empty, error) { return empty{}, nil }),
			sdk.Action("out", func(context.Context, *sdk.Call, empty) (string, error) { return "", nil }),
			sdk.Action[empty, empty]("nil", nil),
			{},
		},
		Config: settings{},
	})
	want := `plugin name "Bad Name": a name is lower case letters, digits, _ and -, starting with a letter
action "ok": defined twice
action "Get": a name is lower case letters, digits and _, starting with a letter
action "in": input: field "c" (bad.C): type chan int cannot be JSON
action "out": output: type string must be a struct or a map with string keys: it is a JSON object
action "nil": the handler is nil
action 6: not made by sdk.Action
config: sdk_test.settings is not a pointer to a struct`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}
