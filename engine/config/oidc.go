package config

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// OIDC is how people log in to the web console of steward serve: an
// OpenID Connect provider, and the console as its client. The person's
// subject (the claim subject_claim, default preferred_username) is
// matched against server.grants and recorded as the actor of what they
// do.
//
//	server:
//	  oidc:
//	    issuer: https://login.example.com/realms/support
//	    client_id: steward-console
//	    client_secret: {secret: OIDC_CLIENT_SECRET}   # from STEWARD_SECRET_OIDC_CLIENT_SECRET
//	    redirect_url: https://steward.example.com/auth/callback
//	    subject_claim: preferred_username             # default
type OIDC struct {
	Issuer   string
	ClientID string
	// ClientSecret is the NAME of the secret (STEWARD_SECRET_NAME) that
	// holds the client secret: never written in steward.yaml.
	ClientSecret string
	// RedirectURL is the console's /auth/callback as browsers reach it,
	// registered with the provider.
	RedirectURL  string
	SubjectClaim string
}

var oidcKeys = []string{"issuer", "client_id", "client_secret", "redirect_url", "subject_claim"}

func (l *loader) oidc(n *yaml.Node, path string) {
	if n.ShortTag() == "!!null" {
		return
	}
	before := len(l.diags)
	o := &OIDC{}
	pairs := l.mapping(n, path, oidcKeys)
	if n.Kind != yaml.MappingNode {
		return
	}
	for _, p := range pairs {
		switch p.key {
		case "issuer", "redirect_url":
			s := l.str(p.v, p.path, false)
			if s == "" {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
				hint := "the provider's issuer URL, as its /.well-known/openid-configuration names it"
				if p.key == "redirect_url" {
					hint = "the console's callback as browsers reach it, such as https://steward.example.com/auth/callback"
				}
				l.errorf(p.v, p.path, hint, "invalid URL %q", s)
				continue
			}
			if p.key == "issuer" {
				o.Issuer = s
			} else {
				o.RedirectURL = s
			}
		case "client_id":
			o.ClientID = strings.TrimSpace(l.str(p.v, p.path, false))
		case "client_secret":
			ref, ok := secretRef(resolve(p.v))
			if p.v.Kind != yaml.MappingNode || !ok || ref == nil || !secretName().MatchString(ref.Value) || len(p.v.Content) != 2 {
				l.errorf(p.v, p.path, "NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME", "write {secret: NAME}: the client secret is never written in steward.yaml")
				continue
			}
			o.ClientSecret = ref.Value
		case "subject_claim":
			o.SubjectClaim = strings.TrimSpace(l.str(p.v, p.path, false))
		}
	}
	for _, need := range []struct{ key, val, example string }{
		{"issuer", o.Issuer, "issuer: https://login.example.com"},
		{"client_id", o.ClientID, "client_id: steward-console"},
		{"redirect_url", o.RedirectURL, "redirect_url: https://steward.example.com/auth/callback"},
	} {
		if need.val == "" && !l.given(n, need.key) {
			l.errorf(n, path, "write "+need.example, "server.oidc needs %s", need.key)
		}
	}
	if len(l.diags) == before {
		l.cfg.Server.OIDC = o
	}
}
