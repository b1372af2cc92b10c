package main

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/stewardhq/steward/plugins/access/internal/seed"
	"github.com/stewardhq/steward/plugins/sdk"
)

// The sandbox answers from a seed (package seed: the directory's people
// and groups, or the GitHub organization's logins and teams), in memory:
// what runbooks grant, revoke and disable changes it for as long as the
// plugin process lives, and a new process starts from the seed again. It
// needs no network. docs/plugins-access.md has the tables.

// sandbox is the sandbox backend.
type sandbox struct {
	name string // the backend's name, for messages
	seed string

	mu       sync.Mutex
	accounts map[string]*seed.Account
	groups   map[string]*sandboxGroup
}

type sandboxGroup struct {
	members  map[string]bool
	readOnly bool
}

func newSandbox(name, seedName string) *sandbox {
	s := &sandbox{name: name, seed: seedName, accounts: map[string]*seed.Account{}, groups: map[string]*sandboxGroup{}}
	for _, a := range seed.Accounts(seedName) {
		s.accounts[a.Name] = &a
	}
	for _, g := range seed.Groups(seedName) {
		sg := &sandboxGroup{members: map[string]bool{}, readOnly: g.ReadOnly}
		for _, m := range g.Members {
			sg.members[m] = true
		}
		s.groups[g.Name] = sg
	}
	return s
}

// where says which sandbox, for messages.
func (s *sandbox) where() string { return s.name + " (sandbox, seed " + s.seed + ")" }

func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

// group returns a group; s.mu is held.
func (s *sandbox) group(name string) (*sandboxGroup, error) {
	if g, ok := s.groups[name]; ok {
		return g, nil
	}
	return nil, sdk.Error(codeNotFound, "no group %s on %s: it has %s", name, s.where(), sortedKeys(s.groups))
}

// account returns an account; s.mu is held.
func (s *sandbox) account(name string) (*seed.Account, error) {
	if a, ok := s.accounts[name]; ok {
		return a, nil
	}
	return nil, sdk.Error(codeNotFound, "no account %s on %s: it has %s", name, s.where(), sortedKeys(s.accounts))
}

func (s *sandbox) lookup(ctx context.Context, call *sdk.Call, account string) (accountState, []string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[account]
	if !ok {
		return accountState{}, nil, nil
	}
	var groups []string
	for name, g := range s.groups {
		if g.members[account] {
			groups = append(groups, name)
		}
	}
	return accountState{exists: true, disabled: a.Disabled, sshKeys: len(a.SSHKeys)}, groups, nil
}

func (s *sandbox) members(ctx context.Context, call *sdk.Call, group string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(group)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for m := range g.members {
		out = append(out, m)
	}
	return out, nil
}

func (s *sandbox) grant(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(group)
	if err != nil {
		return false, err
	}
	a, err := s.account(account)
	if err != nil {
		return false, err
	}
	switch {
	case g.members[account]:
		return false, nil
	case a.Disabled:
		return false, sdk.Error(codeAccountDisabled, "the account %s on %s is disabled: enable it before granting it access", account, s.name)
	case g.readOnly:
		return false, sdk.Error(codeBackendError, "the sandbox's %s group is read-only: a fixture to show compensation", group)
	}
	g.members[account] = true
	return true, nil
}

func (s *sandbox) revoke(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.group(group)
	if err != nil {
		return false, err
	}
	if _, ok := s.accounts[account]; !ok {
		call.Warnf("no account %s on %s: nothing to revoke", account, s.where())
		return false, nil
	}
	if !g.members[account] {
		return false, nil
	}
	delete(g.members, account)
	return true, nil
}

func (s *sandbox) disable(ctx context.Context, call *sdk.Call, account string) (disableResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.account(account)
	if err != nil {
		return disableResult{}, err
	}
	if a.Disabled && len(a.SSHKeys) == 0 {
		return disableResult{}, nil
	}
	r := disableResult{changed: true, sshKeys: len(a.SSHKeys)}
	a.Disabled, a.SSHKeys = true, nil
	return r, nil
}
