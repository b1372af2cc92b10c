package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/access/internal/seed"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// members lists a group's members through the plugin.
func members(t *testing.T, p *sdktest.Plugin, backend, group string) string {
	t.Helper()
	out, _, err := p.Execute("list_members", map[string]any{"backend": backend, "group": group})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(out["members"])
}

// TestSandboxSeeds: every group of both seeds, as list_members sees it.
func TestSandboxSeeds(t *testing.T) {
	p := start(t, nil)
	var got []string
	for _, backend := range []string{"directory", "github"} {
		for _, g := range seed.Groups(backend) {
			out, logs, err := p.Execute("list_members", map[string]any{"backend": backend, "group": g.Name})
			if err != nil {
				t.Fatal(err)
			}
			if out["backend"] != backend || out["type"] != "sandbox" || out["group"] != g.Name || out["count"] != float64(len(g.Members)) {
				t.Errorf("%s/%s: %v", backend, g.Name, out)
			}
			if logs[0].Message != "listing the members of "+g.Name+" on "+backend+" (sandbox)" {
				t.Errorf("logs %v", logs)
			}
			got = append(got, fmt.Sprintf("%s/%s%v", backend, g.Name, out["members"]))
		}
	}
	want := "directory/engineering[ana ben] directory/vpn[ana ben carla dmitri] directory/support[carla eve] " +
		"directory/prod-admins[ben dmitri frank] directory/payments-admins[eve] directory/finance[] directory/legacy-vpn[] " +
		"github/backend[ana ben] github/sre[ben dmitri] github/support[carla eve] github/admins[ben frank]"
	if strings.Join(got, " ") != want {
		t.Errorf("groups\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	_, _, err := p.Execute("list_members", map[string]any{"backend": "directory", "group": "admins"})
	sdktest.WantError(t, err, "not_found", false,
		"no group admins on directory (sandbox, seed directory): it has engineering, finance, legacy-vpn, payments-admins, prod-admins, support, vpn")
	_, _, err = p.Execute("list_members", map[string]any{"backend": "githb", "group": "sre"})
	sdktest.WantError(t, err, "invalid_request", false, `no backend "githb": did you mean "github"? the configured backends are directory, github`)
}

func TestSandboxListGrants(t *testing.T) {
	p := start(t, nil)
	out, logs, err := p.Execute("list_grants", map[string]any{"user": "ben"})
	if err != nil {
		t.Fatal(err)
	}
	if got := grantsOf(out); got != "directory/engineering directory/prod-admins directory/vpn github/admins github/backend github/sre" {
		t.Errorf("grants %s", got)
	}
	if out["count"] != float64(6) || out["user"] != "ben" || fmt.Sprint(out["backends"]) != "[directory github]" {
		t.Errorf("out %v", out)
	}
	g := out["grants"].([]any)[0].(map[string]any)
	if fmt.Sprint(g) != "map[account:ben backend:directory group:engineering type:sandbox]" {
		t.Errorf("grant %v", g)
	}
	if fmt.Sprint(logs) != "[{info looking up ben on directory (sandbox)} {info directory: ben is in 3 groups} {info looking up ben on github (sandbox)} {info github: ben is in 3 groups}]" {
		t.Errorf("logs %v", logs)
	}

	// hal exists only in the directory, disabled.
	out, _, err = p.Execute("list_grants", map[string]any{"user": "hal"})
	if err != nil {
		t.Fatal(err)
	}
	if got := accountsOf(out); got != "directory(sandbox):hal exists=true disabled=true github(sandbox):hal exists=false disabled=false" || out["count"] != float64(0) {
		t.Errorf("accounts %s, %v", got, out)
	}

	// One backend; an account named otherwise on a backend.
	out, _, err = p.Execute("list_grants", map[string]any{"user": "carla.rossi", "backend": "github", "accounts": map[string]any{"github": "carla", "directory": "carla"}})
	if err != nil {
		t.Fatal(err)
	}
	if grantsOf(out) != "github/support" || accountsOf(out) != "github(sandbox):carla exists=true disabled=false" || fmt.Sprint(out["backends"]) != "[github]" {
		t.Errorf("%s %s", grantsOf(out), accountsOf(out))
	}
	out, _, err = p.Execute("list_grants", map[string]any{"user": "carla.rossi", "accounts": map[string]any{"github": "carla", "directory": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if accountsOf(out) != "directory(sandbox):carla.rossi exists=false disabled=false github(sandbox):carla exists=true disabled=false" {
		t.Errorf("%s", accountsOf(out))
	}

	for _, c := range []struct {
		with       map[string]any
		code, want string
	}{
		{map[string]any{"user": "zoe"}, "not_found", "no account zoe on any backend (directory, github)"},
		{map[string]any{"user": "zoe", "accounts": map[string]any{"github": "zoe-gh"}}, "not_found", "no account zoe on any backend (directory, github as zoe-gh)"},
		{map[string]any{"user": "hal", "backend": "github"}, "not_found", "no account hal on any backend (github)"},
		{map[string]any{"user": "ana", "backend": "ldap"}, "invalid_request", `no backend "ldap": the configured backends are directory, github`},
		{map[string]any{"user": "ana", "accounts": map[string]any{"gitlab": "ana"}}, "invalid_request",
			`with.accounts: no backend "gitlab": did you mean "github"? the configured backends are directory, github`},
		// Of several, the first by name (not in the map's order).
		{map[string]any{"user": "ana", "accounts": map[string]any{"zeta": "ana", "okta": "ana", "ldap": "ana", "azure": "ana"}}, "invalid_request",
			`with.accounts: no backend "azure": the configured backends are directory, github`},
		{map[string]any{"user": " ana"}, "invalid_request", `with.user must be a name of 1 to 256 characters, without control characters or surrounding spaces, got " ana"`},
		{map[string]any{"user": "ana", "accounts": map[string]any{"github": "a\nb"}}, "invalid_request",
			`with.accounts.github must be a name of 1 to 256 characters, without control characters or surrounding spaces, got "a\nb"`},
	} {
		_, _, err := p.Execute("list_grants", c.with)
		sdktest.WantError(t, err, c.code, false, c.want)
	}
	_, _, err = p.Execute("list_grants", map[string]any{})
	sdktest.WantError(t, err, "invalid_input", false, `with: missing required field "user"`)
}

// TestSandboxChanges: grant, revoke and disable change the sandbox, once;
// doing it again changes nothing and succeeds.
func TestSandboxChanges(t *testing.T) {
	p := start(t, nil)
	change := func(action string, with map[string]any, changed bool) []sdktest.Log {
		t.Helper()
		out, logs, err := p.Execute(action, with)
		if err != nil {
			t.Fatalf("%s %v: %v", action, with, err)
		}
		if out["changed"] != changed || out["backend"] != with["backend"] || out["type"] != "sandbox" || out["user"] != with["user"] {
			t.Errorf("%s %v: %v, want changed %v", action, with, out, changed)
		}
		return logs
	}
	grant := map[string]any{"backend": "directory", "group": "prod-admins", "user": "ana"}
	logs := change("grant", grant, true)
	if fmt.Sprint(logs) != "[{info adding ana to prod-admins on directory (sandbox)} {info ana is now in prod-admins}]" {
		t.Errorf("logs %v", logs)
	}
	logs = change("grant", grant, false)
	if logs[1].Message != "ana was already in prod-admins: nothing to do" {
		t.Errorf("logs %v", logs)
	}
	if got := members(t, p, "directory", "prod-admins"); got != "[ana ben dmitri frank]" {
		t.Errorf("prod-admins %s", got)
	}
	change("grant", map[string]any{"backend": "directory", "group": "finance", "user": "gina"}, true)
	if got := members(t, p, "directory", "finance"); got != "[gina]" {
		t.Errorf("finance %s", got)
	}
	change("grant", map[string]any{"backend": "github", "group": "sre", "user": "eve"}, true)

	revoke := map[string]any{"backend": "directory", "group": "prod-admins", "user": "dmitri"}
	logs = change("revoke", revoke, true)
	if fmt.Sprint(logs) != "[{info removing dmitri from prod-admins on directory (sandbox)} {info dmitri is no longer in prod-admins}]" {
		t.Errorf("logs %v", logs)
	}
	logs = change("revoke", revoke, false)
	if logs[1].Message != "dmitri was not in prod-admins: nothing to do" {
		t.Errorf("logs %v", logs)
	}
	// A person who is gone: offboarding converges.
	logs = change("revoke", map[string]any{"backend": "github", "group": "admins", "user": "zoe"}, false)
	if fmt.Sprint(logs) != "[{info removing zoe from admins on github (sandbox)} {warn no account zoe on github (sandbox, seed github): nothing to revoke} {info zoe was not in admins: nothing to do}]" {
		t.Errorf("logs %v", logs)
	}
	if got := members(t, p, "directory", "prod-admins"); got != "[ana ben frank]" {
		t.Errorf("prod-admins %s", got)
	}

	disable := map[string]any{"backend": "directory", "user": "frank"}
	logs = change("disable_account", disable, true)
	if fmt.Sprint(logs) != "[{info disabling frank on directory (sandbox)} {info frank is disabled}]" {
		t.Errorf("logs %v", logs)
	}
	logs = change("disable_account", disable, false)
	if logs[1].Message != "frank was already disabled: nothing to do" {
		t.Errorf("logs %v", logs)
	}
	change("disable_account", map[string]any{"backend": "directory", "user": "hal"}, false)
	out, _, err := p.Execute("list_grants", map[string]any{"user": "frank"})
	if err != nil {
		t.Fatal(err)
	}
	// Disabling keeps the memberships: revoke them.
	if accountsOf(out) != "directory(sandbox):frank exists=true disabled=true github(sandbox):frank exists=true disabled=false" ||
		grantsOf(out) != "directory/prod-admins github/admins" {
		t.Errorf("%s %s", accountsOf(out), grantsOf(out))
	}
	change("revoke", map[string]any{"backend": "directory", "group": "prod-admins", "user": "frank"}, true)

	// A new process starts from the seed again.
	p = start(t, nil)
	if got := members(t, p, "directory", "prod-admins"); got != "[ben dmitri frank]" {
		t.Errorf("a fresh plugin's prod-admins %s", got)
	}
}

func TestSandboxErrors(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		action     string
		with       map[string]any
		code, want string
	}{
		{"grant", map[string]any{"backend": "directory", "group": "vpn", "user": "zoe"}, "not_found",
			"no account zoe on directory (sandbox, seed directory): it has ana, ben, carla, dmitri, eve, frank, gina, hal"},
		{"grant", map[string]any{"backend": "github", "group": "vpn", "user": "ana"}, "not_found",
			"no group vpn on github (sandbox, seed github): it has admins, backend, sre, support"},
		{"grant", map[string]any{"backend": "directory", "group": "vpn", "user": "hal"}, "account_disabled",
			"the account hal on directory is disabled: enable it before granting it access"},
		{"grant", map[string]any{"backend": "directory", "group": "legacy-vpn", "user": "ana"}, "backend_error",
			"the sandbox's legacy-vpn group is read-only: a fixture to show compensation"},
		{"grant", map[string]any{"backend": "directory", "group": "", "user": "ana"}, "invalid_request",
			`with.group must be a name of 1 to 256 characters, without control characters or surrounding spaces, got ""`},
		{"grant", map[string]any{"backend": "okta", "group": "vpn", "user": "ana"}, "invalid_request",
			`no backend "okta": the configured backends are directory, github`},
		{"revoke", map[string]any{"backend": "directory", "group": "admins", "user": "ana"}, "not_found",
			"no group admins on directory (sandbox, seed directory): it has engineering, finance, legacy-vpn, payments-admins, prod-admins, support, vpn"},
		{"disable_account", map[string]any{"backend": "github", "user": "hal"}, "not_found",
			"no account hal on github (sandbox, seed github): it has ana, ben, carla, dmitri, eve, frank, gina"},
		{"disable_account", map[string]any{"backend": "github", "user": "a\tb"}, "invalid_request",
			`with.user must be a name of 1 to 256 characters, without control characters or surrounding spaces, got "a\tb"`},
	} {
		_, _, err := p.Execute(c.action, c.with)
		sdktest.WantError(t, err, c.code, false, c.want)
	}
	// A mutating action does not run in a dry-run; nothing changed.
	_, _, err := p.Execute("grant", map[string]any{"backend": "directory", "group": "vpn", "user": "eve"}, sdktest.DryRun())
	sdktest.WantErrorContaining(t, err, "dry_run", false)
	if got := members(t, p, "directory", "vpn"); got != "[ana ben carla dmitri]" {
		t.Errorf("vpn %s", got)
	}
}
