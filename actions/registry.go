package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/stewardhq/steward/schema"
)

// Registry holds the actions a run may use, by name: built-ins registered
// up front, and plugin actions loaded from its sources the first time a
// name of that plugin is looked up. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	actions map[string]Action
	plugins map[string]bool // plugins whose every action is registered
	sources []Source
	tried   map[string]error // plugins asked of the sources, and why they failed
	loading sync.Mutex       // one plugin loads at a time
}

// Source supplies the actions of plugins that are loaded on first use, such
// as the installed plugin binaries.
type Source interface {
	// Plugins lists the names of the plugins it has.
	Plugins() []string
	// Load returns the actions of one of them, named PLUGIN.ACTION. An
	// error says why the plugin cannot be used (not pinned, did not
	// start, described itself wrongly).
	Load(plugin string) ([]Action, error)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]Action{}, plugins: map[string]bool{}, tried: map[string]error{}}
}

// AddSource adds a source of plugin actions, asked after the actions
// already registered and after earlier sources.
func (r *Registry) AddSource(s Source) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = append(r.sources, s)
}

// ErrNoPlugin means no source has the plugin.
var ErrNoPlugin = errors.New("actions: plugin not installed")

// load asks the sources for a plugin, once; it returns nil when the
// plugin's actions are registered.
func (r *Registry) load(plugin string) error {
	r.mu.RLock()
	done := r.plugins[plugin]
	err, tried := r.tried[plugin]
	r.mu.RUnlock()
	if done {
		return nil
	}
	if tried {
		return err
	}
	r.loading.Lock()
	defer r.loading.Unlock()
	r.mu.RLock()
	srcs := r.sources
	err, tried = r.tried[plugin]
	r.mu.RUnlock()
	if tried {
		return err
	}
	err = ErrNoPlugin
	for _, s := range srcs {
		if !slices.Contains(s.Plugins(), plugin) {
			continue
		}
		var acts []Action
		if acts, err = s.Load(plugin); err == nil {
			err = r.Register(acts...)
		}
		break
	}
	r.mu.Lock()
	r.tried[plugin] = err
	r.mu.Unlock()
	return err
}

// Problem says why a plugin's actions are not available: ErrNoPlugin when
// no source has it, or why it could not be loaded. It is nil when they
// are.
func (r *Registry) Problem(plugin string) error { return r.load(plugin) }

// Register adds actions. The plugin part of their names (core, http,
// payments...) is then covered: an action of that plugin not registered is
// unknown. Registering a name twice is an error.
func (r *Registry) Register(acts ...Action) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range acts {
		name := a.Spec().Name
		plugin, _, _ := strings.Cut(name, ".")
		if _, dup := r.actions[name]; dup {
			return fmt.Errorf("actions: %s is registered twice", name)
		}
		r.actions[name] = a
		r.plugins[plugin] = true
	}
	return nil
}

// Lookup returns the named action, loading its plugin on first use.
func (r *Registry) Lookup(name string) (Action, bool) {
	r.mu.RLock()
	a, ok := r.actions[name]
	r.mu.RUnlock()
	if ok {
		return a, true
	}
	plugin, _, _ := strings.Cut(name, ".")
	if r.load(plugin) != nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok = r.actions[name]
	return a, ok
}

// loadAll loads every plugin of every source.
func (r *Registry) loadAll() {
	r.mu.RLock()
	srcs := r.sources
	r.mu.RUnlock()
	for _, s := range srcs {
		for _, p := range s.Plugins() {
			_ = r.load(p)
		}
	}
}

// Specs returns the specs of every action, sorted by name, loading every
// plugin of its sources.
func (r *Registry) Specs() []Spec {
	r.loadAll()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Spec, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ActionInput implements schema.Catalog.
func (r *Registry) ActionInput(name string) (*schema.DataSchema, bool) {
	a, ok := r.Lookup(name)
	if !ok {
		return nil, false
	}
	return a.Spec().Input, true
}

// ActionOutput implements schema.Catalog.
func (r *Registry) ActionOutput(name string) (*schema.DataSchema, bool) {
	a, ok := r.Lookup(name)
	if !ok {
		return nil, false
	}
	return a.Spec().Output, true
}

// Covers reports whether every action of a plugin is registered (loading
// it on first use).
func (r *Registry) Covers(plugin string) bool { return r.load(plugin) == nil }

// PluginProblem implements schema.Catalog: whether a source has the plugin
// (or its actions are registered) and, if so, why it cannot be used.
func (r *Registry) PluginProblem(plugin string) (installed bool, problem string) {
	switch err := r.load(plugin); {
	case err == nil:
		return true, ""
	case errors.Is(err, ErrNoPlugin):
		return false, ""
	default:
		// The plugin is named in the diagnostic already.
		return true, strings.TrimPrefix(err.Error(), "plugin "+plugin+": ")
	}
}

// InstallHint implements schema.InstallHinter: where the sources looked
// for a plugin that is not installed and how to install it, from the
// first source that says (plugins.Host does); "" when none does.
func (r *Registry) InstallHint(plugin string) string {
	r.mu.RLock()
	srcs := r.sources
	r.mu.RUnlock()
	for _, s := range srcs {
		if h, ok := s.(interface{ InstallHint(string) string }); ok {
			if hint := h.InstallHint(plugin); hint != "" {
				return hint
			}
		}
	}
	return ""
}

// Actions implements schema.Catalog: every action, loading every plugin of
// its sources.
func (r *Registry) Actions() []string {
	r.loadAll()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.actions))
	for name := range r.actions {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Decode converts a request's with (already checked against the action's
// input schema by the engine) into the action's own argument struct, by
// its json tags.
func Decode(with map[string]any, dst any) error {
	b, err := json.Marshal(with)
	if err != nil {
		return Errorf(CodeInvalidInput, "with: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return Errorf(CodeInvalidInput, "with: %v", err)
	}
	return nil
}
