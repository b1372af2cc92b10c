package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/schema/didyoumean"
)

// Error codes of docs/plugins-access.md.
const (
	codeNotFound        = "not_found"
	codeAccountDisabled = "account_disabled"
	codeInvalidPolicy   = "invalid_policy"
	codeUnknownRole     = "unknown_role"
	codeInvalidRoster   = "invalid_roster"
	codeBackendError    = "backend_error"
	codeConnection      = "connection"
	codeAuthFailed      = "auth_failed"
	codeTLS             = "tls"
	codeInvalidRequest  = "invalid_request"
)

// ListGrantsInput is the with of access.list_grants.
type ListGrantsInput struct {
	User     string            `json:"user" desc:"the person's account name, used on every backend unless accounts says otherwise"`
	Backend  string            `json:"backend,omitempty" desc:"only this backend (default: every configured backend, in name order)"`
	Accounts map[string]string `json:"accounts,omitempty" desc:"the person's account on some backends, by backend name, where it is not user"`
}

// Grant is a membership of an account in a group.
type Grant struct {
	Backend string `json:"backend"`
	Type    string `json:"type" enum:"sandbox,ldap,github"`
	Group   string `json:"group"`
	Account string `json:"account"`
}

// Account is what a backend knows of a person's account.
type Account struct {
	Backend  string `json:"backend"`
	Type     string `json:"type" enum:"sandbox,ldap,github"`
	Account  string `json:"account"`
	Exists   bool   `json:"exists" desc:"the account exists (GitHub: the login is a member of the organization, active or invited)"`
	Disabled bool   `json:"disabled" desc:"the account exists and cannot log in with a password (LDAP: no password, or disabled_attribute says so; the sandbox: disabled; GitHub: never)"`
	SSHKeys  int    `json:"ssh_keys" desc:"SSH public keys the backend holds for the account (LDAP sshPublicKey), each a login without password; 0 on GitHub"`
}

// ListGrantsOutput is what access.list_grants returns.
type ListGrantsOutput struct {
	User     string    `json:"user"`
	Backends []string  `json:"backends" desc:"the backends asked, in name order"`
	Grants   []Grant   `json:"grants" desc:"sorted by backend, then group"`
	Accounts []Account `json:"accounts" desc:"one per backend asked, in name order"`
	Count    int       `json:"count" desc:"how many grants"`
}

// listGrants is access.list_grants: read-only.
func (a *access) listGrants(ctx context.Context, call *sdk.Call, in ListGrantsInput) (ListGrantsOutput, error) {
	if err := checkName("user", in.User); err != nil {
		return ListGrantsOutput{}, err
	}
	targets := a.names
	if in.Backend != "" {
		b, err := a.backend(in.Backend)
		if err != nil {
			return ListGrantsOutput{}, err
		}
		targets = []string{b.name}
	}
	for _, name := range slices.Sorted(maps.Keys(in.Accounts)) {
		account := in.Accounts[name]
		if _, err := a.backend(name); err != nil {
			return ListGrantsOutput{}, fmt.Errorf("with.accounts: %w", err)
		}
		if account != "" {
			if err := checkName("accounts."+name, account); err != nil {
				return ListGrantsOutput{}, err
			}
		}
	}
	out := ListGrantsOutput{User: in.User, Backends: targets, Grants: []Grant{}, Accounts: []Account{}}
	var asked []string
	for _, name := range targets {
		b := a.backends[name]
		account := in.User
		if v := in.Accounts[name]; v != "" {
			account = v
		}
		call.Infof("looking up %s on %s (%s)", account, b.name, b.typ)
		st, groups, err := b.impl.lookup(ctx, call, account)
		if err != nil {
			return ListGrantsOutput{}, err
		}
		out.Accounts = append(out.Accounts, Account{Backend: b.name, Type: b.typ, Account: account, Exists: st.exists, Disabled: st.disabled, SSHKeys: st.sshKeys})
		slices.Sort(groups)
		for _, g := range groups {
			out.Grants = append(out.Grants, Grant{Backend: b.name, Type: b.typ, Group: g, Account: account})
		}
		switch {
		case !st.exists:
			call.Infof("%s: no account %s", b.name, account)
		case st.disabled:
			call.Infof("%s: %s is disabled, in %d groups", b.name, account, len(groups))
		default:
			call.Infof("%s: %s is in %d groups", b.name, account, len(groups))
		}
		if account == in.User {
			asked = append(asked, name)
		} else {
			asked = append(asked, name+" as "+account)
		}
	}
	out.Count = len(out.Grants)
	// Nobody there: most likely a typo. (Memberships a deleted account left
	// behind, as posixGroup's memberUid can, are worth seeing all the same.)
	if !slices.ContainsFunc(out.Accounts, func(a Account) bool { return a.Exists }) && out.Count == 0 {
		return ListGrantsOutput{}, sdk.Error(codeNotFound, "no account %s on any backend (%s)", in.User, strings.Join(asked, ", "))
	}
	return out, nil
}

// ListMembersInput is the with of access.list_members.
type ListMembersInput struct {
	Backend string `json:"backend" desc:"the backend's name"`
	Group   string `json:"group" desc:"the group: an LDAP cn, a GitHub team slug"`
}

// ListMembersOutput is what access.list_members returns.
type ListMembersOutput struct {
	Backend string   `json:"backend"`
	Type    string   `json:"type" enum:"sandbox,ldap,github"`
	Group   string   `json:"group"`
	Members []string `json:"members" desc:"account names, sorted"`
	Count   int      `json:"count"`
}

// listMembers is access.list_members: read-only.
func (a *access) listMembers(ctx context.Context, call *sdk.Call, in ListMembersInput) (ListMembersOutput, error) {
	b, err := a.backend(in.Backend)
	if err != nil {
		return ListMembersOutput{}, err
	}
	if err := checkName("group", in.Group); err != nil {
		return ListMembersOutput{}, err
	}
	call.Infof("listing the members of %s on %s (%s)", in.Group, b.name, b.typ)
	members, err := b.impl.members(ctx, call, in.Group)
	if err != nil {
		return ListMembersOutput{}, err
	}
	members = slices.Compact(slices.Sorted(slices.Values(members)))
	if members == nil {
		members = []string{}
	}
	call.Infof("%s has %d members", in.Group, len(members))
	return ListMembersOutput{Backend: b.name, Type: b.typ, Group: in.Group, Members: members, Count: len(members)}, nil
}

// MembershipInput is the with of access.grant and access.revoke.
type MembershipInput struct {
	Backend string `json:"backend" desc:"the backend's name"`
	Group   string `json:"group" desc:"the group: an LDAP cn, a GitHub team slug"`
	User    string `json:"user" desc:"the account on that backend: an LDAP uid, a GitHub login"`
}

// MembershipOutput is what access.grant and access.revoke return.
type MembershipOutput struct {
	Backend string `json:"backend"`
	Type    string `json:"type" enum:"sandbox,ldap,github"`
	Group   string `json:"group"`
	User    string `json:"user"`
	Changed bool   `json:"changed" desc:"false when there was nothing to do"`
}

// grant is access.grant: it mutates, idempotently.
func (a *access) grant(ctx context.Context, call *sdk.Call, in MembershipInput) (MembershipOutput, error) {
	b, err := a.membership(in)
	if err != nil {
		return MembershipOutput{}, err
	}
	call.Infof("adding %s to %s on %s (%s)", in.User, in.Group, b.name, b.typ)
	changed, err := b.impl.grant(ctx, call, in.Group, in.User)
	if err != nil {
		return MembershipOutput{}, err
	}
	if changed {
		call.Infof("%s is now in %s", in.User, in.Group)
	} else {
		call.Infof("%s was already in %s: nothing to do", in.User, in.Group)
	}
	return MembershipOutput{Backend: b.name, Type: b.typ, Group: in.Group, User: in.User, Changed: changed}, nil
}

// revoke is access.revoke: it mutates, idempotently.
func (a *access) revoke(ctx context.Context, call *sdk.Call, in MembershipInput) (MembershipOutput, error) {
	b, err := a.membership(in)
	if err != nil {
		return MembershipOutput{}, err
	}
	call.Infof("removing %s from %s on %s (%s)", in.User, in.Group, b.name, b.typ)
	changed, err := b.impl.revoke(ctx, call, in.Group, in.User)
	if err != nil {
		return MembershipOutput{}, err
	}
	if changed {
		call.Infof("%s is no longer in %s", in.User, in.Group)
	} else {
		call.Infof("%s was not in %s: nothing to do", in.User, in.Group)
	}
	return MembershipOutput{Backend: b.name, Type: b.typ, Group: in.Group, User: in.User, Changed: changed}, nil
}

func (a *access) membership(in MembershipInput) (*configured, error) {
	b, err := a.backend(in.Backend)
	if err != nil {
		return nil, err
	}
	if err := checkName("group", in.Group); err != nil {
		return nil, err
	}
	if err := checkName("user", in.User); err != nil {
		return nil, err
	}
	return b, nil
}

// DisableInput is the with of access.disable_account.
type DisableInput struct {
	Backend string `json:"backend" desc:"the backend's name"`
	User    string `json:"user" desc:"the account on that backend: an LDAP uid, a GitHub login"`
}

// DisableOutput is what access.disable_account returns.
type DisableOutput struct {
	Backend string `json:"backend"`
	Type    string `json:"type" enum:"sandbox,ldap,github"`
	User    string `json:"user"`
	Changed bool   `json:"changed" desc:"false when the account already could not log in and had no SSH public key"`
	// SSHKeysRemoved counts the sshPublicKey values deleted.
	SSHKeysRemoved int `json:"ssh_keys_removed" desc:"SSH public keys removed (LDAP sshPublicKey)"`
	// Sessions says what ends and what does not: a directory holds no
	// session of the systems that trust it.
	Sessions string `json:"sessions" desc:"which sessions the backend ended and which it cannot: say it to whoever must end them"`
}

// disableAccount is access.disable_account: it mutates, idempotently.
func (a *access) disableAccount(ctx context.Context, call *sdk.Call, in DisableInput) (DisableOutput, error) {
	b, err := a.backend(in.Backend)
	if err != nil {
		return DisableOutput{}, err
	}
	if err := checkName("user", in.User); err != nil {
		return DisableOutput{}, err
	}
	call.Infof("disabling %s on %s (%s)", in.User, b.name, b.typ)
	r, err := b.impl.disable(ctx, call, in.User)
	if err != nil {
		return DisableOutput{}, err
	}
	if r.changed {
		call.Infof("%s is disabled", in.User)
	} else {
		call.Infof("%s was already disabled: nothing to do", in.User)
	}
	out := DisableOutput{Backend: b.name, Type: b.typ, User: in.User, Changed: r.changed, SSHKeysRemoved: r.sshKeys, Sessions: sessions(b.typ, in.User)}
	return out, nil
}

// sessions says, for a disabled account, which sessions its backend ends
// and which it cannot.
func sessions(typ, user string) string {
	switch typ {
	case "ldap":
		return fmt.Sprintf("the directory now refuses every new login as %s that asks it (a bind: no password; sshd: no SSH public key), "+
			"but it holds no session of the systems that trust it: sessions already open there (an SSH shell, a VPN tunnel, "+
			"a web single sign-on session) go on until they end or those systems end them", user)
	case "github":
		return fmt.Sprintf("%s is out of the organization: GitHub refuses its sessions, tokens and SSH keys access to the organization's "+
			"repositories from now on", user)
	}
	return "sandbox: no real sessions"
}

// backend returns the configured backend named name.
func (a *access) backend(name string) (*configured, error) {
	if b, ok := a.backends[name]; ok {
		return b, nil
	}
	hint := ""
	if s := didyoumean.Suggest(name, a.names); s != "" {
		hint = fmt.Sprintf(" did you mean %q?", s)
	}
	return nil, sdk.Error(codeInvalidRequest, "no backend %q:%s the configured backends are %s", name, hint, strings.Join(a.names, ", "))
}

// checkName refuses an account or group name that no backend could hold:
// empty, longer than 256 characters, with control characters or
// surrounding spaces.
func checkName(field, v string) error {
	bad := v == "" || len(v) > 256 || strings.TrimSpace(v) != v || strings.ContainsFunc(v, unicode.IsControl)
	if bad {
		return sdk.Error(codeInvalidRequest, "with.%s must be a name of 1 to 256 characters, without control characters or surrounding spaces, got %q", field, v)
	}
	return nil
}
