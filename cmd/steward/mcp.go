package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine/mcpserver"
	"github.com/stewardhq/steward/engine/redact"
)

func newMCPCmd(g *globalFlags) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve runbooks to an AI assistant over the Model Context Protocol (stdio)",
		Long: `Serve the runbooks listed in steward.yaml's mcp.runbooks as tools to an AI
assistant (Claude Desktop, an IDE) over the Model Context Protocol on stdin
and stdout. The assistant starts steward mcp itself: see docs/mcp.md for
the one configuration snippet it needs.

Each tool runs one runbook, with the runbook's inputs as its arguments and
a dry_run argument. Every call is a run in the journal under --home, like
steward run's, whose actor is "mcp:CLIENT (USER)": the assistant's name
and the local user it acts for (--as, default your user name). Secret
inputs are never asked of the assistant: they are read from
STEWARD_SECRET_NAME, NAME the input's name in upper case.

A run that reaches an approval waits for a person: the assistant is told
the run id and the steward approve command, and can neither approve, deny,
resume nor cancel. It can read a run's record (steward://runs/RUN_ID) and
the runs it started (steward://runs).

No runbook is exposed unless steward.yaml lists it. Logs go to stderr;
stdout is the protocol.`,
		Example: `  steward mcp --home ~/.steward --config ~/steward/steward.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveMCP(cmd, g, as)
		},
	}
	cmd.Flags().Var((*identity)(&as), "as", "who the assistant acts for (default: your user name)")
	return cmd
}

func serveMCP(cmd *cobra.Command, g *globalFlags, as string) error {
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
	user := actor(as)
	if strings.TrimSpace(user) == "" {
		return usageError("steward mcp cannot tell who you are: pass --as NAME")
	}
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	svc, err := newService(cmd, g, cfg)
	if err != nil {
		return err
	}
	defer svc.close()
	srv, err := mcpserver.New(mcpserver.Config{
		Runs:       svc.Service,
		Runbooks:   cfg.MCP.Runbooks,
		Resolve:    nameResolver(g, cfg), // sources.go: pinned Git sources, then folders
		Redact:     func() *redact.Set { return svc.redact },
		Secret:     envSecret,
		SecretHint: secretVar,
		LocalUser:  user,
		URL:        cfg.Server.URL,
		Version:    buildVersion(),
		Log:        log,
	})
	if errors.Is(err, mcpserver.ErrNotExposable) {
		return &exitError{code: exitInvalid, err: fmt.Errorf("mcp.runbooks: %s", strings.TrimPrefix(err.Error(), mcpserver.ErrNotExposable.Error()+": "))}
	}
	if err != nil {
		return &exitError{code: exitFailed, err: err}
	}
	if len(cfg.MCP.Runbooks) == 0 {
		log.Warn("no runbook is exposed: list them in steward.yaml, mcp: {runbooks: [NAME, ...]}", "config", cfg.File)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("serving MCP on stdio", "runbooks", strings.Join(cfg.MCP.Runbooks, ","), "as", user)
	if err := srv.Run(ctx, &mcp.StdioTransport{}); err != nil && ctx.Err() == nil {
		return &exitError{code: exitFailed, err: fmt.Errorf("mcp: %w", err)}
	}
	return nil
}

// secretVar is the variable a secret NAME is read from (see envSecret).
func secretVar(name string) string { return "STEWARD_SECRET_" + strings.ToUpper(name) }
