package main

import (
	"fmt"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"strings"
	"testing"
)

// testPolicy is a policy over the sandbox seeds.
const testPolicy = `version: 1
roles:
  engineer:
    description: Product engineers
    owner: eng-leads
    grants:
      directory: [engineering, vpn]
      github: [backend]
  sre:
    description: Site reliability engineers
    owner: sre-leads
    grants:
      directory: [engineering, vpn, prod-admins]
      github: [backend, sre, admins]
  support:
    owner: support-leads
    grants:
      directory: [support]
      github: [support]
  payments:
    owner: cfo
    grants:
      directory: [payments-admins, finance]
privileged:
  directory: [prod-admins, payments-admins]
  github: [admins, sre]
`

func TestReadPolicy(t *testing.T) {
	p := start(t, nil)
	out, logs, err := p.Execute("read_policy", map[string]any{"policy": testPolicy, "file": "access-policy.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out); got != "map[file:access-policy.yaml privileged:[map[backend:directory group:payments-admins] map[backend:directory group:prod-admins] "+
		"map[backend:github group:admins] map[backend:github group:sre]] role:<nil> roles:[engineer payments sre support]]" {
		t.Errorf("outputs %s", got)
	}
	if fmt.Sprint(logs) != "[{info access-policy.yaml: 4 roles, 4 privileged groups}]" {
		t.Errorf("logs %v", logs)
	}

	out, logs, err = p.Execute("read_policy", map[string]any{"policy": testPolicy, "file": "access-policy.yaml",
		"role": "sre", "user": "dmitri", "accounts": map[string]any{"github": "dvolkov"}})
	if err != nil {
		t.Fatal(err)
	}
	role := out["role"].(map[string]any)
	var grants []string
	for _, g := range role["grants"].([]any) {
		m := g.(map[string]any)
		grants = append(grants, fmt.Sprintf("%s/%s:%s", m["backend"], m["group"], m["user"]))
	}
	if role["name"] != "sre" || role["owner"] != "sre-leads" || role["description"] != "Site reliability engineers" ||
		strings.Join(grants, " ") != "directory/engineering:dmitri directory/prod-admins:dmitri directory/vpn:dmitri github/admins:dvolkov github/backend:dvolkov github/sre:dvolkov" {
		t.Errorf("role %v", role)
	}
	if logs[1].Message != "role sre (owner sre-leads) grants dmitri 6 groups" {
		t.Errorf("logs %v", logs)
	}

	for _, c := range []struct {
		with       map[string]any
		code, want string
	}{
		{map[string]any{"role": "enginer", "user": "ana"}, "unknown_role",
			`role "enginer" is not in access-policy.yaml; did you mean "engineer"? roles: engineer, payments, sre, support`},
		{map[string]any{"role": "ceo", "user": "ana"}, "unknown_role",
			`role "ceo" is not in access-policy.yaml; roles: engineer, payments, sre, support`},
		{map[string]any{"role": "sre"}, "invalid_request", "with.user is required with role: whose accounts should role sre's grants name?"},
	} {
		c.with["policy"], c.with["file"] = testPolicy, "access-policy.yaml"
		_, _, err := p.Execute("read_policy", c.with)
		sdktest.WantError(t, err, c.code, false, c.want)
	}
}

// TestInvalidPolicies: every problem, at FILE:LINE:COL, all at once.
func TestInvalidPolicies(t *testing.T) {
	p := start(t, nil)
	for _, c := range []struct {
		policy, want string
	}{
		{"", "p.yaml:1:1: the policy is empty: start it with version: 1, then roles:"},
		{"version: 1\nroles:\n  engineer:\n    owner: x\n   grants: y\n", "p.yaml:5:4: invalid YAML: did not find expected key"},
		{"version: 1\nroles: [a\n", "p.yaml:2:1: invalid YAML: did not find expected ',' or ']'"},
		{"version: 1\nroles:\n\tengineer: {}\n", "p.yaml:3:1: invalid YAML: found character that cannot start any token"},
		{"- a\n- b\n", "p.yaml:1:1: a policy is a mapping with version, roles and privileged, not a list"},
		{"version: 2\nrole:\n  x: {}\nprivilged: {}\n", `p.yaml:2:1: unknown key "role"; did you mean "roles"? keys: version, roles, privileged, exceptions` + "\n" +
			`p.yaml:4:1: unknown key "privilged"; did you mean "privileged"? keys: version, roles, privileged, exceptions` + "\n" +
			`p.yaml:1:10: version must be 1, got "2"` + "\n" +
			"p.yaml:1:1: missing roles: list the roles, each with an owner and its grants"},
		{"roles: {}\n", "p.yaml:1:1: missing version: start the policy with version: 1\np.yaml:1:8: roles is empty: list at least one role, with an owner and its grants"},
		{`version: 1
roles:
  engineer:
    description: Engineers
    grant:
      directory: [vpn]
  sre:
    owner: ""
    grants: {}
  support:
    owner: support-leads
    grants:
      directroy: [support]
      github: support
      directory: []
  payments:
    owner: [cfo]
    grants:
      directory: [finance, finance, {a: b}]
  ops: [x]
privileged:
  okta: [admins]
  github: [admins]
`, `p.yaml:5:5: roles.engineer: unknown key "grant"; did you mean "grants"? keys: description, owner, grants
p.yaml:3:3: roles.engineer: missing owner: say who approves this role's grants (a person or an approvals group of steward.yaml)
p.yaml:3:3: roles.engineer.grants is empty: list the groups the role grants, by backend (directory: [engineering])
p.yaml:8:12: roles.sre.owner must be a person or an approvals group, not ""
p.yaml:9:13: roles.sre.grants is empty: list the groups the role grants, by backend (directory: [engineering])
p.yaml:13:7: roles.support.grants: backend "directroy" is not configured; did you mean "directory"? configured backends: directory, github
p.yaml:14:15: roles.support.grants.github must be a list of groups ([vpn, engineering]), not a string
p.yaml:15:18: roles.support.grants.directory is empty: list at least one group, or remove directory
p.yaml:17:12: roles.payments.owner must be a person or an approvals group, not a list
p.yaml:19:28: roles.payments.grants.directory: group finance is listed twice
p.yaml:19:37: roles.payments.grants.directory: a group is a name, not a mapping
p.yaml:20:8: roles.ops must be a mapping with owner, grants and description, not a list
p.yaml:22:3: privileged: backend "okta" is not configured; configured backends: directory, github`},
	} {
		_, _, err := p.Execute("read_policy", map[string]any{"policy": c.policy, "file": "p.yaml"})
		sdktest.WantError(t, err, "invalid_policy", false, c.want)
	}
	_, _, err := p.Execute("read_policy", map[string]any{"policy": strings.Repeat("#", 1<<20+1), "file": "p.yaml"})
	sdktest.WantError(t, err, "invalid_policy", false, "p.yaml:1:1: the policy is 1048577 bytes: at most 1048576 are read")
}
