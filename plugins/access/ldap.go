package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/sdk"
)

// Group types of the ldap backend.
const (
	groupOfNames = "groupOfNames" // member: the account's DN
	posixGroup   = "posixGroup"   // memberUid: the account's name
)

// ldapBackend is an LDAP directory, reached with go-ldap. Each action
// opens its own connection (StartTLS or ldaps://, then a simple bind as
// bind_dn), does its searches and modifications, and closes it: nothing
// outlives a call, so a directory that restarts is no concern.
type ldapBackend struct {
	name     string // the backend's name, for messages
	settings LDAPSettings
	url      string
	addr     string // host:port, for messages
	timeout  time.Duration
	tls      *tls.Config
}

// ldapSession is one action's connection.
type ldapSession struct {
	b       *ldapBackend
	ctx     context.Context
	c       *ldap.Conn
	unwatch func() bool
}

// open connects, upgrades to TLS when asked, and binds.
func (b *ldapBackend) open(ctx context.Context) (*ldapSession, error) {
	timeout := b.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("before connecting to the directory at %s: %w", b.addr, err)
	}
	opts := []ldap.DialOpt{ldap.DialWithDialer(&net.Dialer{Timeout: timeout})}
	if strings.HasPrefix(b.url, "ldaps:") {
		opts = append(opts, ldap.DialWithTLSConfig(b.tls.Clone()))
	}
	c, err := ldap.DialURL(b.url, opts...)
	if err != nil {
		return nil, b.fail(ctx, "connecting", err)
	}
	c.SetTimeout(timeout)
	s := &ldapSession{b: b, ctx: ctx, c: c, unwatch: context.AfterFunc(ctx, func() { c.Close() })}
	if b.settings.StartTLS {
		// go-ldap's TLS handshake has no deadline of its own.
		var late atomic.Bool
		timer := time.AfterFunc(timeout, func() { late.Store(true); c.Close() })
		err := c.StartTLS(b.tls.Clone())
		timer.Stop()
		if late.Load() {
			err = ldap.NewError(ldap.ErrorNetwork, errors.New("ldap: connection timed out"))
		}
		if err != nil {
			s.close()
			return nil, b.fail(ctx, "starting TLS", err)
		}
	}
	if err := c.Bind(b.settings.BindDN, b.settings.BindPassword); err != nil {
		s.close()
		return nil, b.fail(ctx, "binding", err)
	}
	return s, nil
}

func (s *ldapSession) close() {
	s.unwatch()
	s.c.Close()
}

// search runs a subtree (or base) search and returns its entries.
func (s *ldapSession) search(doing, base string, scope int, filter string, typesOnly bool, attrs ...string) ([]*ldap.Entry, error) {
	res, err := s.c.Search(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, typesOnly, filter, attrs, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && scope != ldap.ScopeBaseObject {
			return nil, sdk.Error(codeBackendError, "%s does not exist in the directory at %s (backend %s): check plugins.settings.access.backends.%s.ldap.users_dn and groups_dn",
				base, s.b.addr, s.b.name, s.b.name)
		}
		return nil, s.b.fail(s.ctx, doing, err)
	}
	return res.Entries, nil
}

// modify applies req. An error with the result code benign (another
// call made the change meanwhile) is no error, and applied is false.
func (s *ldapSession) modify(doing string, req *ldap.ModifyRequest, benign uint16) (applied bool, err error) {
	err = s.c.Modify(req)
	switch {
	case err == nil:
		return true, nil
	case ldap.IsErrorWithCode(err, benign):
		return false, nil
	}
	return false, s.b.fail(s.ctx, doing, err)
}

// ldapUser is an account's entry.
type ldapUser struct {
	dn       string
	name     string // the user attribute's value, as the directory spells it
	disabled bool
	sshKeys  int // sshPublicKey values (openssh-lpk)
}

// sshKeyAttr holds an account's SSH public keys (the openssh-lpk schema):
// sshd finds them through an AuthorizedKeysCommand, and lets in whoever
// holds the private key, password or not.
const sshKeyAttr = "sshPublicKey"

// user finds an account under users_dn; nil when there is none.
func (s *ldapSession) user(account string) (*ldapUser, error) {
	st := s.b.settings
	attrs := []string{st.UserAttribute, sshKeyAttr}
	if st.DisabledAttribute != "" {
		attrs = append(attrs, st.DisabledAttribute)
	}
	doing := "looking up the account " + account
	entries, err := s.search(doing, st.UsersDN, ldap.ScopeWholeSubtree,
		fmt.Sprintf("(%s=%s)", st.UserAttribute, ldap.EscapeFilter(account)), false, attrs...)
	if err != nil {
		return nil, err
	}
	switch len(entries) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, sdk.Error(codeBackendError, "%d entries under %s have %s=%s (%s and %s...): an account name must be unique",
			len(entries), st.UsersDN, st.UserAttribute, account, entries[0].DN, entries[1].DN)
	}
	e := entries[0]
	u := &ldapUser{dn: e.DN, name: account, sshKeys: len(e.GetEqualFoldAttributeValues(sshKeyAttr))}
	for _, v := range e.GetEqualFoldAttributeValues(st.UserAttribute) {
		if strings.EqualFold(v, account) {
			u.name = v
		}
	}
	if st.DisabledAttribute != "" {
		u.disabled = slices.ContainsFunc(e.GetEqualFoldAttributeValues(st.DisabledAttribute), func(v string) bool {
			return strings.EqualFold(v, st.DisabledValue)
		})
		return u, nil
	}
	// Whether it has a password, without reading it: the attribute's type
	// only.
	pw, err := s.search(doing, e.DN, ldap.ScopeBaseObject, "(objectClass=*)", true, "userPassword")
	if err != nil {
		return nil, err
	}
	u.disabled = len(pw) == 0 || !hasAttr(pw[0], "userPassword")
	return u, nil
}

func hasAttr(e *ldap.Entry, name string) bool {
	return slices.ContainsFunc(e.Attributes, func(a *ldap.EntryAttribute) bool { return strings.EqualFold(a.Name, name) })
}

// ldapGroup is a group's entry.
type ldapGroup struct {
	dn      string
	name    string
	values  []string // member DNs or memberUid values, as stored
	holder  bool     // a groupOfNames holding the empty DN as a placeholder
	members int      // values that are not the placeholder
}

func (b *ldapBackend) memberAttr() string {
	if b.settings.GroupType == posixGroup {
		return "memberUid"
	}
	return "member"
}

// group finds a group under groups_dn: not_found when there is none.
func (s *ldapSession) group(name string) (*ldapGroup, error) {
	st := s.b.settings
	attr := s.b.memberAttr()
	entries, err := s.search("looking up the group "+name, st.GroupsDN, ldap.ScopeWholeSubtree,
		fmt.Sprintf("(&(objectClass=%s)(cn=%s))", st.GroupType, ldap.EscapeFilter(name)), false, "cn", attr)
	if err != nil {
		return nil, err
	}
	switch len(entries) {
	case 0:
		return nil, sdk.Error(codeNotFound, "no group %s on %s: no %s with cn=%s under %s", name, s.b.name, st.GroupType, name, st.GroupsDN)
	case 1:
	default:
		return nil, sdk.Error(codeBackendError, "%d groups under %s have cn=%s (%s and %s...): a group name must be unique",
			len(entries), st.GroupsDN, name, entries[0].DN, entries[1].DN)
	}
	g := &ldapGroup{dn: entries[0].DN, name: name, values: entries[0].GetEqualFoldAttributeValues(attr)}
	for _, v := range g.values {
		if attr == "member" && strings.TrimSpace(v) == "" {
			g.holder = true
		} else {
			g.members++
		}
	}
	return g, nil
}

// has returns the stored values that are the account: its DN in member,
// its name in memberUid.
func (s *ldapSession) has(g *ldapGroup, account string, u *ldapUser) []string {
	var out []string
	if s.b.settings.GroupType == posixGroup {
		for _, v := range g.values {
			if v == account || u != nil && v == u.name {
				out = append(out, v)
			}
		}
		return out
	}
	// Without the account's entry, the DN it would have.
	want := fmt.Sprintf("%s=%s,%s", s.b.settings.UserAttribute, ldap.EscapeDN(account), s.b.settings.UsersDN)
	if u != nil {
		want = u.dn
	}
	wd, err := ldap.ParseDN(want)
	if err != nil {
		return nil
	}
	for _, v := range g.values {
		if d, err := ldap.ParseDN(v); err == nil && len(d.RDNs) > 0 && d.EqualFold(wd) {
			out = append(out, v)
		}
	}
	return out
}

func (b *ldapBackend) lookup(ctx context.Context, call *sdk.Call, account string) (accountState, []string, error) {
	s, err := b.open(ctx)
	if err != nil {
		return accountState{}, nil, err
	}
	defer s.close()
	u, err := s.user(account)
	if err != nil {
		return accountState{}, nil, err
	}
	st := b.settings
	var filter string
	switch {
	case st.GroupType == posixGroup:
		// A memberUid left behind by a deleted account is a grant too.
		name := account
		if u != nil {
			name = u.name
		}
		filter = fmt.Sprintf("(&(objectClass=posixGroup)(memberUid=%s))", ldap.EscapeFilter(name))
	case u != nil:
		filter = fmt.Sprintf("(&(objectClass=groupOfNames)(member=%s))", ldap.EscapeFilter(u.dn))
	default:
		return accountState{}, nil, nil
	}
	entries, err := s.search("listing the groups of "+account, st.GroupsDN, ldap.ScopeWholeSubtree, filter, false, "cn")
	if err != nil {
		return accountState{}, nil, err
	}
	groups := make([]string, 0, len(entries))
	for _, e := range entries {
		groups = append(groups, groupName(e))
	}
	if u == nil {
		return accountState{}, groups, nil
	}
	return accountState{exists: true, disabled: u.disabled, sshKeys: u.sshKeys}, groups, nil
}

// groupName is a group's cn: its RDN's when that is a cn, else its first.
func groupName(e *ldap.Entry) string {
	if d, err := ldap.ParseDN(e.DN); err == nil && len(d.RDNs) > 0 && len(d.RDNs[0].Attributes) == 1 &&
		strings.EqualFold(d.RDNs[0].Attributes[0].Type, "cn") {
		return d.RDNs[0].Attributes[0].Value
	}
	return e.GetEqualFoldAttributeValue("cn")
}

func (b *ldapBackend) members(ctx context.Context, call *sdk.Call, group string) ([]string, error) {
	s, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	g, err := s.group(group)
	if err != nil {
		return nil, err
	}
	if b.settings.GroupType == posixGroup {
		return g.values, nil
	}
	out := make([]string, 0, len(g.values))
	for _, dn := range g.values {
		if strings.TrimSpace(dn) == "" {
			continue
		}
		name, err := s.accountOf(dn)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

// accountOf is the account name of a member DN: the value of its RDN when
// that is the user attribute, else the attribute read from its entry,
// else (an entry that no longer exists) the DN itself.
func (s *ldapSession) accountOf(dn string) (string, error) {
	attr := s.b.settings.UserAttribute
	d, err := ldap.ParseDN(dn)
	if err == nil && len(d.RDNs) > 0 && len(d.RDNs[0].Attributes) == 1 && strings.EqualFold(d.RDNs[0].Attributes[0].Type, attr) {
		return d.RDNs[0].Attributes[0].Value, nil
	}
	res, err := s.c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{attr}, nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return dn, nil
	case err != nil:
		return "", s.b.fail(s.ctx, "reading the member "+dn, err)
	case len(res.Entries) == 1 && res.Entries[0].GetEqualFoldAttributeValue(attr) != "":
		return res.Entries[0].GetEqualFoldAttributeValue(attr), nil
	}
	return dn, nil
}

// membership opens a session and reads the group and the account (nil
// when it does not exist) that grant and revoke change. Close the session.
func (b *ldapBackend) membership(ctx context.Context, group, account string) (*ldapSession, *ldapGroup, *ldapUser, error) {
	s, err := b.open(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := s.group(group)
	if err == nil {
		var u *ldapUser
		if u, err = s.user(account); err == nil {
			return s, g, u, nil
		}
	}
	s.close()
	return nil, nil, nil, err
}

func (b *ldapBackend) grant(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	s, g, u, err := b.membership(ctx, group, account)
	if err != nil {
		return false, err
	}
	defer s.close()
	switch {
	case u == nil:
		return false, sdk.Error(codeNotFound, "no account %s on %s: no entry with %s=%s under %s", account, b.name, b.settings.UserAttribute, account, b.settings.UsersDN)
	case len(s.has(g, account, u)) > 0:
		return false, nil
	case u.disabled:
		return false, sdk.Error(codeAccountDisabled, "the account %s on %s is disabled (%s): enable it before granting it access", account, b.name, b.disabledWhy())
	}
	req := ldap.NewModifyRequest(g.dn, nil)
	if b.settings.GroupType == posixGroup {
		req.Add("memberUid", []string{u.name})
	} else {
		req.Add("member", []string{u.dn})
		if g.holder {
			req.Delete("member", []string{""})
		}
	}
	call.Debugf("modify %s: add %s", g.dn, b.memberAttr())
	return s.modify("adding "+account+" to "+group, req, ldap.LDAPResultAttributeOrValueExists)
}

func (b *ldapBackend) disabledWhy() string {
	if b.settings.DisabledAttribute != "" {
		return b.settings.DisabledAttribute + ": " + b.settings.DisabledValue
	}
	return "it has no userPassword"
}

func (b *ldapBackend) revoke(ctx context.Context, call *sdk.Call, group, account string) (bool, error) {
	s, g, u, err := b.membership(ctx, group, account)
	if err != nil {
		return false, err
	}
	defer s.close()
	values := s.has(g, account, u)
	if u == nil {
		if len(values) == 0 {
			call.Warnf("no account %s on %s: nothing to revoke", account, b.name)
			return false, nil
		}
		call.Warnf("no account %s on %s, but %s still lists it: removing it", account, b.name, group)
	}
	if len(values) == 0 {
		return false, nil
	}
	req := ldap.NewModifyRequest(g.dn, nil)
	attr := b.memberAttr()
	req.Delete(attr, values)
	if attr == "member" && g.members == len(values) && !g.holder {
		// A groupOfNames must keep a member: the empty DN holds its place.
		req.Add("member", []string{""})
	}
	call.Debugf("modify %s: delete %s", g.dn, attr)
	return s.modify("removing "+account+" from "+group, req, ldap.LDAPResultNoSuchAttribute)
}

// disable removes the password (and sets disabled_attribute), and removes
// every SSH public key: a key alone lets its holder in through sshd's
// AuthorizedKeysCommand. An account already disabled that still has keys
// loses them (changed). The directory holds no session of the systems
// that trust it: it cannot end one already open (the action's sessions
// output says so).
func (b *ldapBackend) disable(ctx context.Context, call *sdk.Call, account string) (disableResult, error) {
	s, err := b.open(ctx)
	if err != nil {
		return disableResult{}, err
	}
	defer s.close()
	u, err := s.user(account)
	if err != nil {
		return disableResult{}, err
	}
	switch {
	case u == nil:
		return disableResult{}, sdk.Error(codeNotFound, "no account %s on %s: no entry with %s=%s under %s", account, b.name, b.settings.UserAttribute, account, b.settings.UsersDN)
	case u.disabled && u.sshKeys == 0:
		return disableResult{}, nil
	}
	req := ldap.NewModifyRequest(u.dn, nil)
	if !u.disabled {
		pw, err := s.search("looking up the account "+account, u.dn, ldap.ScopeBaseObject, "(objectClass=*)", true, "userPassword")
		if err != nil {
			return disableResult{}, err
		}
		if len(pw) == 1 && hasAttr(pw[0], "userPassword") {
			req.Delete("userPassword", nil)
		}
		if a := b.settings.DisabledAttribute; a != "" {
			req.Replace(a, []string{b.settings.DisabledValue})
		}
	}
	if u.sshKeys > 0 {
		req.Delete(sshKeyAttr, nil)
		call.Infof("removing %d SSH public keys of %s", u.sshKeys, account)
	}
	call.Debugf("modify %s: %d changes", u.dn, len(req.Changes))
	changed, err := s.modify("disabling "+account, req, ldap.LDAPResultNoSuchAttribute)
	if err != nil || !changed {
		return disableResult{}, err
	}
	return disableResult{changed: true, sshKeys: u.sshKeys}, nil
}
