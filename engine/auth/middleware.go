package auth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/engine/problem"
)

// Middleware authenticates each request by its bearer token
// (Authorization: Bearer TOKEN) and calls next with the principal in the
// request's context (see From). A request without a token, or with an
// unknown or revoked one, is answered 401 with a problem document and
// WWW-Authenticate: Bearer; the refusal is logged (TokensConfig.Log),
// never the token.
func (t *Tokens) Middleware(next http.Handler) http.Handler {
	log := t.cfg.Log
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			log.Warn("request refused: no bearer token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			unauthorized(w, r, "", "this request needs a bearer token: Authorization: Bearer TOKEN (steward tokens create makes one)")
			return
		}
		p, name, err := t.Authenticate(r.Context(), token)
		switch {
		case errors.Is(err, ErrTokenRevoked):
			log.Warn("request refused: revoked token", "token_name", name, "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			unauthorized(w, r, `error="invalid_token"`, "the token "+name+" is revoked")
			return
		case errors.Is(err, ErrInvalidToken):
			log.Warn("request refused: unknown token", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			unauthorized(w, r, `error="invalid_token"`, "the bearer token is not valid")
			return
		case err != nil:
			log.Error("authenticating a request", "err", err, "method", r.Method, "path", r.URL.Path)
			problem.Error(w, r, http.StatusServiceUnavailable, "unavailable", "tokens cannot be checked now: the journal cannot be read")
			return
		}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), p)))
	})
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter, r *http.Request, params, detail string) {
	v := `Bearer realm="steward"`
	if params != "" {
		v += ", " + params
	}
	w.Header().Set("WWW-Authenticate", v)
	problem.Error(w, r, http.StatusUnauthorized, "unauthenticated", detail)
}
