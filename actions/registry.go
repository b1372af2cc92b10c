package actions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stewardhq/steward/schema"
)

// Registry holds the actions a run may use, by name. It is filled before
// runs start and read-only afterwards, so it is safe for concurrent reads.
type Registry struct {
	actions map[string]Action
	plugins map[string]bool // plugins whose every action is registered
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{actions: map[string]Action{}, plugins: map[string]bool{}}
}

// Register adds actions. The plugin part of their names (core, http,
// payments...) is then covered: an action of that plugin not registered is
// unknown. Registering a name twice is an error.
func (r *Registry) Register(acts ...Action) error {
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

// Lookup returns the named action.
func (r *Registry) Lookup(name string) (Action, bool) {
	a, ok := r.actions[name]
	return a, ok
}

// Specs returns the specs of every action, sorted by name.
func (r *Registry) Specs() []Spec {
	out := make([]Spec, 0, len(r.actions))
	for _, a := range r.actions {
		out = append(out, a.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ActionInput implements schema.Catalog.
func (r *Registry) ActionInput(name string) (*schema.DataSchema, bool) {
	a, ok := r.actions[name]
	if !ok {
		return nil, false
	}
	return a.Spec().Input, true
}

// Covers implements schema.Catalog.
func (r *Registry) Covers(plugin string) bool { return r.plugins[plugin] }

// Actions implements schema.Catalog.
func (r *Registry) Actions() []string {
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
