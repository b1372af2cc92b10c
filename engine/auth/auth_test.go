package auth

import (
	"context"
	"testing"
)

func TestRolesAndGrants(t *testing.T) {
	p := Principal{Subject: "ana", Grants: []Grant{{Role: Viewer}, {Role: Approver, Runbooks: "card-*"}, {Role: Operator, Runbooks: "stuck-transaction"}}}
	for _, c := range []struct {
		runbook string
		want    Role
	}{{"card-payment-failure", Approver}, {"stuck-transaction", Operator}, {"onboard-user", Viewer}, {"", Viewer}} {
		if got := p.Role(c.runbook); got != c.want {
			t.Errorf("Role(%q) = %s, want %s", c.runbook, got, c.want)
		}
	}
	if !p.Can(Operator, "card-payment-failure") || p.Can(Author, "card-payment-failure") || p.Can(Operator, "onboard-user") {
		t.Error("Can does not follow the roles' order")
	}
	err := p.Require(Operator, "onboard-user")
	if err == nil || err.Error() != "ana needs the operator role on runbook onboard-user, and has viewer" {
		t.Errorf("Require: %v", err)
	}
	if err := (Principal{Subject: "bot"}).Require(Viewer, ""); err == nil || err.Error() != "bot needs the viewer role on this service, and has none" {
		t.Errorf("Require on the service: %v", err)
	}
	for _, n := range Roles() {
		r, err := ParseRole(n)
		if err != nil || r.String() != n {
			t.Errorf("ParseRole(%q) = %v, %v", n, r, err)
		}
	}
	if _, err := ParseRole("root"); err == nil || err.Error() != `auth: unknown role "root": want one of viewer, operator, approver, author, admin` {
		t.Errorf("ParseRole(root): %v", err)
	}
	ctx := With(context.Background(), p)
	if got, ok := From(ctx); !ok || got.Subject != "ana" {
		t.Errorf("From: %v, %v", got, ok)
	}
	if _, ok := From(context.Background()); ok {
		t.Error("From an empty context found a principal")
	}
}
