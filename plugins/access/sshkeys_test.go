package main

// Disabling an account also removes its SSH public keys (LDAP
// sshPublicKey, the openssh-lpk schema, which ldaptest's slapd loads): a
// key lets its holder in through sshd's AuthorizedKeysCommand without a
// password. Against a real OpenLDAP slapd, and on the sandbox.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/access/ldaptest"
)

// keysOf renders list_grants' accounts with their SSH keys.
func keysOf(out map[string]any) string {
	var parts []string
	for _, a := range out["accounts"].([]any) {
		m := a.(map[string]any)
		parts = append(parts, fmt.Sprintf("%s:%s disabled=%v ssh_keys=%v", m["backend"], m["account"], m["disabled"], m["ssh_keys"]))
	}
	return strings.Join(parts, " ")
}

// TestLDAPDisableRemovesSSHKeys: disable_account deletes the password and
// every sshPublicKey, says how many, and says which sessions the directory
// cannot end; an account already without a password but with a key left
// loses the key (changed); a second disable changes nothing.
func TestLDAPDisableRemovesSSHKeys(t *testing.T) {
	s := startDirectory(t, ldaptest.GroupOfNames)
	p := ldapPlugin(t, s)
	dir := map[string]any{"user": "dmitri", "backend": "directory"}
	if got := keysOf(mustRun(t, p, s, "list_grants", dir)); got != "directory:dmitri disabled=false ssh_keys=1" {
		t.Errorf("before: %s", got)
	}
	out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "dmitri"})
	if out["changed"] != true || out["ssh_keys_removed"] != float64(1) {
		t.Errorf("disable: %v", out)
	}
	want := "the directory now refuses every new login as dmitri that asks it (a bind: no password; sshd: no SSH public key), " +
		"but it holds no session of the systems that trust it: sessions already open there (an SSH shell, a VPN tunnel, " +
		"a web single sign-on session) go on until they end or those systems end them"
	if out["sessions"] != want {
		t.Errorf("sessions %q", out["sessions"])
	}
	e, err := s.Entry(ldaptest.UserDN("dmitri"))
	if err != nil || e["sshPublicKey"] != nil || e["userPassword"] != nil {
		t.Errorf("dmitri holds %v (%v)", e, err)
	}
	if err := s.Bind("dmitri", ldaptest.UserPassword("dmitri")); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("dmitri still binds: %v", err)
	}
	if got := keysOf(mustRun(t, p, s, "list_grants", dir)); got != "directory:dmitri disabled=true ssh_keys=0" {
		t.Errorf("after: %s", got)
	}
	if out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "dmitri"}); out["changed"] != false || out["ssh_keys_removed"] != float64(0) {
		t.Errorf("disable again: %v", out)
	}

	// hal has no password (disabled) but someone left a key on the entry:
	// he could still log in over SSH. Disabling removes it.
	c, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	req := ldap.NewModifyRequest(ldaptest.UserDN("hal"), nil)
	req.Add("objectClass", []string{"ldapPublicKey"})
	req.Add("sshPublicKey", []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGB7oeZMZR7SphTa81JlapTH3x04vPTywa/OFjffwVhv hal@laptop"})
	if err := c.Modify(req); err != nil {
		t.Fatal(err)
	}
	c.Close()
	hal := map[string]any{"user": "hal", "backend": "directory"}
	if got := keysOf(mustRun(t, p, s, "list_grants", hal)); got != "directory:hal disabled=true ssh_keys=1" {
		t.Errorf("hal before: %s", got)
	}
	out, logs, err := run(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "hal"})
	if err != nil || out["changed"] != true || out["ssh_keys_removed"] != float64(1) || fmt.Sprint(logs) !=
		"[{info disabling hal on directory (ldap)} {info removing 1 SSH public keys of hal} {info hal is disabled}]" {
		t.Errorf("disable hal: %v %v %v", out, logs, err)
	}
	if e, _ := s.Entry(ldaptest.UserDN("hal")); e["sshPublicKey"] != nil {
		t.Errorf("hal keeps %v", e["sshPublicKey"])
	}
}

// TestLDAPDisableAttributeRemovesSSHKeys: with disabled_attribute, ben's
// two keys go too, and the attribute is set.
func TestLDAPDisableAttributeRemovesSSHKeys(t *testing.T) {
	s := startDirectory(t, ldaptest.PosixGroup)
	p := ldapPlugin(t, s, "disabled_attribute", "employeeType", "disabled_value", "disabled")
	out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "ben"})
	if out["changed"] != true || out["ssh_keys_removed"] != float64(2) {
		t.Errorf("disable: %v", out)
	}
	e, _ := s.Entry(ldaptest.UserDN("ben"))
	if e["sshPublicKey"] != nil || fmt.Sprint(e["employeeType"]) != "[disabled]" || e["userPassword"] != nil {
		t.Errorf("ben holds %v", e)
	}
}

// TestSandboxDisableRemovesSSHKeys: the sandbox's directory seed gives
// dmitri a key; disabling removes it, and GitHub accounts have none.
func TestSandboxDisableRemovesSSHKeys(t *testing.T) {
	p := start(t, nil)
	out, _, err := p.Execute("list_grants", map[string]any{"user": "dmitri"})
	if err != nil || keysOf(out) != "directory:dmitri disabled=false ssh_keys=1 github:dmitri disabled=false ssh_keys=0" {
		t.Fatalf("before: %v %v", keysOf(out), err)
	}
	for _, backend := range []string{"directory", "github"} {
		out, _, err = p.Execute("disable_account", map[string]any{"backend": backend, "user": "dmitri"})
		if err != nil || out["changed"] != true || out["sessions"] != "sandbox: no real sessions" {
			t.Errorf("disable on %s: %v %v", backend, out, err)
		}
		if want := map[string]float64{"directory": 1, "github": 0}[backend]; out["ssh_keys_removed"] != want {
			t.Errorf("%s: %v keys removed, want %v", backend, out["ssh_keys_removed"], want)
		}
	}
	out, _, _ = p.Execute("list_grants", map[string]any{"user": "dmitri"})
	if keysOf(out) != "directory:dmitri disabled=true ssh_keys=0 github:dmitri disabled=true ssh_keys=0" {
		t.Errorf("after: %s", keysOf(out))
	}
}

// TestLDAPPPolicyLock: with the ppolicy overlay and disabled_attribute
// pwdAccountLockedTime (000001010000Z: locked until an administrator
// unlocks it), disabling locks the account in the directory's own terms,
// removes its password and keys, and it cannot bind. ppolicy lifts the lock
// when an administrator sets a password again: list_grants then says the
// account is no longer disabled, which offboarding's second listing
// reports.
func TestLDAPPPolicyLock(t *testing.T) {
	ldaptest.Path(t)
	s, err := ldaptest.Start(ldaptest.Options{PPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	p := ldapPlugin(t, s, "disabled_attribute", "pwdAccountLockedTime", "disabled_value", "000001010000Z")
	ben := map[string]any{"user": "ben", "backend": "directory"}
	if err := s.Bind("ben", ldaptest.UserPassword("ben")); err != nil {
		t.Fatalf("ben cannot bind before: %v", err)
	}
	out := mustRun(t, p, s, "disable_account", map[string]any{"backend": "directory", "user": "ben"})
	if out["changed"] != true || out["ssh_keys_removed"] != float64(2) {
		t.Errorf("disable: %v", out)
	}
	if got := lockedTime(t, s, "ben"); got != "000001010000Z" {
		t.Errorf("pwdAccountLockedTime %q", got)
	}
	if got := keysOf(mustRun(t, p, s, "list_grants", ben)); got != "directory:ben disabled=true ssh_keys=0" {
		t.Errorf("after: %s", got)
	}
	if err := s.Bind("ben", ldaptest.UserPassword("ben")); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("ben binds after disabling: %v", err)
	}
	// An administrator sets a password again: ppolicy unlocks the account.
	c, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	req := ldap.NewModifyRequest(ldaptest.UserDN("ben"), nil)
	req.Replace("userPassword", []string{ldaptest.UserPassword("ben")})
	if err := c.Modify(req); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := s.Bind("ben", ldaptest.UserPassword("ben")); err != nil || lockedTime(t, s, "ben") != "" {
		t.Fatalf("ppolicy kept the lock after a password reset (%v): this test's premise changed", err)
	}
	if got := keysOf(mustRun(t, p, s, "list_grants", ben)); got != "directory:ben disabled=false ssh_keys=0" {
		t.Errorf("after the reset, list_grants says %s", got)
	}
}

// lockedTime reads the operational attribute pwdAccountLockedTime.
func lockedTime(t *testing.T, s *ldaptest.Server, uid string) string {
	t.Helper()
	c, err := s.Conn()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(ldaptest.UserDN(uid), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("reading %s: %v", uid, err)
	}
	return res.Entries[0].GetAttributeValue("pwdAccountLockedTime")
}
