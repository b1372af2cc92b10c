package mcpserver

import (
	"context"
	"net/http"
	"time"

	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stewardhq/steward/engine/auth"
)

// SessionTimeout closes an MCP session over HTTP idle this long; the
// client then starts a new one.
const SessionTimeout = time.Hour

// Handler serves s over Streamable HTTP, for steward serve to mount at
// /mcp. authenticate is the token middleware ((*auth.Tokens).Middleware):
// a request without a valid bearer token is answered 401 by it and
// never reaches the server. The principal it puts in the request's
// context is handed to the tool and resource handlers (as the SDK's
// TokenInfo, whose UserID also binds an MCP session to its subject: a
// session id presented with another subject's token is refused 403).
// Over HTTP the token's principal always acts, even when s has a
// Config.LocalUser.
func (s *Server) Handler(authenticate func(http.Handler) http.Handler) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp },
		&mcp.StreamableHTTPOptions{Logger: sdkLog(s.cfg.Log), SessionTimeout: SessionTimeout})
	bind := mcpauth.RequireBearerToken(principalToken, &mcpauth.RequireBearerTokenOptions{AllowMissingExpiration: true})
	return authenticate(bind(h))
}

// principalToken is the SDK's view of the principal the token middleware
// authenticated: it runs after it, so the bearer token was checked.
func principalToken(ctx context.Context, _ string, r *http.Request) (*mcpauth.TokenInfo, error) {
	p, ok := auth.From(r.Context())
	if !ok || p.Subject == "" {
		return nil, mcpauth.ErrInvalidToken
	}
	return &mcpauth.TokenInfo{UserID: p.Subject, Extra: map[string]any{principalKey: p}}, nil
}

// CloseSessions ends every MCP session (at a server's shutdown, so that
// no open event stream holds it up); a client starts a new one.
func (s *Server) CloseSessions() {
	for ss := range s.mcp.Sessions() {
		_ = ss.Close()
	}
}
