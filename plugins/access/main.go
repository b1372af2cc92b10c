// Command steward-plugin-access lets support specialists and security
// give and take away access, and review it, through runbooks instead of
// admin consoles:
//
//   - access.list_grants lists a person's groups on every backend, and
//     whether their accounts exist and are disabled;
//   - access.list_members lists the members of a group;
//   - access.grant and access.revoke add an account to a group and remove
//     it, idempotently;
//   - access.disable_account makes an account unable to log in;
//   - access.read_policy reads a policy file (roles, what each grants, who
//     approves it, the privileged groups) and what a role grants a person;
//   - access.review checks the members of the privileged groups against
//     an HR roster and the policy: leavers, access beyond the role,
//     accounts nobody in the roster owns.
//
// A backend is an LDAP directory (groupOfNames or posixGroup groups), a
// GitHub organization (teams, through go-github), or a sandbox
// (deterministic fixtures in memory, no network: the default, two of them,
// directory and github). Every output of an action on a backend carries
// the backend's name and type, so that nobody mistakes simulated data for
// real data. docs/plugins-access.md documents the settings, the actions,
// the policy and roster formats, the sandbox seeds and the error codes.
//
// Build it with `go build -o bin/steward-plugin-access ./plugins/access`.
package main

import (
	"context"
	"net/http"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newAccess().plugin() }

// access is the plugin: its settings and the backends they configure.
type access struct {
	settings Settings
	backends map[string]*configured
	names    []string // the backends' names, sorted

	// Tests set this before the plugin is configured: the github
	// backends' transport (http.DefaultTransport's clone when nil).
	transport http.RoundTripper
}

func newAccess() *access { return &access{} }

const version = "1.0.0"

func (a *access) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "access",
		Version:     version,
		Description: "Group memberships on LDAP directories and GitHub organizations (or sandboxes): list, grant, revoke, disable accounts, review against a roster and a policy.",
		Config:      &a.settings,
		Configure:   a.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("list_grants", a.listGrants,
				sdk.Describe("Lists a person's groups on every backend (or one), and whether each account exists and is disabled.")),
			sdk.Action("list_members", a.listMembers,
				sdk.Describe("Lists the members of a group (a GitHub team) on a backend, sorted.")),
			sdk.Action("grant", a.grant,
				sdk.Describe("Adds an account to a group; changed is false when it was already a member."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("revoke", a.revoke,
				sdk.Describe("Removes an account from a group; changed is false when it was not a member, or the account no longer exists."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("disable_account", a.disableAccount,
				sdk.Describe("Makes an account unable to log in (LDAP: no password; GitHub: out of the organization); changed is false when it already was."),
				sdk.Mutates(), sdk.Idempotent()),
			sdk.Action("read_policy", a.readPolicy,
				sdk.Describe("Reads an access policy: its roles, its privileged groups, and what a role grants a person.")),
			sdk.Action("review", a.review,
				sdk.Describe("Reviews the members of privileged groups against a roster and the policy: leavers, access beyond the role, accounts nobody owns.")),
		},
	}
}

// configured is a backend as the settings name it.
type configured struct {
	name string // as the settings and every output say it
	typ  string // sandbox, ldap or github
	impl backend
}

// backend is where groups are. Account and group names are plain
// strings: an LDAP uid and cn, a GitHub login and team slug. Errors are
// made with sdk.Error or sdk.Retryable, with the codes of
// docs/plugins-access.md.
type backend interface {
	// lookup says whether the account exists and is disabled, and the
	// groups it is in (in any order).
	lookup(ctx context.Context, call *sdk.Call, account string) (accountState, []string, error)
	// members returns a group's members (in any order); not_found when
	// there is no such group.
	members(ctx context.Context, call *sdk.Call, group string) ([]string, error)
	// grant adds account to group, and says whether it changed anything.
	grant(ctx context.Context, call *sdk.Call, group, account string) (bool, error)
	// revoke removes account from group, and says whether it changed
	// anything. An account that does not exist is not an error.
	revoke(ctx context.Context, call *sdk.Call, group, account string) (bool, error)
	// disable makes the account unable to log in (and removes its SSH
	// public keys where the backend holds them), and says what it changed.
	disable(ctx context.Context, call *sdk.Call, account string) (disableResult, error)
}

// accountState is what a backend knows of an account.
type accountState struct {
	exists   bool
	disabled bool
	sshKeys  int // SSH public keys the backend holds for it
}

// disableResult is what disable changed.
type disableResult struct {
	changed bool
	sshKeys int // SSH public keys removed
}
