package ldaptest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/stewardhq/steward/plugins/peertest"
)

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	Path(t)
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestSeededDirectory: both group types hold the sandbox's directory seed,
// users bind with their passwords, hal cannot.
func TestSeededDirectory(t *testing.T) {
	for _, gt := range []string{GroupOfNames, PosixGroup} {
		t.Run(gt, func(t *testing.T) {
			s := start(t, Options{GroupType: gt})
			var got []string
			for _, g := range []string{"engineering", "vpn", "support", "prod-admins", "payments-admins", "finance", "legacy-vpn"} {
				m, err := s.Members(g)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s%v", g, m))
			}
			want := "engineering[ana ben] vpn[ana ben carla dmitri] support[carla eve] prod-admins[ben dmitri frank] payments-admins[eve] finance[] legacy-vpn[]"
			if strings.Join(got, " ") != want {
				t.Errorf("groups\n got %s\nwant %s", strings.Join(got, " "), want)
			}
			e, err := s.Entry(GroupDN("vpn"))
			if err != nil || len(e["objectClass"]) != 1 || e["objectClass"][0] != gt {
				t.Errorf("vpn %v %v", e, err)
			}
			if err := s.Bind("ana", UserPassword("ana")); err != nil {
				t.Errorf("ana cannot bind: %v", err)
			}
			if err := s.Bind("hal", UserPassword("hal")); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				t.Errorf("hal binds: %v", err)
			}
			if _, err := s.Members("nope"); err == nil {
				t.Error("a missing group has members")
			}
		})
	}
}

// TestStopStart: the data survives a stop; while stopped nothing answers.
func TestStopStart(t *testing.T) {
	s := start(t, Options{Empty: true})
	if err := s.Seed("dn: cn=ops," + GroupsDN + "\nobjectClass: posixGroup\ncn: ops\ngidNumber: 1\nmemberUid: zed\n"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if s.Running() {
		t.Error("running after Stop")
	}
	if _, err := s.Conn(); err == nil {
		t.Error("a stopped slapd answered")
	}
	// Its ports, held, refuse connections.
	for _, addr := range []string{s.Addr(), strings.TrimPrefix(s.LDAPSURL, "ldaps://")} {
		if c, err := net.Dial("tcp", addr); err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s of a stopped slapd: %v, want connection refused", addr, err)
		}
	}
	if len(s.held) != 2 {
		t.Errorf("%d ports held while stopped, want 2", len(s.held))
	}
	s.Stop() // twice is fine
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Error("started twice")
	}
	if m, err := s.Members("ops"); err != nil || fmt.Sprint(m) != "[zed]" {
		t.Errorf("after a restart: %v %v", m, err)
	}
	if m, err := s.Members("engineering"); err == nil {
		t.Errorf("an empty directory has engineering: %v", m)
	}
}

// TestTLS: StartTLS and ldaps:// with the CA; a client trusting another CA
// refuses the server.
func TestTLS(t *testing.T) {
	s := start(t, Options{Empty: true})
	tc, err := tlsConfig(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(tc))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(s.BindDN, s.BindPassword); err != nil {
		t.Error(err)
	}
	c.Close()
	other, err := UntrustedCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tc, err = tlsConfig(other)
	if err != nil {
		t.Fatal(err)
	}
	c, err = ldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(tc); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("StartTLS with another CA: %v", err)
	}
}

func TestParseLDIF(t *testing.T) {
	recs, err := ParseLDIF("version: 1\n\n# a comment\ndn: cn=a,dc=x\nobjectClass: top\ndescription: one\n  two\ncn:: YQ==\nchangetype: add\n\n\ndn: cn=b,dc=x\ncn: b\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(recs); got != "[{cn=a,dc=x [{objectClass [top]} {description [one two]} {cn [a]}] 4} {cn=b,dc=x [{cn [b]}] 12}]" {
		t.Errorf("records %s", got)
	}
	for text, want := range map[string]string{
		" x: y":                          "ldif line 1: a continuation line (starting with a space) must follow another line",
		"cn: a\n":                        "ldif line 1: a record starts with dn, not cn",
		"dn: cn=a\nno colon":             `ldif line 2: "no colon" is not "name: value"`,
		"dn: cn=a\ncn:: ***":             "ldif line 2: the base64 value of cn does not decode: illegal base64 data at input byte 0",
		"dn: cn=a\njpegPhoto:< file:///": "ldif line 2: URL values (jpegPhoto:<) are not supported: write the value",
		"dn: cn=a\nchangetype: delete":   "ldif line 2: changetype delete is not supported: Seed only adds entries",
		"dn: cn=a\n":                     "ldif line 1: the record of cn=a has no attributes",
	} {
		if _, err := ParseLDIF(text); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

func TestSeedLDIFParses(t *testing.T) {
	for _, gt := range []string{GroupOfNames, PosixGroup} {
		recs, err := ParseLDIF(SeedLDIF(gt))
		if err != nil || len(recs) != 15 {
			t.Errorf("%s: %d records, %v", gt, len(recs), err)
		}
	}
}

// TestLookupMissing: without slapd, the error says how to install it, and
// STEWARD_SKIP_PEERS=1 turns the failure into a skip.
func TestLookupMissing(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv("GOPATH", t.TempDir())
	saved := sbinDirs
	sbinDirs = []string{empty}
	t.Cleanup(func() { sbinDirs = saved })
	_, err := Lookup()
	want := "this test runs a real OpenLDAP directory (slapd), and slapd is neither on PATH nor in " + empty + ": install it with: apt-get install slapd ldap-utils"
	if err == nil || err.Error() != want {
		t.Errorf("%v\nwant %s", err, want)
	}
	if _, err := Start(Options{}); err == nil || err.Error() != want {
		t.Errorf("Start: %v", err)
	}
	t.Setenv("STEWARD_SKIP_PEERS", "1")
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Path(t)
	})
	if !skipped {
		t.Error("a missing slapd with STEWARD_SKIP_PEERS=1 did not skip")
	}
}

// TestStartOnATakenPort: a port picked free and taken by another process
// before slapd binds it makes slapd exit; Start starts it again on other
// ports.
func TestStartOnATakenPort(t *testing.T) {
	Path(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	freePort = func() (int, error) {
		picks++
		if picks == 1 {
			return taken.Addr().(*net.TCPAddr).Port, nil
		}
		return peertest.FreePort()
	}
	defer func() { freePort = peertest.FreePort }()
	s := start(t, Options{})
	if picks != 4 || s.Addr() == taken.Addr().String() {
		t.Fatalf("%d ports picked, slapd at %s (the taken port is %s)", picks, s.Addr(), taken.Addr())
	}
	if m, err := s.Members("vpn"); err != nil || fmt.Sprint(m) != "[ana ben carla dmitri]" {
		t.Errorf("vpn: %v %v", m, err)
	}
}
