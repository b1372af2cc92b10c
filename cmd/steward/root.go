package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/schema"
)

// Exit codes of SPEC section 2.
const (
	exitOK      = 0
	exitFailed  = 1
	exitInvalid = 2
	exitWaiting = 3
)

// exitError carries the process exit code; a nil err means the command has
// already said everything it had to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "exit status"
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

type globalFlags struct {
	home          string
	config        string
	allowUnpinned bool
	// server and tokenFile: --server mode (remote.go).
	server    string
	tokenFile string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "steward",
		Short: "Run vetted runbooks, with approvals and a tamper-evident record",
		Long: `Steward runs declarative YAML runbooks: steps with conditions and actions,
from built-ins or plugins. Every run is recorded as a tamper-evident log.

Try a bundled runbook, check your own, and test them with mocked actions:

  steward run decline-reply --input decline_code=expired_card
  steward runs
  steward validate runbooks/
  steward test runbooks/

Actions come from built-ins (core.*, http.request, exec) and from plugins:
executables named steward-plugin-NAME in the plugin folders, pinned by
SHA-256 in a lock file (see steward plugins --help).

Runbook format, CLI and exit codes: docs/ and "steward <command> --help".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.home, "home", envOr("STEWARD_HOME", defaultHome()),
		"folder of the embedded store and plugins (env STEWARD_HOME)")
	root.PersistentFlags().StringVar(&g.config, "config", envOr("STEWARD_CONFIG", "steward.yaml"),
		"configuration file, used when present (env STEWARD_CONFIG)")
	root.PersistentFlags().BoolVar(&g.allowUnpinned, "allow-unpinned", envBool("STEWARD_ALLOW_UNPINNED"),
		"start plugin binaries the lock file does not name: for plugin development only (env STEWARD_ALLOW_UNPINNED=1)")
	// --server: run, runs, show, approve, cancel, resume and audit
	// verify|export call steward serve's API instead (remote.go).
	root.PersistentFlags().StringVar(&g.server, "server", os.Getenv("STEWARD_SERVER"),
		"the URL of a steward serve to work with, token from env STEWARD_TOKEN or --token-file (env STEWARD_SERVER)")
	root.PersistentFlags().StringVar(&g.tokenFile, "token-file", os.Getenv("STEWARD_TOKEN_FILE"),
		"a file holding the bearer token for --server (env STEWARD_TOKEN_FILE)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitInvalid, err: err}
	})
	root.AddCommand(newVersionCmd(), newValidateCmd(g), newRunCmd(g), newSchemaCmd(g), newTestCmd(g),
		newRunsCmd(g), newShowCmd(g), newApproveCmd(g), newResumeCmd(g), newCancelCmd(g), newAuditCmd(g), newInitCmd(g),
		newPluginsCmd(g), newRunbooksCmd(g), newServeCmd(g),
		newTokensCmd(g),    // tokens.go: bearer tokens of steward serve
		newSchedulesCmd(g), // schedules.go: steward serve's schedules, read locally
		newMigrateCmd(g),   // migrate.go: the journal from SQLite to PostgreSQL
		newMCPCmd(g),       // mcp.go: runbooks as MCP tools for an AI assistant
		newIncidentCmd(g),  // incident.go: the timeline of an incident's runs
		newSourcesCmd(g))   // sources.go: Git and GitHub sources, their pins
	return root
}

// loadConfig reads --config; the default ./steward.yaml may be absent.
// The problems of an invalid file are printed on stderr as runbook
// diagnostics are.
func (g *globalFlags) loadConfig(cmd *cobra.Command) (*config.Config, error) {
	cfg, err := g.readConfig(cmd)
	var diags schema.Diagnostics
	if errors.As(err, &diags) {
		fmt.Fprint(cmd.ErrOrStderr(), printable.String(diags.Render()))
		return nil, &exitError{code: exitInvalid, err: fmt.Errorf("%s is invalid: %s", g.config, plural(len(diags), "problem"))}
	}
	if err != nil {
		return nil, &exitError{code: exitInvalid, err: err}
	}
	return cfg, nil
}

// readConfig reads --config: the configuration, or its problems as
// schema.Diagnostics, or another error (the file named cannot be read).
func (g *globalFlags) readConfig(cmd *cobra.Command) (*config.Config, error) {
	named := cmd.Flags().Changed("config") || os.Getenv("STEWARD_CONFIG") != ""
	return config.Load(g.config, !named)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envBool reads a boolean variable: 1, true, yes (any case) are true.
func envBool(key string) bool {
	switch strings.ToLower(os.Getenv(key)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

func defaultHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.steward"
	}
	return ".steward"
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "devel+" + s.Value[:12]
		}
	}
	if v == "" || v == "(devel)" {
		return "devel"
	}
	return v
}
