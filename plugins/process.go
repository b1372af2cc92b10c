package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/stewardhq/steward/actions"
	pluginv1 "github.com/stewardhq/steward/plugins/proto/v1"
	"github.com/stewardhq/steward/plugins/protocol"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// process is one running plugin process.
type process struct {
	name     string
	sha256   string // of the bytes that were executed
	client   *plugin.Client
	conn     *Conn
	lifeline *os.File // the write end; closing it tells the plugin to exit
	stderr   *stderrLines
	broken   chan struct{} // closed when a call saw the connection break
	once     sync.Once
	// configured is set once Configure succeeded: before the first call,
	// not for Describe, so a plugin whose settings are wrong can still be
	// described and its steps validated.
	configured bool
}

// alive reports whether the process can take calls.
func (p *process) alive() bool {
	select {
	case <-p.broken:
		return false
	default:
	}
	return !p.client.Exited()
}

// kill stops the process.
func (p *process) kill() {
	p.once.Do(func() { close(p.broken) })
	if p.conn != nil {
		p.conn.Close()
	}
	p.lifeline.Close()
	p.client.Kill()
}

// safeEnv lists the variables a plugin may inherit; everything else (tokens,
// cloud credentials, STEWARD_SECRET_*) stays with Steward.
var safeEnv = []string{"TMPDIR", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"}

// minimalEnv is the whole environment of a plugin besides go-plugin's own
// variables.
func minimalEnv() []string {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", protocol.LifelineEnv + "=3"}
	for _, k := range safeEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// launch verifies the binary against the lock and starts it. The bytes
// that are hashed are the bytes that run: the binary is opened once, hashed
// through that descriptor (or found unchanged since it was hashed, by the
// identity of that descriptor's file: see hashcache.go) and executed
// through it (/proc/self/fd), so a file renamed over the path in between is
// never started; a write into the file itself is caught by comparing its
// change time before the hash and after the start.
//
// trust skips the lock check: `steward plugins lock` starts what is
// installed to pin it.
func (h *Host) launch(ctx context.Context, b binary, trust bool) (*process, error) {
	f, err := os.Open(b.path)
	if err != nil {
		return nil, startErr(b.name, "%v", err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, startErr(b.name, "%v", err)
	}
	sum, err := h.sum(b.name, f, before, false)
	if err != nil {
		return nil, startErr(b.name, "reading %s: %v", b.path, err)
	}
	if !trust {
		if err := h.checkPin(b, sum); err != nil {
			return nil, err
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, startErr(b.name, "%v", err)
	}
	defer r.Close()
	stderr := &stderrLines{plugin: b.name, host: h}
	own, relayedOut, relayedErr := stderr.streams()
	cmd := &exec.Cmd{
		Path:        execPath(b.path, 4),
		Args:        []string{b.path},
		Env:         minimalEnv(),
		ExtraFiles:  []*os.File{r, f}, // fd 3: the lifeline; fd 4: the binary
		SysProcAttr: sysProcAttr(),
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  protocol.Handshake,
		VersionedPlugins: protocol.Plugins(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           own,
		SyncStdout:       relayedOut,
		SyncStderr:       relayedErr,
		StartTimeout:     h.opts.StartTimeout,
		GRPCDialOptions:  []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(h.opts.MaxOutput + 64<<10))},
	})
	p := &process{name: b.name, sha256: sum, client: client, lifeline: w, stderr: stderr, broken: make(chan struct{})}
	fail := func(err error) (*process, error) {
		p.kill()
		return nil, err
	}
	cc, err := client.Client()
	if err != nil {
		return fail(handshakeErr(b.name, err, stderr))
	}
	raw, err := cc.Dispense(protocol.PluginKey)
	if err != nil {
		return fail(startErr(b.name, "%v", err))
	}
	cctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	p.conn, err = Connect(cctx, raw.(pluginv1.ActionPluginClient))
	cancel()
	if err != nil {
		return fail(startErr(b.name, "%v%s", err, stderr.tail()))
	}
	p.conn.output = stderr
	after, err := f.Stat()
	if err != nil || changed(before, after) {
		return fail(startErr(b.name, "%s was modified while it started; nothing ran, try again", b.path))
	}
	return p, nil
}

// checkPin refuses a binary the lock file does not allow.
func (h *Host) checkPin(b binary, sum string) error {
	return h.checkPinIn(h.pins(), b, sum)
}

// checkPinIn refuses a binary that lock does not allow.
func (h *Host) checkPinIn(lock *Lock, b binary, sum string) error {
	switch lock.State(b.name, sum) {
	case Unpinned:
		if h.opts.AllowUnpinned {
			return nil
		}
		return startErr(b.name, "%s is not pinned in %s (SHA-256 %s): check it, then run `steward plugins lock`", b.path, h.opts.LockFile, sum)
	case Changed:
		return startErr(b.name, "%s changed since it was locked: its SHA-256 is %s, %s says %s; it was not started. If you trust the new binary, run `steward plugins lock`",
			b.path, sum, h.opts.LockFile, lock.Pins[b.name].SHA256)
	}
	return nil
}

// configure gives the plugin its settings.
func (h *Host) configure(ctx context.Context, p *process) error {
	settings, err := h.settings(p.name)
	if err != nil {
		return err
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return startErr(p.name, "settings: %v", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, h.opts.StartTimeout)
	defer cancel()
	if _, err := p.conn.Client().Configure(ctx, &pluginv1.ConfigureRequest{Config: b}); err != nil {
		if perr := parent.Err(); perr != nil {
			// The run was cancelled (or its step timed out) while the
			// plugin started: say so, as a call cancelled later would.
			e := startErr(p.name, "configure: %v", perr)
			e.Err = perr
			return e
		}
		if status.Code(err) == codes.InvalidArgument {
			return startErr(p.name, "it refused its settings (plugins.settings.%s in steward.yaml): %s", p.name, statusMessage(err))
		}
		return startErr(p.name, "configure: %s%s", statusMessage(err), p.stderr.tail())
	}
	return nil
}

// settings are the plugin's settings with {secret: NAME} values resolved.
func (h *Host) settings(name string) (map[string]any, error) {
	raw := h.opts.Settings[name]
	out := make(map[string]any, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		rv, err := h.resolve(raw[k])
		if err != nil {
			return nil, startErr(name, "plugins.settings.%s.%s: %v", name, k, err)
		}
		out[k] = rv
	}
	return out, nil
}

// resolve replaces {secret: NAME} by the secret's value, at any depth.
func (h *Host) resolve(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["secret"].(string); ok && len(t) == 1 {
			if h.opts.Secret == nil {
				return nil, fmt.Errorf("secret %q: no secrets are available", ref)
			}
			val, ok := h.opts.Secret(ref)
			if !ok {
				return nil, fmt.Errorf("secret %q is not set (STEWARD_SECRET_%s)", ref, strings.ToUpper(ref))
			}
			return val, nil
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			r, err := h.resolve(x)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			r, err := h.resolve(x)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// startErr is a plugin that could not be started or configured: not
// retryable, since starting it again would fail the same way.
func startErr(name, format string, args ...any) *actions.Error {
	return &actions.Error{Code: CodeStart, Message: fmt.Sprintf("plugin %s: ", name) + fmt.Sprintf(format, args...)}
}

// handshakeErr explains why the go-plugin handshake failed.
func handshakeErr(name string, err error, stderr *stderrLines) error {
	msg := err.Error()
	switch {
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		v := msg
		if i := strings.Index(msg, "Plugin version: "); i >= 0 {
			v = strings.SplitN(msg[i+len("Plugin version: "):], ",", 2)[0]
		}
		return startErr(name, "it speaks plugin protocol version %s; this steward speaks version %d. Install a build of the plugin for protocol %d, or a steward that speaks %s",
			v, protocol.Version, protocol.Version, v)
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		line := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(msg, "Unrecognized remote plugin message: "), "\n", 2)[0])
		return startErr(name, "it printed %q on stdout instead of the go-plugin handshake (a plugin must print nothing on stdout before it serves)", cut(line, 200))
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return startErr(name, "it did not complete the handshake within its start timeout%s", stderr.tail())
	case strings.Contains(msg, "plugin exited before we could connect"):
		return startErr(name, "it exited before the handshake%s", stderr.tail())
	}
	return startErr(name, "%s%s", cut(msg, 500), stderr.tail())
}

// crashWait bounds how long a call whose connection broke waits for its
// process to be seen as exited. A process that crashed is seen so once the
// client has read its stderr to the end and reaped it, which on a loaded
// machine can take longer than a moment; until then the error would say
// "its connection broke" and lack the last words on stderr. A process
// that broke the connection and lives on is killed after the wait.
const crashWait = 5 * time.Second

// waitExit gives a process that broke a call a moment to be seen as exited,
// so the error says so (with its last words: the client has read its
// stderr to the end by then).
func waitExit(p *process, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p.client.Exited() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return p.client.Exited()
}

var errClosed = errors.New("plugins: the host is closed")
