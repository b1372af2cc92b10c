// Command faulty is a plugin that misbehaves on request, for the tests of
// the plugin host. The tests install its binary under several names; what
// it does depends on the name it runs under:
//
//   - steward-plugin-faulty: plugin faulty, whose actions crash, panic,
//     hang, sleep, log, print on stderr, return big or sensitive outputs,
//     show their environment and their settings;
//   - steward-plugin-garbage: prints a line on stdout before serving,
//     which breaks the go-plugin handshake;
//   - steward-plugin-future: serves protocol version 2 only;
//   - steward-plugin-liar: describes itself as plugin someone-else;
//   - steward-plugin-deaf: plugin deaf, the faulty plugin served without
//     watching its lifeline, so only the parent-death signal ends it when
//     the host is killed;
//   - steward-plugin-mistyped: plugin mistyped, the faulty plugin whose
//     answers do not fit the output schemas it declares: ok returns its
//     value as a number, mutate adds an undeclared field, secret returns
//     its token as a number, and env returns null for its list (which
//     fits: null is a value not set);
//   - any other name: exits with status 1.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
	"github.com/stewardhq/steward/plugins/sdk"
)

// stderr is the process's own stderr, captured before go-plugin replaces
// os.Stderr by a pipe it forwards over gRPC: lines written here reach the
// host even when the process exits right after.
var stderr = os.Stderr

func main() {
	name := strings.TrimPrefix(filepath.Base(os.Args[0]), "steward-plugin-")
	switch name {
	case "faulty":
		sdk.Serve(faulty())
	case "garbage":
		fmt.Println("hello from a plugin that prints")
		p := faulty()
		p.Name = "garbage"
		sdk.Serve(p)
	case "future":
		serve("future", 2, true)
	case "deaf":
		serve("deaf", protocol.Version, false)
	case "mistyped":
		serveWrapped("mistyped", protocol.Version, true, func(s pluginv1.ActionPluginServer) pluginv1.ActionPluginServer {
			return mistyped{s}
		})
	case "liar":
		p := faulty()
		p.Name = "someone-else"
		sdk.Serve(p)
	default:
		fmt.Fprintf(stderr, "faulty: run me as steward-plugin-faulty, -garbage, -future, -liar or -deaf, not %s\n", filepath.Base(os.Args[0]))
		os.Exit(1)
	}
}

// serve serves the faulty plugin under another name with go-plugin
// directly, as protocol version (only), watching the lifeline or not.
func serve(name string, version int, lifeline bool) {
	serveWrapped(name, version, lifeline, nil)
}

// serveWrapped serves like serve, the server wrapped by wrap when not nil.
func serveWrapped(name string, version int, lifeline bool, wrap func(pluginv1.ActionPluginServer) pluginv1.ActionPluginServer) {
	p := faulty()
	p.Name = name
	srv, err := sdk.NewServer(p)
	if err != nil {
		fmt.Fprintln(stderr, err)
		os.Exit(1)
	}
	if wrap != nil {
		srv = wrap(srv)
	}
	hs := protocol.Handshake
	hs.ProtocolVersion = uint(version)
	if lifeline {
		protocol.WatchLifeline(func() { os.Exit(2) })
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  hs,
		VersionedPlugins: map[int]plugin.PluginSet{version: protocol.Plugins(srv)[protocol.Version]},
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: stderr, JSONFormat: true}),
	})
}

// mistyped answers outputs that do not fit the schemas the SDK derived
// from the handlers' types, as a plugin that builds its JSON by hand may.
type mistyped struct{ pluginv1.ActionPluginServer }

func (m mistyped) Execute(ctx context.Context, req *pluginv1.ExecuteRequest) (*pluginv1.ExecuteResponse, error) {
	resp, err := m.ActionPluginServer.Execute(ctx, req)
	if err != nil || resp.GetError() != nil {
		return resp, err
	}
	out := map[string]string{
		"ok":     `{"value": 42, "pid": 1}`,
		"mutate": `{"value": "x", "extra": true}`,
		"secret": `{"token": 12345}`,
		"env":    `{"env": null}`,
	}[req.GetAction()]
	if out != "" {
		resp.Outcome = &pluginv1.ExecuteResponse_Result{Result: &pluginv1.Result{Outputs: []byte(out)}}
	}
	return resp, nil
}

// Settings are the faulty plugin's settings; none is required, since the
// host tests mostly configure none.
type Settings struct {
	Endpoint string `json:"endpoint,omitempty" desc:"a URL, echoed by the config action"`
	APIKey   string `json:"api_key,omitempty" desc:"a key, echoed by the config action" steward:"sensitive"`
}

// Value is an input or output of one string.
type Value struct {
	Value string `json:"value"`
}

// Slept is the output of sleep.
type Slept struct {
	PID  int `json:"pid"`
	Peak int `json:"peak" desc:"the most sleeps this process has run at once"`
}

// inflight and peak count the sleeps running in this process.
var inflight, peak atomic.Int64

// None is no input, or no output.
type None struct{}

// OK is the output of ok.
type OK struct {
	Value string `json:"value"`
	PID   int    `json:"pid"`
}

// Data is the output of big.
type Data struct {
	Data string `json:"data"`
}

// Secret is the output of secret.
type Secret struct {
	Token string `json:"token" steward:"sensitive"`
}

// Env is the output of env.
type Env struct {
	Env []string `json:"env"`
}

// Configured is the output of config.
type Configured struct {
	Endpoint string `json:"endpoint"`
	APIKey   string `json:"api_key"`
}

func faulty() sdk.Plugin {
	var settings Settings
	return sdk.Plugin{
		Name:        "faulty",
		Version:     "0.0.1",
		Description: "Misbehaves on request, for the host's tests.",
		Config:      &settings,
		Actions: []sdk.ActionDef{
			sdk.Action("ok", func(ctx context.Context, call *sdk.Call, in Value) (OK, error) {
				return OK{in.Value, os.Getpid()}, nil
			}, sdk.Describe("Returns its value and the plugin's process id.")),

			sdk.Action("sleep", func(ctx context.Context, call *sdk.Call, in struct {
				MS int `json:"ms" min:"0"`
			}) (Slept, error) {
				n := inflight.Add(1)
				defer inflight.Add(-1)
				for {
					m := peak.Load()
					if n <= m || peak.CompareAndSwap(m, n) {
						break
					}
				}
				select {
				case <-ctx.Done():
					return Slept{}, ctx.Err()
				case <-time.After(time.Duration(in.MS) * time.Millisecond):
					return Slept{PID: os.Getpid(), Peak: int(peak.Load())}, nil
				}
			}, sdk.Describe("Sleeps ms milliseconds, or until cancelled; says in which process and how many sleeps this process has run at once.")),

			sdk.Action("crash", func(ctx context.Context, call *sdk.Call, in None) (None, error) {
				fmt.Fprintln(stderr, "faulty: about to exit")
				os.Exit(3)
				return None{}, nil
			}, sdk.Describe("Exits with status 3 during the call.")),

			sdk.Action("crash_first", func(ctx context.Context, call *sdk.Call, in Value) (Value, error) {
				if call.Attempt == 1 {
					fmt.Fprintln(stderr, "faulty: about to exit on the first attempt")
					os.Exit(3)
				}
				return in, nil
			}, sdk.Describe("Exits during the first attempt of a step; returns its input on the next.")),

			sdk.Action("panic", func(ctx context.Context, call *sdk.Call, in None) (None, error) {
				panic("faulty: a panic in the handler")
			}, sdk.Describe("Panics in the handler: the SDK recovers.")),

			sdk.Action("panic_goroutine", func(ctx context.Context, call *sdk.Call, in None) (None, error) {
				go func() { panic("faulty: a panic in a goroutine") }()
				<-ctx.Done()
				return None{}, ctx.Err()
			}, sdk.Describe("Panics in another goroutine: the process dies.")),

			sdk.Action("hang", func(ctx context.Context, call *sdk.Call, in None) (None, error) {
				<-make(chan struct{}) // ignores ctx, forever
				return None{}, nil
			}, sdk.Describe("Blocks forever, ignoring cancellation.")),

			sdk.Action("big", func(ctx context.Context, call *sdk.Call, in struct {
				Bytes int `json:"bytes" min:"0"`
			}) (Data, error) {
				return Data{strings.Repeat("x", in.Bytes)}, nil
			}, sdk.Describe("Returns a string of bytes x.")),

			sdk.Action("log", func(ctx context.Context, call *sdk.Call, in struct {
				Lines int `json:"lines" min:"0"`
			}) (None, error) {
				fmt.Fprintln(stderr, "faulty: a line on stderr")
				for i := range in.Lines {
					call.Infof("line %d", i+1)
				}
				// Last, on the streams go-plugin relays over gRPC, which
				// reach the host apart from the call's answer.
				fmt.Fprintln(os.Stderr, "faulty: a relayed line on stderr")
				fmt.Fprint(os.Stdout, "faulty: an unfinished line on stdout")
				return None{}, nil
			}, sdk.Describe("Writes a line on its own stderr, logs lines line 1, line 2..., then writes on the stderr and stdout go-plugin relays (the last line unfinished)")),

			sdk.Action("secret", func(ctx context.Context, call *sdk.Call, in None) (Secret, error) {
				return Secret{"tok-SECRET-123"}, nil
			}, sdk.Describe("Returns a sensitive token.")),

			sdk.Action("mutate", func(ctx context.Context, call *sdk.Call, in Value) (Value, error) {
				return in, nil
			}, sdk.Describe("Pretends to change something; not idempotent."), sdk.Mutates()),

			sdk.Action("env", func(ctx context.Context, call *sdk.Call, in None) (Env, error) {
				return Env{os.Environ()}, nil
			}, sdk.Describe("Returns the plugin's environment.")),

			sdk.Action("config", func(ctx context.Context, call *sdk.Call, in None) (Configured, error) {
				return Configured(settings), nil
			}, sdk.Describe("Returns the plugin's settings.")),
		},
	}
}
