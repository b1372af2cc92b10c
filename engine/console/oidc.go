package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDC is how people log in: an OpenID Connect provider, and the console
// as its client (server.oidc of steward.yaml).
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the console's /auth/callback as the browser reaches
	// it, registered with the provider.
	RedirectURL string
	// SubjectClaim is the ID token claim that names the person, matched
	// against server.grants' subjects and recorded as the actor of what
	// they do; default "preferred_username" (then "sub" when absent).
	SubjectClaim string
}

// oidcClient is the console's client of the provider.
type oidcClient struct {
	cfg      OIDC
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(ctx context.Context, cfg OIDC) (*oidcClient, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("console: oidc needs an issuer, a client_id and a redirect_url")
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "preferred_username"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("console: the OpenID provider %s: %w", cfg.Issuer, err)
	}
	return &oidcClient{cfg: cfg,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
	}, nil
}

// loginTTL bounds the time between the redirect to the provider and its
// callback.
const loginTTL = 10 * time.Minute

// login sends the browser to the provider, with a state, a nonce and a
// PKCE challenge kept in a signed cookie for the callback.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		p := c.newPage(r)
		c.fail(w, p, http.StatusNotFound, p.T("error.nologin"))
		return
	}
	st := loginState{State: randomString(24), Nonce: randomString(24), Verifier: oauth2.GenerateVerifier(),
		Return: localPath(r.URL.Query().Get("return")), Expires: c.cfg.Clock.Now().Add(loginTTL)}
	c.cookies.set(w, loginCookie, st, int(loginTTL/time.Second))
	http.Redirect(w, r, c.oidc.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// callback ends a login: the state matches the cookie's, the code is
// exchanged (with the PKCE verifier), the ID token verified (issuer,
// audience, expiry, signature, nonce); the person's subject becomes a new
// session, under a new id.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	p := c.newPage(r)
	if c.oidc == nil {
		c.fail(w, p, http.StatusNotFound, p.T("error.nologin"))
		return
	}
	var st loginState
	if !c.cookies.get(r, loginCookie, &st) || c.cfg.Clock.Now().After(st.Expires) {
		c.fail(w, p, http.StatusBadRequest, p.T("error.loginstate"))
		return
	}
	c.cookies.set(w, loginCookie, nil, -1)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		c.fail(w, p, http.StatusUnauthorized, p.T("error.provider", e+" "+q.Get("error_description")))
		return
	}
	if q.Get("state") != st.State {
		c.fail(w, p, http.StatusBadRequest, p.T("error.loginstate"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	tok, err := c.oidc.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		c.cfg.Logger.Warn("console: login: exchanging the code", "err", err)
		c.fail(w, p, http.StatusUnauthorized, p.T("error.provider", "code exchange failed"))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := c.oidc.verifier.Verify(ctx, raw)
	if err != nil || idt.Nonce != st.Nonce {
		c.cfg.Logger.Warn("console: login: the ID token does not verify", "err", err)
		c.fail(w, p, http.StatusUnauthorized, p.T("error.provider", "ID token not valid"))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		c.fail(w, p, http.StatusUnauthorized, p.T("error.provider", "ID token claims"))
		return
	}
	subject, _ := claims[c.oidc.cfg.SubjectClaim].(string)
	if subject == "" && c.oidc.cfg.SubjectClaim == "preferred_username" {
		// Some providers answer profile claims from userinfo only.
		if ui, err := c.userInfo(ctx, tok); err == nil {
			subject, _ = ui[c.oidc.cfg.SubjectClaim].(string)
		}
	}
	if subject == "" {
		subject = idt.Subject
	}
	name, _ := claims["name"].(string)
	s := session{ID: randomString(18), Subject: subject, Name: name, Expires: c.cfg.Clock.Now().Add(c.cfg.SessionTTL)}
	c.cookies.set(w, sessionCookie, s, int(c.cfg.SessionTTL/time.Second))
	c.cfg.Logger.Info("console: logged in", "subject", subject)
	http.Redirect(w, r, localPath(st.Return), http.StatusSeeOther)
}

func (c *Console) userInfo(ctx context.Context, tok *oauth2.Token) (map[string]any, error) {
	p, err := oidc.NewProvider(ctx, c.oidc.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	err = ui.Claims(&m)
	return m, err
}

// logout ends the session: a new one, with a new id, logged out.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.cookies.set(w, sessionCookie, session{ID: randomString(18)}, 0)
	http.Redirect(w, r, "/runs", http.StatusSeeOther)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
