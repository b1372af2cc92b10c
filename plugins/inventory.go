package plugins

import (
	"context"
	"fmt"
	"sort"
)

// Installed is one plugin binary found in the plugin folders.
type Installed struct {
	Name   string    `json:"name"`
	Path   string    `json:"path"`
	SHA256 string    `json:"sha256"`
	Lock   LockState `json:"lock"`
	// Locked is the SHA-256 the lock file names, if any.
	Locked string `json:"locked_sha256,omitempty"`
	// Description is what the plugin says of itself; nil when it could not
	// be learned (see Problem).
	Description *Description `json:"description,omitempty"`
	Problem     string       `json:"problem,omitempty"`
}

// List lists the installed plugins. With describe set, it learns what each
// pinned plugin (every plugin when unpinned ones are allowed) says of
// itself, from the cache or by starting it.
func (h *Host) List(ctx context.Context, describe bool) ([]Installed, error) {
	found, err := h.scan()
	if err != nil {
		return nil, err
	}
	lock := h.pins()
	out := make([]Installed, 0, len(found))
	for _, b := range found {
		in := Installed{Name: b.name, Path: b.path}
		sum, err := hashPath(b.path)
		if err != nil {
			in.Problem = err.Error()
			out = append(out, in)
			continue
		}
		in.SHA256, in.Lock, in.Locked = sum, lock.State(b.name, sum), lock.Pins[b.name].SHA256
		if describe {
			if d, err := h.Describe(ctx, b.name); err != nil {
				in.Problem = err.Error()
			} else {
				in.Description = d
			}
		}
		out = append(out, in)
	}
	return out, nil
}

// WriteLock pins every installed plugin to the SHA-256 of its binary now,
// writes the lock file and says what changed. A new or changed binary is
// started once (without the lock check: locking is how the user says they
// trust it) to learn its version; if one fails, nothing is written.
func (h *Host) WriteLock(ctx context.Context) ([]LockChange, error) {
	found, err := h.scan()
	if err != nil {
		return nil, err
	}
	prev := h.pins()
	next := &Lock{Pins: map[string]Pin{}}
	var changes []LockChange
	for _, b := range found {
		sum, err := hashPath(b.path)
		if err != nil {
			return nil, fmt.Errorf("plugins: %s: %w", b.name, err)
		}
		old, had := prev.Pins[b.name]
		version := old.Version
		if !had || old.SHA256 != sum {
			d, err := h.describe(ctx, b.name, true)
			if err != nil {
				return nil, fmt.Errorf("%w; the lock file was not changed", err)
			}
			version = d.Version
		}
		next.Pins[b.name] = Pin{Version: version, SHA256: sum}
		c := LockChange{Name: b.name, Version: version, SHA256: sum}
		switch {
		case !had:
			c.Change = "added"
		case old.SHA256 != sum:
			c.Change, c.OldVersion, c.OldSHA256 = "updated", old.Version, old.SHA256
		default:
			c.Change = "unchanged"
		}
		changes = append(changes, c)
	}
	for name, old := range prev.Pins {
		if _, ok := next.Pins[name]; !ok {
			changes = append(changes, LockChange{Name: name, Change: "removed", OldVersion: old.Version, OldSHA256: old.SHA256})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	if err := next.Write(h.opts.LockFile); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.lock = next
	h.mu.Unlock()
	return changes, nil
}
