package main

// Tests of the ldap backend against a real OpenLDAP slapd (package
// ldaptest), seeded with the sandbox's directory seed, for both group
// types. Each test starts its own slapd (a few tens of milliseconds): they
// change the directory.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/access/internal/seed"
	"github.com/stewardhq/steward/plugins/access/ldaptest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// startDirectory starts slapd seeded with groupType groups.
func startDirectory(t *testing.T, groupType string) *ldaptest.Server {
	t.Helper()
	ldaptest.Path(t)
	s, err := ldaptest.Start(ldaptest.Options{GroupType: groupType})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// ldapPlugin runs the plugin with the directory as backend "directory"
// (ldap settings changed by kv) beside the github sandbox.
func ldapPlugin(t *testing.T, s *ldaptest.Server, kv ...any) *sdktest.Plugin {
	t.Helper()
	settings := s.Settings()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(settings, kv[i].(string))
		} else {
			settings[kv[i].(string)] = kv[i+1]
		}
	}
	return start(t, map[string]any{"backends": map[string]any{
		"directory": map[string]any{"type": "ldap", "ldap": settings},
		"github":    map[string]any{"type": "sandbox"},
	}})
}

// run executes an action and checks the bind password appears nowhere.
func run(t *testing.T, p *sdktest.Plugin, s *ldaptest.Server, action string, with map[string]any) (map[string]any, []sdktest.Log, error) {
	t.Helper()
	out, logs, err := p.Execute(action, with)
	secretNowhere(t, s.BindPassword, err, logs)
	if strings.Contains(fmt.Sprint(out), s.BindPassword) {
		t.Errorf("the bind password is in the outputs: %v", out)
	}
	// Debug lines (the LDAP operations) are left out.
	return out, slices.DeleteFunc(logs, func(l sdktest.Log) bool { return l.Level == "debug" }), err
}

// mustRun executes an action that must succeed.
func mustRun(t *testing.T, p *sdktest.Plugin, s *ldaptest.Server, action string, with map[string]any) map[string]any {
	t.Helper()
	out, _, err := run(t, p, s, action, with)
	if err != nil {
		t.Fatalf("%s %v: %v", action, with, err)
	}
	return out
}

// holds is what the directory really holds: a group's members.
func holds(t *testing.T, s *ldaptest.Server, group string) string {
	t.Helper()
	m, err := s.Members(group)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(m)
}

func TestLDAP(t *testing.T) {
	for _, gt := range []string{ldaptest.GroupOfNames, ldaptest.PosixGroup} {
		t.Run(gt, func(t *testing.T) {
			s := startDirectory(t, gt)
			p := ldapPlugin(t, s)

			// The same groups as the sandbox's directory seed.
			for _, g := range seed.Groups(seed.Directory) {
				out := mustRun(t, p, s, "list_members", map[string]any{"backend": "directory", "group": g.Name})
				want := slices.Sorted(slices.Values(g.Members))
				if fmt.Sprint(out["members"]) != fmt.Sprint(want) || out["type"] != "ldap" || out["backend"] != "directory" || out["count"] != float64(len(want)) {
					t.Errorf("%s: %v, want %v", g.Name, out, want)
				}
			}
			out := mustRun(t, p, s, "list_grants", map[string]any{"user": "ben"})
			if grantsOf(out) != "directory/engineering directory/prod-admins directory/vpn github/admins github/backend github/sre" ||
				accountsOf(out) != "directory(ldap):ben exists=true disabled=false github(sandbox):ben exists=true disabled=false" {
				t.Errorf("ben: %s; %s", grantsOf(out), accountsOf(out))
			}
			out = mustRun(t, p, s, "list_grants", map[string]any{"user": "hal", "backend": "directory"})
			if grantsOf(out) != "" || accountsOf(out) != "directory(ldap):hal exists=true disabled=true" {
				t.Errorf("hal: %s; %s", grantsOf(out), accountsOf(out))
			}
			_, _, err := run(t, p, s, "list_grants", map[string]any{"user": "zoe", "backend": "directory"})
			sdktest.WantError(t, err, "not_found", false, "no account zoe on any backend (directory)")
			_, _, err = run(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "admins"})
			sdktest.WantError(t, err, "not_found", false, fmt.Sprintf("no group admins on directory: no %s with cn=admins under ou=groups,dc=example,dc=org", gt))

			// grant, twice.
			grant := map[string]any{"backend": "directory", "group": "prod-admins", "user": "ana"}
			if out := mustRun(t, p, s, "grant", grant); out["changed"] != true || out["type"] != "ldap" {
				t.Errorf("grant: %v", out)
			}
			if out := mustRun(t, p, s, "grant", grant); out["changed"] != false {
				t.Errorf("grant again: %v", out)
			}
			if got := holds(t, s, "prod-admins"); got != "[ana ben dmitri frank]" {
				t.Errorf("prod-admins holds %s", got)
			}
			// An empty group, then empty again.
			finance := map[string]any{"backend": "directory", "group": "finance", "user": "gina"}
			mustRun(t, p, s, "grant", finance)
			if got := holds(t, s, "finance"); got != "[gina]" {
				t.Errorf("finance holds %s", got)
			}
			e, _ := s.Entry(ldaptest.GroupDN("finance"))
			if gt == ldaptest.GroupOfNames && fmt.Sprint(e["member"]) != "[uid=gina,ou=people,dc=example,dc=org]" {
				t.Errorf("finance's members %q: the placeholder stayed", e["member"])
			}
			if out := mustRun(t, p, s, "revoke", finance); out["changed"] != true {
				t.Errorf("revoke: %v", out)
			}
			if out := mustRun(t, p, s, "revoke", finance); out["changed"] != false {
				t.Errorf("revoke again: %v", out)
			}
			e, _ = s.Entry(ldaptest.GroupDN("finance"))
			if holds(t, s, "finance") != "[]" || gt == ldaptest.GroupOfNames && fmt.Sprintf("%q", e["member"]) != `[""]` {
				t.Errorf("finance holds %s, member %q", holds(t, s, "finance"), e["member"])
			}
			// The sandbox's read-only fixture is an ordinary group here.
			mustRun(t, p, s, "grant", map[string]any{"backend": "directory", "group": "legacy-vpn", "user": "eve"})

			for _, c := range []struct {
				action     string
				with       map[string]any
				code, want string
			}{
				{"grant", map[string]any{"backend": "directory", "group": "vpn", "user": "hal"}, "account_disabled",
					"the account hal on directory is disabled (it has no userPassword): enable it before granting it access"},
				{"grant", map[string]any{"backend": "directory", "group": "vpn", "user": "zoe"}, "not_found",
					"no account zoe on directory: no entry with uid=zoe under ou=people,dc=example,dc=org"},
				{"grant", map[string]any{"backend": "directory", "group": "vpn*", "user": "ana"}, "not_found",
					fmt.Sprintf(`no group vpn* on directory: no %s with cn=vpn* under ou=groups,dc=example,dc=org`, gt)},
				{"revoke", map[string]any{"backend": "directory", "group": "nope", "user": "ana"}, "not_found",
					fmt.Sprintf("no group nope on directory: no %s with cn=nope under ou=groups,dc=example,dc=org", gt)},
				{"disable_account", map[string]any{"backend": "directory", "user": "a)(uid=*"}, "not_found",
					"no account a)(uid=* on directory: no entry with uid=a)(uid=* under ou=people,dc=example,dc=org"},
			} {
				_, _, err := run(t, p, s, c.action, c.with)
				sdktest.WantError(t, err, c.code, false, c.want)
			}
			// Revoking from someone who is gone converges.
			out, logs, err := run(t, p, s, "revoke", map[string]any{"backend": "directory", "group": "vpn", "user": "zoe"})
			if err != nil || out["changed"] != false || logs[1] != (sdktest.Log{Level: "warn", Message: "no account zoe on directory: nothing to revoke"}) {
				t.Errorf("revoke zoe: %v %v %v", out, logs, err)
			}

			// disable: ana can no longer bind, and list_grants says so.
			if err := s.Bind("ana", ldaptest.UserPassword("ana")); err != nil {
				t.Fatal(err)
			}
			if out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "ana"}); out["changed"] != true {
				t.Errorf("disable: %v", out)
			}
			if out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "ana"}); out["changed"] != false {
				t.Errorf("disable again: %v", out)
			}
			if err := s.Bind("ana", ldaptest.UserPassword("ana")); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Errorf("ana still binds: %v", err)
			}
			out = mustRun(t, p, s, "list_grants", map[string]any{"user": "ana", "backend": "directory"})
			if accountsOf(out) != "directory(ldap):ana exists=true disabled=true" || grantsOf(out) != "directory/engineering directory/prod-admins directory/vpn" {
				t.Errorf("ana: %s; %s", accountsOf(out), grantsOf(out))
			}
			_, _, err = run(t, p, s, "grant", map[string]any{"backend": "directory", "group": "support", "user": "ana"})
			sdktest.WantError(t, err, "account_disabled", false, "the account ana on directory is disabled (it has no userPassword): enable it before granting it access")
			// Offboarding goes on after disabling.
			if out := mustRun(t, p, s, "revoke", map[string]any{"backend": "directory", "group": "prod-admins", "user": "ana"}); out["changed"] != true {
				t.Errorf("revoke from a disabled account: %v", out)
			}
		})
	}
}

// TestLDAPLeftovers: a memberUid whose account was deleted is a grant to
// list and to revoke; a member DN of another shape is named by its entry.
func TestLDAPLeftovers(t *testing.T) {
	s := startDirectory(t, ldaptest.PosixGroup)
	p := ldapPlugin(t, s)
	c, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	req := ldap.NewModifyRequest(ldaptest.GroupDN("vpn"), nil)
	req.Add("memberUid", []string{"zed"})
	if err := c.Modify(req); err != nil {
		t.Fatal(err)
	}
	c.Close()
	out := mustRun(t, p, s, "list_grants", map[string]any{"user": "zed", "backend": "directory"})
	if accountsOf(out) != "directory(ldap):zed exists=false disabled=false" || grantsOf(out) != "directory/vpn" {
		t.Errorf("zed: %s; %s", accountsOf(out), grantsOf(out))
	}
	out, logs, err := run(t, p, s, "revoke", map[string]any{"backend": "directory", "group": "vpn", "user": "zed"})
	if err != nil || out["changed"] != true || logs[1].Message != "no account zed on directory, but vpn still lists it: removing it" {
		t.Errorf("revoke zed: %v %v %v", out, logs, err)
	}
	if got := holds(t, s, "vpn"); got != "[ana ben carla dmitri]" {
		t.Errorf("vpn holds %s", got)
	}

	s = startDirectory(t, ldaptest.GroupOfNames)
	p = ldapPlugin(t, s)
	if err := s.Seed("dn: cn=Ivy Chen," + ldaptest.UsersDN + "\nobjectClass: inetOrgPerson\ncn: Ivy Chen\nsn: Chen\nuid: ivy\nuserPassword: x\n\n" +
		"dn: cn=ops," + ldaptest.GroupsDN + "\nobjectClass: groupOfNames\ncn: ops\nmember: cn=Ivy Chen," + ldaptest.UsersDN +
		"\nmember: uid=gone," + ldaptest.UsersDN + "\nmember: cn=Nobody," + ldaptest.UsersDN + "\n"); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "ops"})
	if fmt.Sprint(out["members"]) != "[cn=Nobody,ou=people,dc=example,dc=org gone ivy]" {
		t.Errorf("ops: %v", out["members"])
	}
	out = mustRun(t, p, s, "list_grants", map[string]any{"user": "ivy", "backend": "directory"})
	if grantsOf(out) != "directory/ops" {
		t.Errorf("ivy: %s", grantsOf(out))
	}
	for _, user := range []string{"ivy", "gone"} {
		if out := mustRun(t, p, s, "revoke", map[string]any{"backend": "directory", "group": "ops", "user": user}); out["changed"] != true {
			t.Errorf("revoke %s: %v", user, out)
		}
	}
	e, _ := s.Entry(ldaptest.GroupDN("ops"))
	if fmt.Sprint(e["member"]) != "[cn=Nobody,ou=people,dc=example,dc=org]" {
		t.Errorf("ops holds %q", e["member"])
	}
}

// TestLDAPDisabledAttribute: with disabled_attribute, disabling sets it
// (and removes the password), and it alone says an account is disabled.
func TestLDAPDisabledAttribute(t *testing.T) {
	s := startDirectory(t, ldaptest.GroupOfNames)
	p := ldapPlugin(t, s, "disabled_attribute", "employeeType", "disabled_value", "disabled")
	if out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "gina"}); out["changed"] != true {
		t.Errorf("disable: %v", out)
	}
	e, _ := s.Entry(ldaptest.UserDN("gina"))
	if fmt.Sprint(e["employeeType"]) != "[disabled]" || e["userPassword"] != nil {
		t.Errorf("gina: %v", e)
	}
	out := mustRun(t, p, s, "list_grants", map[string]any{"user": "gina", "backend": "directory"})
	if accountsOf(out) != "directory(ldap):gina exists=true disabled=true" {
		t.Errorf("gina: %s", accountsOf(out))
	}
	_, _, err := run(t, p, s, "grant", map[string]any{"backend": "directory", "group": "vpn", "user": "gina"})
	sdktest.WantError(t, err, "account_disabled", false, "the account gina on directory is disabled (employeeType: disabled): enable it before granting it access")
	// hal has no password but no employeeType either: not disabled by
	// this directory's rule.
	out = mustRun(t, p, s, "list_grants", map[string]any{"user": "hal", "backend": "directory"})
	if accountsOf(out) != "directory(ldap):hal exists=true disabled=false" {
		t.Errorf("hal: %s", accountsOf(out))
	}
	if out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "hal"}); out["changed"] != true {
		t.Errorf("disable hal: %v", out)
	}
}

// TestLDAPS: ldaps:// with the CA, and plain ldap:// to 127.0.0.1.
func TestLDAPS(t *testing.T) {
	s := startDirectory(t, ldaptest.PosixGroup)
	for _, kv := range [][]any{
		{"url", s.LDAPSURL, "start_tls", nil},
		{"start_tls", nil, "ca_file", nil},
	} {
		p := ldapPlugin(t, s, kv...)
		out := mustRun(t, p, s, "list_members", map[string]any{"backend": "directory", "group": "support"})
		if fmt.Sprint(out["members"]) != "[carla eve]" {
			t.Errorf("%v: %v", kv, out)
		}
	}
}
