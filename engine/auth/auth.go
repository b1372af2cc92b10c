// Package auth says who makes a request to `steward serve` and what they
// may do: roles granted per runbook glob, and the principal a request
// carries in its context. Tokens (tokens.go) turn a bearer token into a
// principal.
package auth

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// Role is what a principal may do, each role including the ones before
// it: a viewer reads, an operator runs, an approver decides approvals, an
// author manages runbooks and schedules, an admin manages tokens.
type Role int

const (
	None Role = iota
	Viewer
	Operator
	Approver
	Author
	Admin
)

var roleNames = []string{"none", "viewer", "operator", "approver", "author", "admin"}

// Roles lists the role names, lowest first.
func Roles() []string { return roleNames[1:] }

func (r Role) String() string {
	if r < None || int(r) >= len(roleNames) {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	for i, n := range roleNames[1:] {
		if s == n {
			return Role(i + 1), nil
		}
	}
	return None, fmt.Errorf("auth: unknown role %q: want one of %s", s, strings.Join(Roles(), ", "))
}

// Grant gives a role on the runbooks whose name matches a glob
// (path.Match syntax; "*" or "" is every runbook).
type Grant struct {
	Role     Role
	Runbooks string
}

// Matches says whether the grant covers the runbook; runbook "" asks for
// a role on the service as a whole (the runs list, the audit), which only
// a grant on every runbook gives.
func (g Grant) Matches(runbook string) bool {
	if g.Runbooks == "" || g.Runbooks == "*" {
		return true
	}
	if runbook == "" {
		return false
	}
	ok, err := path.Match(g.Runbooks, runbook)
	return err == nil && ok
}

// Principal is who makes a request: the subject recorded as the actor of
// what they do, and the roles they hold.
type Principal struct {
	// Subject is the actor: a token's subject, a person's login.
	Subject string
	// Via says how they were authenticated: "token NAME", "oidc".
	Via    string
	Grants []Grant
}

// Role is the highest role p holds on runbook ("" for the service as a
// whole).
func (p Principal) Role(runbook string) Role {
	best := None
	for _, g := range p.Grants {
		if g.Role > best && g.Matches(runbook) {
			best = g.Role
		}
	}
	return best
}

// Can says whether p holds at least role on runbook.
func (p Principal) Can(role Role, runbook string) bool { return p.Role(runbook) >= role }

// ForbiddenError refuses a principal an action: what it needs, on what.
type ForbiddenError struct {
	Subject string
	Need    Role
	Runbook string
	Has     Role
}

func (e *ForbiddenError) Error() string {
	on := "this service"
	if e.Runbook != "" {
		on = "runbook " + e.Runbook
	}
	return fmt.Sprintf("%s needs the %s role on %s, and has %s", e.Subject, e.Need, on, e.Has)
}

// Require returns a *ForbiddenError unless p holds role on runbook.
func (p Principal) Require(role Role, runbook string) error {
	if has := p.Role(runbook); has < role {
		return &ForbiddenError{Subject: p.Subject, Need: role, Runbook: runbook, Has: has}
	}
	return nil
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal ctx carries.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
