package ldaptest

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/access/internal/seed"
)

// Conn returns a connection bound as the admin over StartTLS; close it.
func (s *Server) Conn() (*ldap.Conn, error) { return s.connTo(s.URL) }

// connTo is Conn to url.
func (s *Server) connTo(url string) (*ldap.Conn, error) {
	tc, err := tlsConfig(s.CAFile)
	if err != nil {
		return nil, err
	}
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(10 * time.Second)
	if err := c.StartTLS(tc); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Bind(s.BindDN, s.BindPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Bind checks that the user uid can log in with password.
func (s *Server) Bind(uid, password string) error {
	tc, err := tlsConfig(s.CAFile)
	if err != nil {
		return err
	}
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(10 * time.Second)
	if err := c.StartTLS(tc); err != nil {
		return err
	}
	return c.Bind(UserDN(uid), password)
}

// Seed adds the entries of an LDIF text (records separated by blank
// lines; "attr: value", "attr:: base64", continuation lines, comments;
// every record an add). The base entries are there already.
func (s *Server) Seed(ldif string) error {
	recs, err := ParseLDIF(ldif)
	if err != nil {
		return err
	}
	c, err := s.Conn()
	if err != nil {
		return err
	}
	defer c.Close()
	for _, r := range recs {
		req := ldap.NewAddRequest(r.DN, nil)
		for _, a := range r.Attributes {
			req.Attribute(a.Name, a.Values)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("adding %s (line %d): %v", r.DN, r.Line, err)
		}
	}
	return nil
}

// Entry returns the attributes of the entry dn (userPassword included),
// or nil when there is none.
func (s *Server) Entry(dn string) (map[string][]string, error) {
	c, err := s.Conn()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(res.Entries) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, a := range res.Entries[0].Attributes {
		out[a.Name] = a.Values
	}
	return out, nil
}

// Members returns the uids of the members of the group cn, sorted: from
// the member DNs of a groupOfNames (the empty placeholder left out), or
// the memberUid values of a posixGroup. A group that does not exist is an
// error.
func (s *Server) Members(group string) ([]string, error) {
	e, err := s.Entry(GroupDN(group))
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("ldaptest: no group %s", GroupDN(group))
	}
	out := []string{}
	out = append(out, e["memberUid"]...)
	for _, dn := range e["member"] {
		if dn == "" {
			continue
		}
		d, err := ldap.ParseDN(dn)
		if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) != 1 {
			out = append(out, dn)
			continue
		}
		out = append(out, d.RDNs[0].Attributes[0].Value)
	}
	slices.Sort(out)
	return out, nil
}

// UserDN is the DN of the user uid.
func UserDN(uid string) string { return "uid=" + ldap.EscapeDN(uid) + "," + UsersDN }

// GroupDN is the DN of the group cn.
func GroupDN(cn string) string { return "cn=" + ldap.EscapeDN(cn) + "," + GroupsDN }

// UserPassword is the password of a seeded user (hal has none).
func UserPassword(uid string) string { return uid + "-password" }

// policyLDIF is the default password policy of Options.PPolicy.
func policyLDIF() string {
	return `dn: ou=policies,` + BaseDN + `
objectClass: organizationalUnit
ou: policies

dn: ` + PolicyDN + `
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE

`
}

func baseLDIF() string {
	return `dn: ` + BaseDN + `
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ` + UsersDN + `
objectClass: organizationalUnit
ou: people

dn: ` + GroupsDN + `
objectClass: organizationalUnit
ou: groups

`
}

// SeedLDIF is the LDIF of the sandbox's directory seed, for Seed: users
// ana to gina (inetOrgPerson and posixAccount, password UserPassword(uid)),
// hal without a password (disabled), and the groups with their members as
// groupType entries (GroupOfNames or PosixGroup).
func SeedLDIF(groupType string) string {
	var b bytes.Buffer
	for i, a := range seed.Accounts(seed.Directory) {
		first, last, _ := strings.Cut(a.FullName, " ")
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: %s\nsn: %s\ngivenName: %s\nmail: %s@example.org\n",
			UserDN(a.Name), a.Name, a.FullName, last, first, a.Name)
		fmt.Fprintf(&b, "uidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\nloginShell: /bin/bash\n", 10001+i, 10001+i, a.Name)
		if !a.Disabled {
			fmt.Fprintf(&b, "userPassword: %s\n", UserPassword(a.Name))
		}
		if len(a.SSHKeys) > 0 {
			b.WriteString("objectClass: ldapPublicKey\n")
			for _, k := range a.SSHKeys {
				fmt.Fprintf(&b, "sshPublicKey: %s\n", k)
			}
		}
		b.WriteString("\n")
	}
	for i, g := range seed.Groups(seed.Directory) {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: %s\ncn: %s\ndescription: %s\n", GroupDN(g.Name), groupType, g.Name, g.Description)
		if groupType == PosixGroup {
			fmt.Fprintf(&b, "gidNumber: %d\n", 20001+i)
			for _, m := range g.Members {
				fmt.Fprintf(&b, "memberUid: %s\n", m)
			}
		} else {
			if len(g.Members) == 0 {
				b.WriteString("member:\n")
			}
			for _, m := range g.Members {
				fmt.Fprintf(&b, "member: %s\n", UserDN(m))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
