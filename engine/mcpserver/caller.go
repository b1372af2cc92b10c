package mcpserver

import (
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
)

// caller is who makes a request: the actor recorded for what they start,
// the client they use, and over HTTP their principal (nil over stdio,
// where the local user may do what the CLI lets them do).
type caller struct {
	actor     string
	client    string
	principal *auth.Principal
}

// errNoPrincipal: an HTTP request reached the server without a principal
// (Handler was not used, or the token middleware was skipped).
var errNoPrincipal = errors.New("mcpserver: the request carries no identity: serve it with Handler, behind the token middleware")

// principalKey is the key of the principal in the SDK's TokenInfo.Extra.
const principalKey = "steward.principal"

// callerOf says who makes a request: the principal of its bearer token
// when it came over HTTP (Handler), whatever the configuration; else the
// local user, when the server is local.
func (s *Server) callerOf(ss *mcp.ServerSession, extra *mcp.RequestExtra) (*caller, error) {
	client := clientName(ss)
	if extra != nil && extra.TokenInfo != nil {
		p, ok := extra.TokenInfo.Extra[principalKey].(auth.Principal)
		if !ok || p.Subject == "" {
			return nil, errNoPrincipal
		}
		return &caller{actor: p.Subject, client: client, principal: &p}, nil
	}
	if s.cfg.LocalUser != "" {
		return &caller{actor: journal.AssistantActor(client, s.cfg.LocalUser), client: client}, nil
	}
	return nil, errNoPrincipal
}

// may checks that c holds role on runbook ("" for the service as a
// whole). Over stdio the local user may, as with the CLI.
func (c *caller) may(role auth.Role, runbook string) error {
	if c.principal == nil {
		return nil
	}
	if err := c.principal.Require(role, runbook); err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	return nil
}
