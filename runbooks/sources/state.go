package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stewardhq/steward/schema"
)

// State is what --home keeps of a source: its pin and its last sync.
// It is $STEWARD_HOME/sources/NAME.json, mode 0600, replaced atomically.
type State struct {
	Source string `json:"source"`
	Kind   string `json:"kind"`
	Repo   string `json:"repo"`
	Ref    string `json:"ref"`
	// Pin is the commit runs read; nil before the first good sync.
	Pin *Pin `json:"pin,omitempty"`
	// Last is the last sync, good or not.
	Last *Attempt `json:"last,omitempty"`
}

// Pin is a validated commit.
type Pin struct {
	Commit   string    `json:"commit"`
	PinnedAt time.Time `json:"pinned_at"`
	Runbooks int       `json:"runbooks"`
	Tree     Tree      `json:"tree,omitempty"` // the files under the source's path; not in a Status
	// Policy is the policy the commit was checked against (policyKey):
	// a run checks the pin again when steward.yaml's policy changed.
	Policy string `json:"policy,omitempty"`
}

// Attempt is one sync.
type Attempt struct {
	At     time.Time `json:"at"`
	Commit string    `json:"commit,omitempty"`
	// Pinned says whether the commit became the pin (or already was).
	Pinned   bool               `json:"pinned"`
	Problems schema.Diagnostics `json:"problems,omitempty"`
	Error    string             `json:"error,omitempty"`
}

func statePath(home, name string) string { return filepath.Join(home, "sources", name+".json") }

// LoadState reads the state of source name; a source never synced has
// an empty one.
func LoadState(home, name string) (*State, error) {
	b, err := os.ReadFile(statePath(home, name))
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Source: name}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("sources: %s is damaged: %w", statePath(home, name), err)
	}
	return &st, nil
}

// save writes the state atomically: a temporary file, synced, renamed.
func (st *State) save(home string) error {
	p := statePath(home, st.Source)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "."+st.Source+".*.tmp")
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	defer os.Remove(f.Name())
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("sources: writing the pin of %s: %w", st.Source, err)
	}
	return nil
}
