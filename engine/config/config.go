// Package config reads steward.yaml, the settings of a Steward
// installation. Unknown keys are errors, so a typo never silently drops a
// setting; every problem is a schema.Diagnostic at its line and column,
// with a did-you-mean, as a runbook's are. CheckSettings checks a plugin's
// settings against the schema the plugin declares, and Template is the
// commented file steward init writes.
//
//	# steward.yaml
//	runbooks:            # folders searched for runbooks by name, in order
//	  - runbooks
//	  - /srv/shared-runbooks
//	approvals:
//	  groups:            # a step's approval.approvers name them group:NAME
//	    payments-leads: [ana, bruno]
//	  allow_self_approval: false   # default: who starts a run cannot approve it
//	plugins:
//	  folders:           # searched for steward-plugin-NAME, in order
//	    - /opt/steward/plugins       # default: $STEWARD_HOME/plugins, beside steward, ./bin
//	  lock: plugins.lock # default: $STEWARD_HOME/plugins.lock
//	  start_timeout: 10s # start, handshake and settings of one plugin
//	  settings:          # what each plugin is configured with
//	    payments:
//	      base_url: https://payments.internal
//	      api_key: {secret: PAYMENTS_API_KEY}   # from STEWARD_SECRET_PAYMENTS_API_KEY
//	audit:
//	  checkpoint_key: /srv/steward/checkpoint.key  # default: $STEWARD_HOME/checkpoint.key
//	runs:
//	  max_sub_runs: 100  # sub-runs (core.runbook) one run may start, all levels together
//	server:              # steward serve: see Server
//	  url: https://steward.example.com
//	  grants: [{subject: ana, role: approver, runbooks: "card-*"}]
//	webhooks:            # POST /hooks/NAME: see Webhook
//	  - {name: zendesk, runbook: card-payment-failure, verify: zendesk, secret: {secret: ZENDESK_SECRET}}
//	schedules:
//	  catchup_window: 24h  # missed slots older than this are not caught up
//	  catchup_max: 10      # fires per schedule when catching up
//	store: postgres://steward@db.internal:5432/steward  # default: SQLite under $STEWARD_HOME
//	mcp:                 # runbooks AI assistants may run as tools: see MCP
//	  runbooks: [decline-reply]
package config

import (
	"regexp"
	"sync"
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
	// Audit configures steward audit.
	Audit Audit `yaml:"audit"`
	// Runs bound what one run may do.
	Runs Runs `yaml:"runs"`
	// Server configures steward serve: its URL, grants, approval
	// notifications (server.go).
	Server Server `yaml:"server"`
	// Webhooks start runbooks from external events (webhooks.go).
	Webhooks []Webhook `yaml:"webhooks"`
	// Schedules configure the scheduler of steward serve (schedules.go).
	Schedules Schedules `yaml:"schedules"`
	// Store is the URL of the PostgreSQL database that keeps the journal
	// (see store.go); "" for the embedded SQLite store under --home.
	Store string `yaml:"store"`
	// MCP says which runbooks AI assistants may run (mcp.go).
	MCP MCP `yaml:"mcp"`
	// Sources are named folders and Git or GitHub repositories that
	// runbooks come from, searched before the runbooks folders
	// (sources.go).
	Sources []Source `yaml:"sources"`
	// File is the file the configuration was read from; "" for the
	// default, when there is none.
	File string `yaml:"-"`

	lines        []string              // of File, for diagnostics
	settings     map[string]*yaml.Node // plugins.settings.NAME, for CheckSettings
	settingsKeys map[string]*yaml.Node // the key of each plugin's settings
}

// Audit configures steward audit.
type Audit struct {
	// CheckpointKey is the path of the Ed25519 key that signs checkpoints
	// of the journal (made on first use, mode 0600), relative to the
	// configuration file. Empty when not set: the caller uses
	// $STEWARD_HOME/checkpoint.key.
	CheckpointKey string `yaml:"checkpoint_key"`
}

// Runs bound what one run may do.
type Runs struct {
	// MaxSubRuns is how many sub-runs (core.runbook) one run may start,
	// all levels together, each time it runs or goes on. Zero when not
	// set: the engine's default, 100.
	MaxSubRuns int `yaml:"max_sub_runs"`
}

// Plugins configure action plugins.
type Plugins struct {
	// Folders are searched for plugin binaries (steward-plugin-NAME), in
	// order: the first folder that has a name wins. Relative paths are
	// relative to the configuration file. Nil when not set: the caller
	// uses its default ($STEWARD_HOME/plugins, the folder of the steward
	// binary, then ./bin); an empty list means no plugins.
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

// pluginName is what a plugin may be called: NAME in steward-plugin-NAME.
var pluginName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`) })
