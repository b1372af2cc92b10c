// Package config reads steward.yaml, the settings of a Steward
// installation. Unknown keys are errors, so a typo never silently drops a
// setting.
//
//	# steward.yaml
//	runbooks:            # folders searched for runbooks by name, in order
//	  - runbooks
//	  - /srv/shared-runbooks
//	approvals:
//	  groups:            # usable in a step's approval.approvers
//	    payments-leads: [ana, bruno]
//	  allow_self_approval: false   # default: who starts a run cannot approve it
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Config is the content of steward.yaml.
type Config struct {
	// Runbooks are the folders searched for a runbook by name, in order,
	// before the bundled library. Relative paths are relative to the
	// configuration file. Default: runbooks.
	Runbooks []string `yaml:"runbooks"`
	// Approvals say who may decide approvals.
	Approvals Approvals `yaml:"approvals"`
}

// Approvals configure approval decisions.
type Approvals struct {
	// Groups maps a group name, usable in approval.approvers, to the names
	// of its members.
	Groups map[string][]string `yaml:"groups"`
	// AllowSelfApproval lets the person who started a run approve its
	// steps. Default false: four eyes.
	AllowSelfApproval bool `yaml:"allow_self_approval"`
}

// Default is the configuration without a file.
func Default() *Config { return &Config{Runbooks: []string{"runbooks"}} }

// MaxSize bounds the configuration file.
const MaxSize = 1 << 20

// Load reads the file at path. A missing file gives the default when
// optional is set (the default path), and is an error otherwise (a path the
// user named).
func Load(path string, optional bool) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(src) > MaxSize {
		return nil, fmt.Errorf("config: %s is larger than 1 MiB", path)
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %s: %v", path, err)
	}
	for g, members := range cfg.Approvals.Groups {
		if g == "" || len(members) == 0 {
			return nil, fmt.Errorf("config: %s: approvals.groups.%s must list at least one member", path, g)
		}
	}
	dir := filepath.Dir(path)
	for i, p := range cfg.Runbooks {
		if p == "" {
			return nil, fmt.Errorf("config: %s: runbooks[%d] is empty", path, i)
		}
		if !filepath.IsAbs(p) {
			cfg.Runbooks[i] = filepath.Join(dir, p)
		}
	}
	return cfg, nil
}
