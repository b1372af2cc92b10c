// Package mcpserver serves vetted runbooks to AI assistants over the Model
// Context Protocol (github.com/modelcontextprotocol/go-sdk): each runbook
// of the allow-list (mcp.runbooks in steward.yaml) is a tool whose input
// schema is the runbook's inputs, and every call is a run of the run
// service, journaled like any other, with its approvals intact.
//
// What an assistant can do: list the exposed runbooks, run one (or dry-run
// it), read the record of a run and the list of the runs it started. What
// it can never do: run anything that is not an exposed runbook, pass a
// secret input (the server reads secret inputs from its own secret
// source), approve, deny, resume or cancel a run: those are not tools.
//
// The same server is served over stdio (steward mcp, for a desktop
// assistant: the local user acts, as with the CLI) and over Streamable
// HTTP (Handler, which steward serve mounts at /mcp: a bearer token's
// subject acts, and needs the operator role on a runbook to run it).
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine/redact"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// TriggerKind is the kind of the journal.Trigger of the runs an assistant
// starts: the run's origin says "mcp", with the client's name.
const TriggerKind = "mcp"

// ErrNotExposable: a runbook of the allow-list cannot be served as a tool.
var ErrNotExposable = errors.New("mcpserver: runbook cannot be exposed")

// Config is what a Server works with.
type Config struct {
	// Runs is the run service every tool call goes through. Required.
	Runs *runs.Service
	// Runbooks are the names of the runbooks exposed as tools (mcp.runbooks
	// of steward.yaml). Empty: no tools.
	Runbooks []string
	// Resolve finds a runbook by name (runbooks.ResolveName over the
	// configured folders). Required.
	Resolve func(name string) (*runbooks.Document, error)
	// Redact returns the redact set of a new run: the secrets the
	// process already holds (plugin settings'), to which the run's are
	// added. Nil: a new empty set per run.
	Redact func() *redact.Set
	// Secret is the server's secret source (STEWARD_SECRET_NAME): a
	// secret input NAME is read from it, never from the assistant.
	Secret func(name string) (string, bool)
	// SecretHint names where a secret input is read from, for messages:
	// given the input's name, e.g. "STEWARD_SECRET_API_TOKEN". Nil: the
	// name itself.
	SecretHint func(name string) string
	// LocalUser, when set, is who the assistant acts for: the server is
	// local (stdio), and runs are started as "mcp:CLIENT (LOCAL_USER)".
	// When empty, every request must carry a principal (Handler puts the
	// bearer token's there), whose subject acts and whose roles are
	// checked.
	LocalUser string
	// URL is steward serve's public address: a waiting run's result
	// links to URL/runs/RUN_ID beside the approve command. Empty: no link.
	URL string
	// Version is the server's version, told to clients.
	Version string
	// Log receives what the server logs (never to stdout over stdio).
	// Nil: nothing is logged.
	Log *slog.Logger
}

// Server is the MCP server of a set of exposed runbooks.
type Server struct {
	cfg   Config
	mcp   *mcp.Server
	tools map[string]*tool
}

// New builds the server: one tool per runbook of cfg.Runbooks. A runbook
// that cannot be found or does not validate here is an error wrapping
// ErrNotExposable, which names every such runbook: an assistant never
// sees a tool that could not run.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Redact == nil {
		cfg.Redact = func() *redact.Set { return &redact.Set{} }
	}
	if cfg.Secret == nil {
		cfg.Secret = func(string) (string, bool) { return "", false }
	}
	if cfg.SecretHint == nil {
		cfg.SecretHint = func(name string) string { return name }
	}
	s := &Server{cfg: cfg, tools: map[string]*tool{}}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "steward", Title: "Steward runbooks", Version: cfg.Version},
		&mcp.ServerOptions{
			Logger: sdkLog(cfg.Log),
			Instructions: "Each tool runs one vetted Steward runbook; every call is recorded in Steward's journal under your identity. " +
				"Set dry_run to see what a runbook would do without changing anything. A run that needs an approval waits for a person: " +
				"you cannot approve it. Read steward://runs/{id} for a run's record, steward://runs for the runs you started.",
		})
	var problems []string
	for _, name := range cfg.Runbooks {
		t, err := s.newTool(name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		s.tools[name] = t
		s.mcp.AddTool(t.def, t.call)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotExposable, strings.Join(problems, "; "))
	}
	s.addResources()
	return s, nil
}

// MCP returns the SDK server, to serve over a transport (Run with
// mcp.StdioTransport, or Handler).
func (s *Server) MCP() *mcp.Server { return s.mcp }

// Run serves one session over t until the client disconnects or ctx ends.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error { return s.mcp.Run(ctx, t) }

// newTool resolves and checks one runbook of the allow-list.
func (s *Server) newTool(name string) (*tool, error) {
	doc, err := s.cfg.Resolve(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	plan := s.cfg.Runs.Prepare(doc, s.cfg.Redact())
	if err := plan.Err(); err != nil {
		var invalid *runs.InvalidRunbookError
		if errors.As(err, &invalid) && len(invalid.Diagnostics) > 0 {
			// Every problem, as steward validate prints them.
			return nil, fmt.Errorf("%s: %v:\n%s", name, err, strings.TrimRight(invalid.Diagnostics.Strict().Render(), "\n"))
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	rb := plan.Runbook
	for _, in := range rb.Inputs {
		if in.Name == dryRunArg {
			return nil, fmt.Errorf("%s: its input %s clashes with the tool argument of that name (every tool has one): rename the input", name, dryRunArg)
		}
	}
	return &tool{s: s, name: name, def: toolDef(rb)}, nil
}

// clientName is the name the client gave at initialization, made safe
// for an actor and a log line: lower-case letters, digits, '.', '_' and
// '-' (a blank becomes '-'), at most 64 characters; "unknown" when it
// gave none. It never holds " (", which journal.StartedBy relies on.
func clientName(ss *mcp.ServerSession) string {
	name := ""
	if ss != nil {
		if p := ss.InitializeParams(); p != nil && p.ClientInfo != nil {
			name = p.ClientInfo.Name
		}
	}
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-'):
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return strings.ToLower(b.String())
}

// sdkLog is the SDK's logger: warnings and errors only (it logs every
// session's start and end at info).
func sdkLog(l *slog.Logger) *slog.Logger { return slog.New(warnOnly{l.Handler()}) }

type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}
func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(g string) slog.Handler      { return warnOnly{h.Handler.WithGroup(g)} }
