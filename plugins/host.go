package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
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
	// CacheDir keeps what plugins described, by the SHA-256 of the binary,
	// so that validate and run do not start a plugin to learn its actions,
	// and the SHA-256 verified for each binary, by its identity (device,
	// inode, size, times), so that a start does not read the whole binary
	// again (see hashcache.go). Empty: no cache.
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
	// InstallHint says how to install a plugin that is not in the
	// folders (see Host.InstallHint). Default: none.
	InstallHint func(plugin string) string
	// OnStart is told of each start of a plugin process, with the error
	// that stopped it (metrics); may be nil.
	OnStart func(plugin string, err error)
	// RetryBackoff, when set, makes a plugin that failed to start fail
	// at once for that long, doubling with each failure up to
	// MaxRetryBackoff, before it is started again (a server retries a
	// broken plugin without hammering it). Zero: every use tries again
	// (a command's registry remembers the failure for the run).
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
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

	now    func() time.Time // the clock the verified-hash cache compares file times with
	hashes atomic.Int64     // binaries read in full to hash them
}

// entry is one plugin of a Host.
type entry struct {
	bin    binary
	mu     sync.Mutex // serialises starts, so parallel calls share one process
	proc   *process
	desc   *Description
	sha256 string // of the binary described: the pinned one, or one allowed unpinned
	id     fileID // the binary's identity when found (see Reload)
	// The last start failure, for Options.RetryBackoff: until retryAt a
	// start fails with failed.
	failed  error
	retryAt time.Time
	backoff time.Duration
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
	return &Host{opts: opts, lock: lock, entries: map[string]*entry{}, now: time.Now}, nil
}

// scan discovers the binaries once.
func (h *Host) scan() ([]binary, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.scanned {
		h.found, h.scanErr = discover(h.opts.Folders)
		h.scanned = true
		for _, b := range h.found {
			h.entries[b.name] = &entry{bin: b, id: binaryID(b.path)}
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
		return nil, fmt.Errorf("plugins: %s is not installed (no %s%s in %s)", name, Prefix, name, strings.Join(h.opts.Folders, ", "))
	}
	return e, nil
}

// InstallHint says where a plugin that is not installed was looked for,
// and how to install it (Options.InstallHint). The registry asks it for
// the hint of a step whose plugin is not installed.
func (h *Host) InstallHint(plugin string) string {
	hint := fmt.Sprintf("no %s%s in the plugin folders (%s)", Prefix, plugin, strings.Join(h.opts.Folders, ", "))
	if len(h.opts.Folders) == 0 {
		hint = fmt.Sprintf("no %s%s: there is no plugin folder", Prefix, plugin)
	}
	if h.opts.InstallHint != nil {
		if how := h.opts.InstallHint(plugin); how != "" {
			hint += "; " + how
		}
	}
	return hint
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
	sum, err := h.sumPath(e.bin, false)
	if err != nil {
		return nil, startErr(name, "%v", err)
	}
	if !trust {
		if err := h.checkPin(e.bin, sum); err != nil {
			return nil, err
		}
	}
	e.sha256 = sum
	if c := h.readCache(name); c != nil && c.SHA256 == sum {
		e.desc = c.Description
		return e.desc, nil
	}
	if e.proc == nil || !e.proc.alive() || e.proc.sha256 != sum {
		if e.proc != nil {
			e.proc.kill()
		}
		e.proc = nil
		p, err := h.launchEntry(ctx, e, trust)
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
	h.writeCache(name, cacheEntry{SHA256: e.proc.sha256, Description: d})
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
		p, err := h.launchEntry(ctx, e, false)
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
	if err == nil {
		// What the plugin declares is what runbooks were validated
		// against: outputs that do not fit it fail the step here rather
		// than mislead a condition later.
		if cerr := a.spec.Output.CheckOutputs(out); cerr != nil {
			return nil, &actions.Error{Code: CodeInvalidOutput,
				Message: fmt.Sprintf("plugin %s: %s returned outputs that do not fit its declared output schema: %s (steward plugins describe %s)",
					a.entry.bin.name, a.spec.Name, hideSensitive(cerr.Error(), a.spec.Sensitive), a.entry.bin.name)}
		}
		return out, nil
	}
	var ae *actions.Error
	if !errors.As(err, &ae) {
		return out, err
	}
	switch ae.Code {
	case CodeCrashed:
		what := "its connection broke"
		if waitExit(p, crashWait) {
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

// hideSensitive keeps the value of a sensitive output out of a message
// about it: msg starts with the path of the field (outputs.token...).
func hideSensitive(msg string, sensitive []string) string {
	for _, f := range sensitive {
		p := "outputs." + f
		if rest, ok := strings.CutPrefix(msg, p); ok && (rest == "" || strings.IndexByte(" .[:", rest[0]) >= 0) {
			return p + " does not fit (a sensitive field: its value is not shown)"
		}
	}
	return msg
}

// cacheEntry is what the description cache keeps of a plugin binary: the
// description of the binary with that SHA-256. It is used only for a
// binary whose SHA-256 (verified, or from the verified-hash cache) is that
// one, so a copied or restored cache is as good as a fresh one.
type cacheEntry struct {
	SHA256      string       `json:"sha256"`
	Description *Description `json:"description"`
}

func (h *Host) cachePath(name string) string {
	return filepath.Join(h.opts.CacheDir, name+".json")
}

// readCache returns the plugin's cached description, or nil when there is
// none usable: missing, foreign (see readCacheFile), corrupted, of another
// plugin or of another protocol version.
func (h *Host) readCache(name string) *cacheEntry {
	b := h.readCacheFile(h.cachePath(name))
	if b == nil {
		return nil
	}
	var c cacheEntry
	if json.Unmarshal(b, &c) != nil || c.Description == nil || c.Description.Name != name ||
		c.Description.Protocol != protocol.Version || !isSHA256Hex(c.SHA256) {
		return nil
	}
	return &c
}

// writeCache saves a description; a cache that cannot be written only
// costs a start next time.
func (h *Host) writeCache(name string, c cacheEntry) {
	if b, err := json.Marshal(c); err == nil {
		h.writeCacheFile(h.cachePath(name), b)
	}
}
