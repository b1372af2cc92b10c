package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/access/internal/seed"
)

// TestDocs keeps docs/plugins-access.md in step with the seeds, the error
// codes and the settings.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins-access.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, name := range seed.Names {
		section := doc[strings.Index(doc, "### The "+name+" seed"):]
		for _, a := range seed.Accounts(name) {
			row := "| `" + a.Name + "` | " + a.FullName + " | "
			if a.Disabled {
				row += "yes"
			}
			if !strings.Contains(section, row) {
				t.Errorf("the %s seed's table has no row %q", name, row)
			}
		}
		for _, g := range seed.Groups(name) {
			row := "| `" + g.Name + "` | " + strings.Join(g.Members, ", ") + " |"
			if len(g.Members) == 0 {
				row = "| `" + g.Name + "` | |"
			}
			if !strings.Contains(section, row) {
				t.Errorf("the %s seed's table has no row %q", name, row)
			}
		}
	}
	for _, code := range []string{codeNotFound, codeAccountDisabled, codeInvalidPolicy, codeUnknownRole, codeInvalidRoster,
		codeBackendError, codeConnection, codeAuthFailed, codeTLS, codeInvalidRequest, "invalid_input"} {
		if !strings.Contains(doc, "| `"+code+"` |") {
			t.Errorf("the errors table has no %s", code)
		}
	}
	for _, key := range []string{"type", "sandbox.seed", "ldap.url", "ldap.start_tls", "ldap.ca_file", "ldap.bind_dn", "ldap.bind_password",
		"ldap.users_dn", "ldap.groups_dn", "ldap.user_attribute", "ldap.group_type", "ldap.timeout", "github.org", "github.token",
		"github.base_url", "github.timeout"} {
		if !strings.Contains(doc, "| `"+key+"` |") {
			t.Errorf("the settings table has no %s", key)
		}
	}
	if !strings.Contains(doc, "| `ldap.disabled_attribute`, `ldap.disabled_value` |") {
		t.Error("the settings table has no disabled_attribute")
	}
	for _, a := range New().Actions {
		if !strings.Contains(doc, "### access."+a.Name()) {
			t.Errorf("no section for access.%s", a.Name())
		}
	}
}
