package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
)

// Plugin is a Steward action plugin: its name, its version, its actions,
// and optionally its settings.
type Plugin struct {
	// Name is NAME in the binary's name steward-plugin-NAME, and the
	// first part of its actions' names (NAME.ACTION): lower case letters,
	// digits, _ and -. The host refuses a plugin whose name differs from
	// its binary's.
	Name string
	// Version is the plugin's own version, such as 1.4.0.
	Version string
	// Description is one sentence on what the plugin reaches.
	Description string
	// Actions are the plugin's actions, made by Action.
	Actions []ActionDef
	// Config, when set, is a pointer to the plugin's settings struct. The
	// host sends the settings of plugins.settings.NAME in steward.yaml
	// (secrets resolved) once per process before any call; the SDK
	// checks them against the struct's schema and decodes them into it.
	// The struct's values when Serve is called are the defaults of the
	// settings left out. Handlers read the struct: the SDK never runs a
	// handler while it writes it.
	Config any
	// Configure, when set, runs after the settings are decoded into
	// Config and before any call: check them further, build clients. An
	// error refuses the settings; its message is shown to the user.
	Configure func(ctx context.Context) error
	// Procs is how many goroutines may run Go code at once in the plugin
	// (GOMAXPROCS); default 1. A plugin mostly waits on networks, and with
	// one P a call is cheaper to wake for: on a 2-core machine a warm call
	// took 136 µs instead of 160 (BenchmarkCall). Parallel steps still run
	// at once while they wait. Raise it for an action that computes hard.
	Procs int
}

// Serve serves p to Steward over the go-plugin protocol and never
// returns: it is the whole of a plugin's main.
//
//	func main() { sdk.Serve(example.New()) }
//
// A problem with p (a bad name, a field type JSON cannot carry) is
// printed on stderr and the process exits with status 1. The process
// exits with status 2 when Steward has gone, even if it was killed.
func Serve(p Plugin) {
	srv, err := NewServer(p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "steward-plugin-%s: %v\n", p.Name, err)
		os.Exit(1)
	}
	procs := p.Procs
	if procs <= 0 {
		procs = 1
	}
	runtime.GOMAXPROCS(procs)
	// go-plugin replaces os.Stdout and os.Stderr by pipes it relays over
	// gRPC; what writes on the process's own stderr (the log package, a
	// writer taken before Serve) reaches Steward apart from them. A call's
	// output mark goes on all three.
	own := os.Stderr
	srv.(*server).outputs = func() []io.Writer { return []io.Writer{own, os.Stdout, os.Stderr} }
	protocol.WatchLifeline(func() { os.Exit(2) })
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: protocol.Plugins(srv),
		GRPCServer:       plugin.DefaultGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "steward-plugin-" + p.Name,
			Level:      hclog.Warn,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
	os.Exit(0)
}

// NewServer checks p and returns its gRPC service: what Serve serves, and
// what package sdktest connects to in tests. Every problem found is in the
// error.
func NewServer(p Plugin) (pluginv1.ActionPluginServer, error) {
	var errs []error
	if !protocol.ValidPluginName(p.Name) {
		errs = append(errs, fmt.Errorf("plugin name %q: a name is lower case letters, digits, _ and -, starting with a letter", p.Name))
	}
	s := &server{p: p, actions: map[string]*ActionDef{}}
	s.describe = &pluginv1.DescribeResponse{Name: p.Name, Version: p.Version, Description: p.Description}
	for i := range p.Actions {
		a := &p.Actions[i]
		switch {
		case a.err != nil:
			errs = append(errs, a.err)
			continue
		case a.run == nil:
			errs = append(errs, fmt.Errorf("action %d: not made by sdk.Action", i))
			continue
		case s.actions[a.name] != nil:
			errs = append(errs, fmt.Errorf("action %q: defined twice", a.name))
			continue
		}
		s.actions[a.name] = a
		spec, err := actionSpec(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.describe.Actions = append(s.describe.Actions, spec)
	}
	if p.Config != nil {
		if err := s.configSchema(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func actionSpec(a *ActionDef) (*pluginv1.ActionSpec, error) {
	in, err := json.Marshal(a.input)
	if err != nil {
		return nil, fmt.Errorf("action %q: input schema: %v", a.name, err)
	}
	out, err := json.Marshal(a.output)
	if err != nil {
		return nil, fmt.Errorf("action %q: output schema: %v", a.name, err)
	}
	return &pluginv1.ActionSpec{Name: a.name, Description: a.desc, InputSchema: in, OutputSchema: out,
		Mutates: a.mutates, Idempotent: a.idempotent, Sensitive: a.sensitive}, nil
}

// configSchema checks Config, derives its schema and keeps its defaults.
func (s *server) configSchema() error {
	v := reflect.ValueOf(s.p.Config)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: %T is not a pointer to a struct", s.p.Config)
	}
	sch, err := SchemaOf(v.Type())
	if err != nil {
		return fmt.Errorf("config: %v", err)
	}
	b, err := json.Marshal(sch)
	if err != nil {
		return fmt.Errorf("config: schema: %v", err)
	}
	s.config = v.Elem()
	s.configDefaults = reflect.New(v.Elem().Type()).Elem()
	s.configDefaults.Set(v.Elem())
	s.configSch = sch
	s.describe.ConfigSchema = b
	return nil
}
