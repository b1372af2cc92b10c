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
		sum, err := h.sumPath(b, false)
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
		c, err := h.pinBinary(ctx, b, prev)
		if err != nil {
			return nil, err
		}
		next.Pins[b.name] = Pin{Version: c.Version, SHA256: c.SHA256}
		changes = append(changes, c)
	}
	for name, old := range prev.Pins {
		if _, ok := next.Pins[name]; !ok {
			changes = append(changes, LockChange{Name: name, Change: "removed", OldVersion: old.Version, OldSHA256: old.SHA256})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	if err := h.writeLock(next); err != nil {
		return nil, err
	}
	return changes, nil
}

// Pin pins one installed plugin, the binary found first in the folders,
// to the SHA-256 of its binary now, and leaves the other lines of the lock
// file as they are. A new or changed binary is started once, as by
// WriteLock; if it fails, nothing is written.
func (h *Host) Pin(ctx context.Context, name string) (LockChange, error) {
	e, err := h.entry(name)
	if err != nil {
		return LockChange{}, err
	}
	prev := h.pins()
	c, err := h.pinBinary(ctx, e.bin, prev)
	if err != nil {
		return LockChange{}, err
	}
	next := &Lock{Pins: make(map[string]Pin, len(prev.Pins)+1)}
	for n, p := range prev.Pins {
		next.Pins[n] = p
	}
	next.Pins[name] = Pin{Version: c.Version, SHA256: c.SHA256}
	if err := h.writeLock(next); err != nil {
		return LockChange{}, err
	}
	return c, nil
}

// pinBinary reads the whole binary (pinning is trusting these bytes,
// whatever the verified-hash cache says) and says how its pin changes
// from prev, starting it to learn its version when it is new or changed.
func (h *Host) pinBinary(ctx context.Context, b binary, prev *Lock) (LockChange, error) {
	sum, err := h.sumPath(b, true)
	if err != nil {
		return LockChange{}, fmt.Errorf("plugins: %s: %w", b.name, err)
	}
	old, had := prev.Pins[b.name]
	version := old.Version
	if !had || old.SHA256 != sum {
		d, err := h.describe(ctx, b.name, true)
		if err != nil {
			return LockChange{}, fmt.Errorf("%w; the lock file was not changed", err)
		}
		version = d.Version
	}
	c := LockChange{Name: b.name, Version: version, SHA256: sum}
	switch {
	case !had:
		c.Change = "added"
	case old.SHA256 != sum:
		c.Change, c.OldVersion, c.OldSHA256 = "updated", old.Version, old.SHA256
	default:
		c.Change = "unchanged"
	}
	return c, nil
}

// writeLock writes the lock file and puts it in force.
func (h *Host) writeLock(next *Lock) error {
	if err := next.Write(h.opts.LockFile); err != nil {
		return err
	}
	h.mu.Lock()
	h.lock = next
	h.mu.Unlock()
	return nil
}
