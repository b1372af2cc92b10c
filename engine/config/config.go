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
//	plugins:
//	  folders:           # searched for steward-plugin-NAME, in order
//	    - /opt/steward/plugins       # default: $STEWARD_HOME/plugins, then ./bin
//	  lock: plugins.lock # default: $STEWARD_HOME/plugins.lock
//	  start_timeout: 10s # start, handshake and settings of one plugin
//	  settings:          # what each plugin is configured with
//	    payments:
//	      base_url: https://payments.internal
//	      api_key: {secret: PAYMENTS_API_KEY}   # from STEWARD_SECRET_PAYMENTS_API_KEY
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

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
	// Plugins say where action plugins are and how they are configured.
	Plugins Plugins `yaml:"plugins"`
}

// Plugins configure action plugins.
type Plugins struct {
	// Folders are searched for plugin binaries (steward-plugin-NAME), in
	// order: the first folder that has a name wins. Relative paths are
	// relative to the configuration file. Nil when not set: the caller
	// uses its default ($STEWARD_HOME/plugins, then ./bin); an empty list
	// means no plugins.
	Folders []string `yaml:"folders"`
	// Lock is the path of the lock file, which pins each plugin binary to
	// its SHA-256, relative to the configuration file. Empty when not set:
	// the caller uses $STEWARD_HOME/plugins.lock.
	Lock string `yaml:"lock"`
	// Settings are each plugin's settings, by plugin name. A value written
	// {secret: NAME} is replaced by the secret NAME when the plugin starts.
	Settings map[string]map[string]any `yaml:"settings"`
	// StartTimeout bounds the start, handshake and configuration of one
	// plugin. Zero when not set: the plugin host's default.
	StartTimeout time.Duration `yaml:"start_timeout"`
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
	if err := cfg.Plugins.check(dir); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return cfg, nil
}

// pluginName is what a plugin may be called: NAME in steward-plugin-NAME.
var pluginName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// check checks the plugins section and makes its paths absolute.
func (p *Plugins) check(dir string) error {
	for i, f := range p.Folders {
		if f == "" {
			return fmt.Errorf("plugins.folders[%d] is empty", i)
		}
		if !filepath.IsAbs(f) {
			p.Folders[i] = filepath.Join(dir, f)
		}
	}
	if p.Lock != "" && !filepath.IsAbs(p.Lock) {
		p.Lock = filepath.Join(dir, p.Lock)
	}
	if p.StartTimeout < 0 {
		return fmt.Errorf("plugins.start_timeout must be positive, got %s", p.StartTimeout)
	}
	names := make([]string, 0, len(p.Settings))
	for name := range p.Settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !pluginName.MatchString(name) {
			return fmt.Errorf("plugins.settings.%s: a plugin name is lower-case letters, digits, _ and -, starting with a letter", name)
		}
		for k, v := range p.Settings[name] {
			if err := checkSecretRefs(v, "plugins.settings."+name+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSecretRefs checks that every mapping with a secret key, at any
// depth, is a well-formed reference: {secret: NAME} and nothing else.
func checkSecretRefs(v any, path string) error {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["secret"]; ok {
			name, isStr := ref.(string)
			if !isStr || !secretName.MatchString(name) || len(t) != 1 {
				return fmt.Errorf("%s: write {secret: NAME}, NAME being letters, digits and _ (read from STEWARD_SECRET_NAME)", path)
			}
			return nil
		}
		for k, x := range t {
			if err := checkSecretRefs(x, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range t {
			if err := checkSecretRefs(x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
