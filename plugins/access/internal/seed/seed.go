// Package seed holds the fixtures of the access plugin: the accounts and
// groups its sandbox starts with, which package ldaptest also writes into
// a real directory so that the same runbooks run against both.
package seed

// Account is a person's account on a backend.
type Account struct {
	Name     string // uid on a directory, login on GitHub
	FullName string
	Disabled bool // the account cannot log in (a directory account without a password)
	// SSHKeys are the account's SSH public keys in the directory (LDAP
	// sshPublicKey, openssh-lpk schema), which sshd can ask for with an
	// AuthorizedKeysCommand: a login that needs no password.
	SSHKeys []string
}

// Group is a group (a GitHub team) and its members, by account name.
type Group struct {
	Name        string
	Description string
	Members     []string
	// ReadOnly marks the sandbox's fixture that refuses every grant, to
	// show a runbook's compensation.
	ReadOnly bool
}

// Seed names, as the sandbox settings spell them.
const (
	Directory = "directory"
	GitHub    = "github"
)

// Names are the seeds, in the order the docs list them.
var Names = []string{Directory, GitHub}

// ReadOnlyGroup is the directory seed's group that refuses grants.
const ReadOnlyGroup = "legacy-vpn"

var people = []Account{
	{Name: "ana", FullName: "Ana Lima"},
	{Name: "ben", FullName: "Ben Okafor", SSHKeys: []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINwZESFnfYyccSTMGJusS2y6as1mkLKkdfmhGz6wz8sL ben@laptop",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICZN/qzP3Hrixg5gLsWjL43h+7XK5MWnu6sBN5sVv7/L ben@workstation",
	}},
	{Name: "carla", FullName: "Carla Rossi"},
	{Name: "dmitri", FullName: "Dmitri Volkov", SSHKeys: []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtRth7+z7nGtFuBORNsNdgGxhiOu+x+UOaJ9SUwSeQH dmitri@laptop",
	}},
	{Name: "eve", FullName: "Eve Martin"},
	{Name: "frank", FullName: "Frank Meyer"},
	{Name: "gina", FullName: "Gina Park"},
	{Name: "hal", FullName: "Hal Jordan", Disabled: true},
}

// Accounts returns a seed's accounts, in a fresh slice: the directory has
// ana to gina and hal (disabled), ben and dmitri with SSH public keys;
// GitHub has the logins ana to gina (an organization holds no SSH keys).
func Accounts(name string) []Account {
	var out []Account
	switch name {
	case Directory:
		out = append(out, people...)
	case GitHub:
		out = append(out, people[:7]...)
	}
	for i := range out {
		if name == Directory {
			out[i].SSHKeys = append([]string(nil), out[i].SSHKeys...)
		} else {
			out[i].SSHKeys = nil
		}
	}
	return out
}

// Groups returns a seed's groups and their members, in a fresh slice.
func Groups(name string) []Group {
	var gs []Group
	switch name {
	case Directory:
		gs = []Group{
			{Name: "engineering", Description: "Product engineers", Members: []string{"ana", "ben"}},
			{Name: "vpn", Description: "VPN access", Members: []string{"ana", "ben", "carla", "dmitri"}},
			{Name: "support", Description: "Support specialists", Members: []string{"carla", "eve"}},
			{Name: "prod-admins", Description: "Administrators of production", Members: []string{"ben", "dmitri", "frank"}},
			{Name: "payments-admins", Description: "Administrators of the payments provider", Members: []string{"eve"}},
			{Name: "finance", Description: "Finance team"},
			{Name: ReadOnlyGroup, Description: "The old VPN, read-only", ReadOnly: true},
		}
	case GitHub:
		gs = []Group{
			{Name: "backend", Description: "Backend engineers", Members: []string{"ana", "ben"}},
			{Name: "sre", Description: "Site reliability", Members: []string{"ben", "dmitri"}},
			{Name: "support", Description: "Support specialists", Members: []string{"carla", "eve"}},
			{Name: "admins", Description: "Organization administrators", Members: []string{"ben", "frank"}},
		}
	}
	for i := range gs {
		gs[i].Members = append([]string(nil), gs[i].Members...)
	}
	return gs
}
