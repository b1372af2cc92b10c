package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// start runs a fresh access plugin with settings.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	return startPlugin(t, newAccess(), settings)
}

// startPlugin runs a (whose test hooks the caller may have set) with
// settings.
func startPlugin(t *testing.T, a *access, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	p := sdktest.Start(t, a.plugin())
	if err := p.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return p
}

// secretNowhere fails the test when secret is in an error or a log line.
func secretNowhere(t *testing.T, secret string, err error, logs []sdktest.Log) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("the secret is in the error: %v", err)
	}
	if strings.Contains(fmt.Sprint(logs), secret) {
		t.Errorf("the secret is in the logs: %v", logs)
	}
}

// grantsOf renders list_grants' grants as backend/group lines.
func grantsOf(out map[string]any) string {
	var parts []string
	for _, g := range out["grants"].([]any) {
		m := g.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s/%s", m["backend"], m["group"]))
	}
	return strings.Join(parts, " ")
}

// accountsOf renders list_grants' accounts.
func accountsOf(out map[string]any) string {
	var parts []string
	for _, a := range out["accounts"].([]any) {
		m := a.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s(%s):%s exists=%v disabled=%v", m["backend"], m["type"], m["account"], m["exists"], m["disabled"]))
	}
	return strings.Join(parts, " ")
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	if d.Name != "access" || d.Version != "1.0.0" {
		t.Errorf("plugin %s %s", d.Name, d.Version)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v requires=%s", a.Name, a.Mutates, a.Idempotent, strings.Join(a.Input.Required, ",")))
	}
	want := `access.disable_account mutates=true idempotent=true requires=backend,user
access.grant mutates=true idempotent=true requires=backend,group,user
access.list_grants mutates=false idempotent=false requires=user
access.list_members mutates=false idempotent=false requires=backend,group
access.read_policy mutates=false idempotent=false requires=policy,file
access.review mutates=false idempotent=false requires=policy,policy_file,roster,roster_file,members
access.revoke mutates=true idempotent=true requires=backend,group,user`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	for _, secret := range []string{
		`"bind_password":{"type":"string","description":"the bind DN's password; write {secret: LDAP_BIND_PASSWORD}","x-sensitive":true}`,
		`"token":{"type":"string","description":"a token with admin:org (or a fine-grained token with Members read and write); write {secret: GITHUB_TOKEN}","x-sensitive":true}`,
	} {
		if !strings.Contains(string(d.Config), secret) {
			t.Errorf("config schema has no %s: %s", secret, d.Config)
		}
	}
	// Every output of an action on a backend says which, and of what type.
	for _, a := range []string{"list_members", "grant", "revoke", "disable_account"} {
		o := p.Action(a).Output
		if o.Properties["backend"] == nil || o.Properties["type"] == nil || len(o.Properties["type"].Enum) != 3 {
			t.Errorf("%s: no backend and type outputs", a)
		}
	}
}

// TestSettings: every refusal says what to write and never quotes a
// password or a token.
func TestSettings(t *testing.T) {
	const pw, token = "s3cret-Bind-Passw0rd", "ghp_T0kenThatMustNeverLeak"
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	ldapOK := func(kv ...any) map[string]any {
		l := map[string]any{"url": "ldaps://ldap.example.org", "bind_dn": "cn=steward,dc=example,dc=org", "bind_password": pw,
			"users_dn": "ou=people,dc=example,dc=org", "groups_dn": "ou=groups,dc=example,dc=org"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(l, kv[i].(string))
			} else {
				l[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"backends": map[string]any{"dir": map[string]any{"type": "ldap", "ldap": l}}}
	}
	gh := func(kv ...any) map[string]any {
		g := map[string]any{"org": "stewardhq", "token": token}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(g, kv[i].(string))
			} else {
				g[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"backends": map[string]any{"gh": map[string]any{"type": "github", "github": g}}}
	}
	p := sdktest.Start(t, New())
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{ldapOK("bind_dn", nil, "bind_password", nil, "users_dn", nil, "groups_dn", nil),
			"backends.dir.ldap.bind_dn is missing: set it to the DN Steward binds as, such as cn=steward,ou=services,dc=example,dc=org\n" +
				"backends.dir.ldap.bind_password is missing: set it to {secret: LDAP_BIND_PASSWORD}\n" +
				"backends.dir.ldap.users_dn is missing: set it to where the users are, such as ou=people,dc=example,dc=org\n" +
				"backends.dir.ldap.groups_dn is missing: set it to where the groups are, such as ou=groups,dc=example,dc=org"},
		{ldapOK("url", nil), "backends.dir.ldap.url is missing: set it to ldap://HOST:389 (with start_tls: true) or ldaps://HOST:636"},
		{ldapOK("url", "http://u:"+pw+"@ldap.example.org"), "backends.dir.ldap.url must be ldap://HOST:PORT or ldaps://HOST:PORT, with no user, path or query"},
		{ldapOK("url", "ldaps://ldap.example.org", "start_tls", true),
			"backends.dir.ldap.start_tls upgrades an ldap:// connection; an ldaps:// one is TLS from the start: remove start_tls, or use ldap://"},
		{ldapOK("url", "ldap://ldap.example.org"),
			"backends.dir.ldap.url is ldap:// without start_tls: the bind password would cross the network in clear; set start_tls: true or use ldaps:// (plain ldap:// is allowed to 127.0.0.1 and localhost only)"},
		{ldapOK("users_dn", "people"), `backends.dir.ldap.users_dn "people" is not a DN: DN ended with incomplete type, value pair`},
		{ldapOK("ca_file", filepath.Join(dir, "missing.pem")), "backends.dir.ldap.ca_file " + filepath.Join(dir, "missing.pem") + " cannot be read: no such file or directory"},
		{ldapOK("ca_file", notPEM), "backends.dir.ldap.ca_file " + notPEM + " holds no PEM certificate: give the CA certificate that signed the server's"},
		{ldapOK("disabled_attribute", "employeeType"), "backends.dir.ldap.disabled_attribute is set without disabled_value: set both, or neither"},
		{ldapOK("user_attribute", "u id"), `backends.dir.ldap.user_attribute "u id" is not an attribute name such as uid`},
		{ldapOK("timeout", "10m"), "backends.dir.ldap.timeout must be more than 0s and at most 5m, got 10m0s"},
		{ldapOK("group_type", "groupOfUniqueNames"), `settings.backends.dir.ldap.group_type must be one of ["groupOfNames", "posixGroup"], got "groupOfUniqueNames"`},
		{gh("org", nil, "token", nil), "backends.gh.github.org is missing: set it to the organization whose teams Steward manages\n" +
			"backends.gh.github.token is missing: set it to {secret: GITHUB_TOKEN}"},
		{gh("org", "steward hq"), `backends.gh.github.org "steward hq" is not a GitHub organization name (letters, digits and -)`},
		{gh("base_url", "http://github.example.com/api/v3/"),
			"backends.gh.github.base_url is http://: the token would cross the network in clear; use https:// (http:// is allowed to 127.0.0.1 and localhost only)"},
		{gh("base_url", "ftp://github.example.com/"),
			"backends.gh.github.base_url must be an https URL such as https://api.github.com/ or https://github.example.com/api/v3/, with no user or query"},
		{map[string]any{"backends": map[string]any{"Dir": map[string]any{"type": "sandbox"}}},
			"backends.Dir: a backend's name is lower case letters, digits, - and _, starting with a letter (at most 32)"},
		{map[string]any{"backends": map[string]any{"dir": map[string]any{"type": "ldap"}}},
			"backends.dir (type ldap) needs ldap settings: url, bind_dn, bind_password, users_dn and groups_dn"},
		{map[string]any{"backends": map[string]any{"gh": map[string]any{"type": "github"}}},
			"backends.gh (type github) needs github settings: org and token ({secret: GITHUB_TOKEN})"},
		{map[string]any{"backends": map[string]any{"lab": map[string]any{"type": "sandbox", "github": map[string]any{"org": "x"}}}},
			"backends.lab is of type sandbox but has github settings: remove them, or change its type"},
		{map[string]any{"backends": map[string]any{"lab": map[string]any{"type": "sandbox", "sandbox": map[string]any{"seed": "hr"}}}},
			`settings.backends.lab.sandbox.seed must be one of ["directory", "github"], got "hr"`},
		{map[string]any{"backends": map[string]any{"lab": map[string]any{"type": "okta"}}},
			`settings.backends.lab.type must be one of ["sandbox", "ldap", "github"], got "okta"`},
		{map[string]any{"backend": "sandbox"}, `settings: unknown field "backend"`},
	} {
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v:\n got %v\nwant %s", c.settings, err, c.want)
		}
		secretNowhere(t, pw, err, nil)
		secretNowhere(t, token, err, nil)
	}
	for _, s := range []map[string]any{
		ldapOK(), ldapOK("url", "ldap://127.0.0.1:3389"), ldapOK("url", "ldap://ldap.example.org", "start_tls", true, "group_type", "posixGroup",
			"disabled_attribute", "employeeType", "disabled_value", "disabled", "timeout", "3s"),
		gh(), gh("base_url", "https://github.example.com/api/v3"), gh("base_url", "http://127.0.0.1:8080/"),
		{"backends": map[string]any{"lab": map[string]any{"type": "sandbox"}}},
		{"backends": map[string]any{}},
		{},
	} {
		if err := p.Configure(s); err != nil {
			t.Errorf("settings %v: %v", s, err)
		}
	}
}

// TestDefaultBackends: without settings, two sandboxes; a sandbox's seed
// follows its name unless it says otherwise.
func TestDefaultBackends(t *testing.T) {
	p := sdktest.Start(t, New()) // never configured: the host sends {} first
	out, _, err := p.Execute("list_grants", map[string]any{"user": "ben"})
	if err != nil {
		t.Fatal(err)
	}
	if got := accountsOf(out); got != "directory(sandbox):ben exists=true disabled=false github(sandbox):ben exists=true disabled=false" {
		t.Errorf("accounts %s", got)
	}
	p = start(t, map[string]any{"backends": map[string]any{
		"github": map[string]any{"type": "sandbox"},
		"lab":    map[string]any{"type": "sandbox"},
		"teams":  map[string]any{"type": "sandbox", "sandbox": map[string]any{"seed": "github"}},
	}})
	out, _, err = p.Execute("list_grants", map[string]any{"user": "ben"})
	if err != nil {
		t.Fatal(err)
	}
	if got := grantsOf(out); got != "github/admins github/backend github/sre lab/engineering lab/prod-admins lab/vpn teams/admins teams/backend teams/sre" {
		t.Errorf("grants %s", got)
	}
}
