package config

import (
	"errors"
	"slices"
	"testing"

	"github.com/stewardhq/steward/schema"
)

func TestLoadOIDC(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte(`server:
  oidc:
    issuer: https://login.example.com/realms/support
    client_id: steward-console
    client_secret: {secret: OIDC_CLIENT_SECRET}
    redirect_url: https://steward.example.com/auth/callback
`))
	if err != nil {
		t.Fatal(err)
	}
	want := OIDC{Issuer: "https://login.example.com/realms/support", ClientID: "steward-console", ClientSecret: "OIDC_CLIENT_SECRET",
		RedirectURL: "https://steward.example.com/auth/callback"}
	if o := cfg.Server.OIDC; o == nil || *o != want {
		t.Fatalf("oidc %+v", o)
	}
	if cfg, err := Parse("steward.yaml", []byte("server: {url: https://s.example.com}\n")); err != nil || cfg.Server.OIDC != nil {
		t.Fatalf("no oidc: %+v, %v", cfg.Server.OIDC, err)
	}
}

func TestOIDCDiagnostics(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"server:\n  oidc:\n    issuer: not a url\n    client_id: c\n    redirect_url: https://s/auth/callback\n",
			`steward.yaml:3:13: server.oidc.issuer: invalid URL "not a url"`},
		{"server:\n  oidc:\n    issuer: https://i\n    client_id: c\n    client_secret: hunter2\n    redirect_url: https://s/auth/callback\n",
			`steward.yaml:5:20: server.oidc.client_secret: write {secret: NAME}: the client secret is never written in steward.yaml`},
		{"server:\n  oidc:\n    issuer: https://i\n    redirect_url: https://s/auth/callback\n",
			`steward.yaml:3:5: server.oidc: server.oidc needs client_id`},
		{"server:\n  oidc:\n    issuer: https://i\n    client_id: c\n    redirect_uri: https://s/auth/callback\n",
			`steward.yaml:5:5: server.oidc.redirect_uri: unknown key "redirect_uri"`},
	} {
		_, err := Parse("steward.yaml", []byte(c.src))
		var diags schema.Diagnostics
		if !errors.As(err, &diags) || len(diags) == 0 {
			t.Fatalf("%s: error %v, want diagnostics", c.src, err)
		}
		var got []string
		for _, d := range diags {
			got = append(got, d.File+":"+itoa(d.Line)+":"+itoa(d.Column)+": "+d.Path+": "+d.Message)
		}
		if !slices.Contains(got, c.want) {
			t.Errorf("got  %s\nwant %s", join(got), c.want)
		}
	}
}
