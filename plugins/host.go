package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/protocol"
)

// Options configure a Host.
type Options struct {
	// Folders are searched for steward-plugin-NAME binaries, in order; the
	// first folder that has a name wins.
	Folders []string
	// LockFile is the path of the lock file (see Lock).
	LockFile string
	// AllowUnpinned starts binaries the lock file does not name (for
	// plugin development). A binary whose SHA-256 differs from its pin is
	// still refused.
	AllowUnpinned bool
	// Settings are each plugin's settings (plugins.settings in
	// steward.yaml). A value {secret: NAME} is replaced by Secret(NAME)
	// before the plugin sees it.
	Settings map[string]map[string]any
	Secret   func(name string) (string, bool)
	// CacheDir keeps what plugins described, by binary, so that validate
	// and run do not start a plugin to learn its actions. Empty: no cache.
	CacheDir string
	// MaxOutput bounds a plugin's answer to one call, in bytes. Default
	// 4 MiB.
	MaxOutput int
	// StartTimeout bounds the start, handshake and Configure of a plugin.
	// Default 10s.
	StartTimeout time.Duration
	// Stderr receives the lines a plugin writes on stderr while no call is
	// in flight (lines written during calls go to the calls' logs).
	// Default: dropped.
	Stderr func(plugin, line string)
}

// DefaultMaxOutput is the default cap on a plugin's answer.
const DefaultMaxOutput = 4 << 20

// Host finds, verifies, starts and reuses plugin processes. It is an
// actions.Source: add it to a Registry and plugin actions load on first
// use. Close it to stop every plugin it started.
type Host struct {
	opts Options
	lock *Lock

	mu      sync.Mutex
	found   []binary
	scanned bool
	scanErr error
	entries map[string]*entry
	closed  bool
}

// entry is one plugin of a Host.
type entry struct {
	bin    binary
	mu     sync.Mutex // serialises starts, so parallel calls share one process
	proc   *process
	desc   *Description
	sha256 string // of the binary described: the pinned one, or one allowed unpinned
}

// New returns a Host. It reads the lock file; it starts nothing.
func New(opts Options) (*Host, error) {
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	lock, err := ReadLock(opts.LockFile)
	if err != nil {
		return nil, err
	}
	return &Host{opts: opts, lock: lock, entries: map[string]*entry{}}, nil
}

// scan discovers the binaries once.
func (h *Host) scan() ([]binary, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.scanned {
		h.found, h.scanErr = discover(h.opts.Folders)
		h.scanned = true
		for _, b := range h.found {
			h.entries[b.name] = &entry{bin: b}
		}
	}
	return h.found, h.scanErr
}

// pins is the lock in force.
func (h *Host) pins() *Lock {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lock
}

// Plugins implements actions.Source: the names of the installed plugins.
func (h *Host) Plugins() []string {
	found, _ := h.scan()
	names := make([]string, len(found))
	for i, b := range found {
		names[i] = b.name
	}
	return names
}

func (h *Host) entry(name string) (*entry, error) {
	if _, err := h.scan(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosed
	}
	e, ok := h.entries[name]
	if !ok {
		return nil, fmt.Errorf("plugins: %s is not installed (no %s%s in %v)", name, Prefix, name, h.opts.Folders)
	}
	return e, nil
}

// Load implements actions.Source: the actions of one plugin, from its
// description.
func (h *Host) Load(name string) ([]actions.Action, error) {
	d, err := h.Describe(context.Background(), name)
	if err != nil {
		return nil, err
	}
	e, _ := h.entry(name)
	e.mu.Lock()
	provider := fmt.Sprintf("%s%s %s sha256:%s", Prefix, name, d.Version, e.sha256)
	e.mu.Unlock()
	out := make([]actions.Action, len(d.Actions))
	for i, spec := range d.Actions {
		spec.Provider = provider
		out[i] = &action{host: h, entry: e, spec: spec, short: spec.Name[len(name)+1:]}
	}
	return out, nil
}

// Describe returns what the plugin says of itself: from the cache when
// this binary was described before, otherwise by starting it (once its
// SHA-256 passed the lock file), and then it keeps running for calls.
func (h *Host) Describe(ctx context.Context, name string) (*Description, error) {
	return h.describe(ctx, name, false)
}

func (h *Host) describe(ctx context.Context, name string, trust bool) (*Description, error) {
	e, err := h.entry(name)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.desc != nil && !trust {
		return e.desc, nil
	}
	fi, err := os.Stat(e.bin.path)
	if err != nil {
		return nil, startErr(name, "%v", err)
	}
	c := h.readCache(name)
	sum := ""
	if c != nil && c.Stat == statKey(fi) {
		sum = c.SHA256
	} else if sum, err = hashPath(e.bin.path); err != nil {
		return nil, startErr(name, "%v", err)
	}
	if !trust {
		if err := h.checkPin(e.bin, sum); err != nil {
			return nil, err
		}
	}
	e.sha256 = sum
	if c != nil && c.SHA256 == sum && c.Description != nil {
		e.desc = c.Description
		return e.desc, nil
	}
	if e.proc == nil || !e.proc.alive() || e.proc.sha256 != sum {
		if e.proc != nil {
			e.proc.kill()
		}
		e.proc = nil
		p, err := h.launch(ctx, e.bin, trust)
		if err != nil {
			return nil, err
		}
		e.proc = p
	}
	d, err := Describe(ctx, e.proc.conn.Client())
	if err != nil {
		return nil, startErr(name, "%v%s", err, e.proc.stderr.tail())
	}
	if d.Name != name {
		e.proc.kill()
		e.proc = nil
		return nil, startErr(name, "the binary %s describes itself as plugin %q: refused", e.bin.path, d.Name)
	}
	d.Protocol = e.proc.client.NegotiatedVersion()
	e.desc = d
	h.writeCache(name, cacheEntry{Stat: statKey(fi), SHA256: e.proc.sha256, Description: d})
	return d, nil
}

// process returns the plugin's running process, starting one if it has
// none or if the last one died.
func (h *Host) process(ctx context.Context, e *entry) (*process, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if e.proc != nil && !e.proc.alive() {
		e.proc.kill()
		e.proc = nil
	}
	if e.proc == nil {
		p, err := h.launch(ctx, e.bin, false)
		if err != nil {
			return nil, err
		}
		e.proc = p
	}
	if !e.proc.configured {
		if err := h.configure(ctx, e.proc); err != nil {
			e.proc.kill()
			e.proc = nil
			return nil, err
		}
		e.proc.configured = true
	}
	return e.proc, nil
}

// Close stops every plugin process.
func (h *Host) Close() error {
	h.mu.Lock()
	h.closed = true
	entries := make([]*entry, 0, len(h.entries))
	for _, e := range h.entries {
		entries = append(entries, e)
	}
	h.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		if e.proc != nil {
			e.proc.kill()
			e.proc = nil
		}
		e.mu.Unlock()
	}
	return nil
}

func (h *Host) stderr(plugin, line string) {
	if h.opts.Stderr != nil {
		h.opts.Stderr(plugin, line)
	}
}

// action is one action of a plugin, as an actions.Action.
type action struct {
	host  *Host
	entry *entry
	spec  actions.Spec
	short string
}

func (a *action) Spec() actions.Spec { return a.spec }

func (a *action) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	p, err := a.host.process(ctx, a.entry)
	if err != nil {
		return nil, err
	}
	untrack := p.stderr.track(req)
	out, err := p.conn.Call(ctx, a.short, req)
	untrack()
	var ae *actions.Error
	if err == nil || !errors.As(err, &ae) {
		return out, err
	}
	switch ae.Code {
	case CodeCrashed:
		what := "its connection broke"
		if waitExit(p, 250*time.Millisecond) {
			what = "it exited"
		}
		p.kill()
		ae.Message = fmt.Sprintf("plugin %s: %s during the call%s; the next call starts a fresh process", a.entry.bin.name, what, p.stderr.tail())
	case CodeOutputTooLarge:
		ae.Message = fmt.Sprintf("plugin %s: its answer is larger than the cap of %d bytes", a.entry.bin.name, a.host.opts.MaxOutput)
	case CodeProtocol:
		ae.Message = fmt.Sprintf("plugin %s: %s", a.entry.bin.name, ae.Message)
	}
	return nil, ae
}

// cacheEntry is what the cache keeps of a plugin binary.
type cacheEntry struct {
	Stat        string       `json:"stat"` // size, times and inode when described
	SHA256      string       `json:"sha256"`
	Description *Description `json:"description"`
}

func (h *Host) cachePath(name string) string {
	return filepath.Join(h.opts.CacheDir, name+".json")
}

func (h *Host) readCache(name string) *cacheEntry {
	if h.opts.CacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(h.cachePath(name))
	if err != nil {
		return nil
	}
	var c cacheEntry
	if json.Unmarshal(b, &c) != nil || c.Description == nil || c.Description.Protocol != protocol.Version {
		return nil
	}
	return &c
}

// writeCache saves a description; a cache that cannot be written only
// costs a start next time.
func (h *Host) writeCache(name string, c cacheEntry) {
	if h.opts.CacheDir == "" {
		return
	}
	b, err := json.Marshal(c)
	if err != nil || os.MkdirAll(h.opts.CacheDir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(h.opts.CacheDir, "."+name+"-*")
	if err != nil {
		return
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr == nil && cerr == nil {
		_ = os.Rename(tmp.Name(), h.cachePath(name))
	}
}
