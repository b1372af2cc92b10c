package plugins

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stewardhq/steward/plugins/protocol"
)

// Lock is the lock file: the SHA-256 each plugin binary must have to be
// started. It is text, one plugin per line, so a change reads well in a
// review:
//
//	# comment
//	NAME VERSION sha256:HEX
type Lock struct {
	Pins map[string]Pin
}

// Pin is one plugin's line in the lock file.
type Pin struct {
	Version string // as the plugin described itself; informative
	SHA256  string // hex
}

// ReadLock reads a lock file. A file that does not exist is an empty lock.
func ReadLock(path string) (*Lock, error) {
	l := &Lock{Pins: map[string]Pin{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugins: lock file: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || !protocol.ValidPluginName(f[0]) || !strings.HasPrefix(f[2], "sha256:") || !isSHA256Hex(f[2][7:]) {
			return nil, fmt.Errorf("plugins: %s:%d: want NAME VERSION sha256:HEX (64 lower-case hex digits), got %q", path, n, line)
		}
		if _, dup := l.Pins[f[0]]; dup {
			return nil, fmt.Errorf("plugins: %s:%d: %s is pinned twice", path, n, f[0])
		}
		l.Pins[f[0]] = Pin{Version: f[1], SHA256: f[2][7:]}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("plugins: lock file %s: %w", path, err)
	}
	return l, nil
}

// Write replaces the lock file atomically.
func (l *Lock) Write(path string) error {
	var b bytes.Buffer
	b.WriteString("# Steward plugin lock: the SHA-256 of each plugin binary allowed to run.\n")
	b.WriteString("# Written by `steward plugins lock`. Review a change here like a change of code.\n")
	names := make([]string, 0, len(l.Pins))
	for n := range l.Pins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := l.Pins[n]
		v := p.Version
		if v == "" || strings.ContainsAny(v, " \t\n") {
			v = "-"
		}
		fmt.Fprintf(&b, "%s %s sha256:%s\n", n, v, p.SHA256)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plugins.lock-*")
	if err != nil {
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("plugins: lock file: %w", err)
	}
	return nil
}

// LockState says how an installed binary relates to the lock file.
type LockState string

const (
	Pinned   LockState = "pinned"   // its SHA-256 is the one in the lock file
	Unpinned LockState = "unpinned" // the lock file does not name it
	Changed  LockState = "changed"  // the lock file names another SHA-256
)

// State is the lock state of a binary of the named plugin with the given
// SHA-256.
func (l *Lock) State(name, sum string) LockState {
	p, ok := l.Pins[name]
	switch {
	case !ok:
		return Unpinned
	case p.SHA256 != sum:
		return Changed
	}
	return Pinned
}

// LockChange is one line of what `steward plugins lock` changed.
type LockChange struct {
	Name       string `json:"name"`
	Change     string `json:"change"` // added, updated, removed, unchanged
	Version    string `json:"version,omitempty"`
	OldVersion string `json:"old_version,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	OldSHA256  string `json:"old_sha256,omitempty"`
}

// isSHA256Hex reports whether s is 64 lower-case hex digits.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
