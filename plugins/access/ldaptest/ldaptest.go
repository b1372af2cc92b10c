// Package ldaptest runs a real OpenLDAP slapd for tests of the access
// plugin and of runbooks that use it: a throwaway mdb database under the
// suffix dc=example,dc=org, the schemas core, cosine, nis,
// inetorgperson and openssh-lpk (sshPublicKey), an admin bind, and TLS from a CA generated for it, listening
// on 127.0.0.1 only:
//
//   - URL, ldap://127.0.0.1:PORT, which offers StartTLS;
//   - LDAPSURL, ldaps://127.0.0.1:PORT2.
//
// By default the directory holds the same people and groups as the
// plugin's sandbox directory seed (SeedLDIF): users ana to gina with a
// password, hal without one (disabled), ben and dmitri with SSH public
// keys (sshPublicKey), and the groups engineering, vpn,
// support, prod-admins, payments-admins, finance and legacy-vpn, as
// groupOfNames or posixGroup entries.
//
// Starting slapd takes a few tens of milliseconds. Start one per test that
// changes the directory, or one per test binary and share it:
//
//	func directory(t *testing.T) *ldaptest.Server {
//		ldaptest.Path(t) // fails, or skips with STEWARD_SKIP_PEERS=1, without slapd
//		s, err := ldaptest.Start(ldaptest.Options{GroupType: ldaptest.GroupOfNames})
//		if err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(s.Close)
//		return s
//	}
//
//	s := directory(t)
//	settings := map[string]any{"backends": map[string]any{
//		"directory": map[string]any{"type": "ldap", "ldap": s.Settings()},
//	}}
//	// ... run the plugin or a runbook with settings, then check what the
//	// directory really holds:
//	members, err := s.Members("prod-admins") // [ben dmitri frank]
//
// Stop stops slapd and keeps its data; Start (the method) starts it again
// on the same ports and data, to test what a runbook does while the
// directory is down. Close stops it for good and removes its files.
//
// Empty groupOfNames groups hold the empty DN as their only member (the
// schema requires at least one member); Members leaves it out, and so does
// the plugin.
package ldaptest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
)

// Install is the command that installs slapd (and the ldap-utils the docs
// use to look at the directory by hand).
const Install = "apt-get install slapd ldap-utils"

// The directory's layout.
const (
	BaseDN   = "dc=example,dc=org"
	UsersDN  = "ou=people," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
	AdminDN  = "cn=admin," + BaseDN
)

// Group types: the object class of the seeded groups.
const (
	GroupOfNames = "groupOfNames" // member: the user's DN
	PosixGroup   = "posixGroup"   // memberUid: the user's uid
)

const why = "this test runs a real OpenLDAP directory (slapd)"

// sbinDirs are where distributions put slapd, often not on a user's PATH.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/libexec"}

// Lookup finds slapd: on PATH, in GOPATH/bin, else in /usr/sbin and the
// like. Its error says how to install it.
func Lookup() (string, error) {
	p, err := peertest.Lookup("slapd", why, Install)
	if err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, "slapd")
		if fi, serr := os.Stat(p); serr == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s, and slapd is neither on PATH nor in %s: install it with: %s", why, strings.Join(sbinDirs, ", "), Install)
}

// Path returns slapd's path. Without slapd the test fails, saying how to
// install it, unless STEWARD_SKIP_PEERS=1 says to skip tests that need a
// peer.
func Path(t testing.TB) string {
	t.Helper()
	p, err := Lookup()
	if err == nil {
		return p
	}
	if os.Getenv("STEWARD_SKIP_PEERS") == "1" {
		t.Skipf("slapd is not installed and STEWARD_SKIP_PEERS=1: skipping the tests that need it")
	}
	t.Fatal(err)
	return ""
}

// Options choose what Start puts in the directory.
type Options struct {
	// GroupType is the object class of the seeded groups: GroupOfNames
	// (the default) or PosixGroup.
	GroupType string
	// Empty leaves the directory with its base entries only (the suffix,
	// ou=people and ou=groups): seed it yourself with Seed.
	Empty bool
	// PPolicy loads the ppolicy overlay with a default policy
	// (PolicyDN, for userPassword): the directory itself then refuses the
	// bind of an account whose pwdAccountLockedTime is 000001010000Z,
	// whatever its password.
	PPolicy bool
}

// PolicyDN is the default password policy of a directory started with
// Options.PPolicy.
const PolicyDN = "cn=default,ou=policies," + BaseDN

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT; it offers StartTLS.
	URL string
	// LDAPSURL is ldaps://127.0.0.1:PORT2.
	LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server's
	// certificate (for 127.0.0.1 and localhost).
	CAFile string
	// BindDN and BindPassword are the admin's: it may read and write
	// everything. The password is random, to check it is never printed.
	BindDN       string
	BindPassword string
	BaseDN       string
	UsersDN      string
	GroupsDN     string
	// GroupType is the object class of the seeded groups.
	GroupType string
	// Dir holds slapd.conf, the certificates, the database and slapd.log.
	Dir string

	bin     string
	conf    string
	ppolicy bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	// held keeps slapd's ports from other processes while Stop has
	// stopped it (see peertest.Hold).
	held []func()
}

// Start starts slapd on free loopback ports with a fresh database, seeded
// unless opts.Empty, and returns once it answers an admin bind over
// StartTLS. Close it when done.
func Start(opts Options) (*Server, error) {
	bin, err := Lookup()
	if err != nil {
		return nil, err
	}
	gt := opts.GroupType
	if gt == "" {
		gt = GroupOfNames
	}
	if gt != GroupOfNames && gt != PosixGroup {
		return nil, fmt.Errorf("ldaptest: group type %q: use %s or %s", gt, GroupOfNames, PosixGroup)
	}
	dir, err := os.MkdirTemp("", "steward-ldaptest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, Dir: dir, BindDN: AdminDN, BaseDN: BaseDN, UsersDN: UsersDN, GroupsDN: GroupsDN, GroupType: gt, ppolicy: opts.PPolicy}
	if err := s.setUp(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// slapd cannot be told to bind ports the system chooses and say
	// which: its ports are picked free beforehand, and another process
	// may take one before slapd binds it. slapd then exits saying so, and
	// is started again on other ports.
	for attempt := 1; ; attempt++ {
		if err := s.pickPorts(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		err := s.Start()
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == 10 {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		_ = os.Remove(filepath.Join(dir, "slapd.log"))
	}
	ldif := baseLDIF()
	if opts.PPolicy {
		ldif += policyLDIF()
	}
	if !opts.Empty {
		ldif += SeedLDIF(gt)
	}
	if err := s.Seed(ldif); err != nil {
		s.Close()
		return nil, fmt.Errorf("ldaptest: seeding: %v", err)
	}
	return s, nil
}

// setUp writes the certificates and slapd.conf.
func (s *Server) setUp() error {
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	s.BindPassword = "ldaptest-" + hex.EncodeToString(pw)
	certs, err := writeCerts(s.Dir)
	if err != nil {
		return fmt.Errorf("ldaptest: certificates: %v", err)
	}
	s.CAFile = certs.ca
	if err := os.Mkdir(filepath.Join(s.Dir, "data"), 0o700); err != nil {
		return err
	}
	conf, err := slapdConf(s.Dir, s.BindPassword, certs, s.ppolicy)
	if err != nil {
		return err
	}
	s.conf = filepath.Join(s.Dir, "slapd.conf")
	return os.WriteFile(s.conf, []byte(conf), 0o600)
}

// freePort picks a port; a test replaces it to hand out a taken one.
var freePort = peertest.FreePort

// pickPorts picks the ports slapd is to listen on.
func (s *Server) pickPorts() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	tlsPort, err := freePort()
	if err != nil {
		return err
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	return nil
}

// errPortTaken is the error of Start when slapd exits because one of its
// ports was taken.
var errPortTaken = errors.New("ldaptest: a port of slapd's is taken")

// schemaDirs are where distributions keep OpenLDAP's schema files.
var schemaDirs = []string{"/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema"}

// moduleDirs are where distributions keep slapd's backends when they are
// modules (Debian's back_mdb is).
var moduleDirs = []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap"}

func slapdConf(dir, password string, c certFiles, ppolicy bool) (string, error) {
	schemas := ""
	for _, d := range schemaDirs {
		if _, err := os.Stat(filepath.Join(d, "core.schema")); err == nil {
			schemas = d
			break
		}
	}
	if schemas == "" {
		return "", fmt.Errorf("ldaptest: no OpenLDAP schema files (core.schema) in %s: install them with: %s", strings.Join(schemaDirs, ", "), Install)
	}
	var b strings.Builder
	for _, name := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s\n", filepath.Join(schemas, name+".schema"))
	}
	// openssh-lpk (sshPublicKey) is not shipped with OpenLDAP: written
	// beside slapd.conf.
	lpk := filepath.Join(dir, "openssh-lpk.schema")
	if err := os.WriteFile(lpk, []byte(opensshLPKSchema), 0o600); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "include %s\n", lpk)
	for _, d := range moduleDirs {
		if _, err := os.Stat(filepath.Join(d, "back_mdb.la")); err == nil {
			fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\n", d)
			if ppolicy {
				b.WriteString("moduleload ppolicy\n")
			}
			break
		}
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(dir, "slapd.pid"), filepath.Join(dir, "slapd.args"))
	fmt.Fprintf(&b, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", c.ca, c.cert, c.key)
	fmt.Fprintf(&b, "database mdb\nmaxsize 16777216\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n",
		BaseDN, AdminDN, password, filepath.Join(dir, "data"))
	b.WriteString("index objectClass eq\nindex uid,cn,memberUid,member eq\n")
	if ppolicy {
		fmt.Fprintf(&b, "overlay ppolicy\nppolicy_default %q\n", PolicyDN)
	}
	return b.String(), nil
}

// opensshLPKSchema is the openssh-lpk schema that OpenSSH LDAP public key
// setups (sssd, AuthorizedKeysCommand scripts) use: the auxiliary class
// ldapPublicKey with the attribute sshPublicKey.
const opensshLPKSchema = `attributetype ( 1.3.6.1.4.1.24552.500.1.1.1.13 NAME 'sshPublicKey'
	DESC 'OpenSSH public key'
	EQUALITY octetStringMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 )

objectclass ( 1.3.6.1.4.1.24552.500.1.1.2.0 NAME 'ldapPublicKey' SUP top AUXILIARY
	DESC 'OpenSSH LDAP public key'
	MAY ( sshPublicKey $ uid ) )
`

// Addr is the host:port of URL, to check that messages name it.
func (s *Server) Addr() string { return strings.TrimPrefix(s.URL, "ldap://") }

// Start starts slapd again after Stop, on the same ports and data, and
// returns once it answers. Start (the function) calls it the first time.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("ldaptest: slapd is already running")
	}
	s.releaseLocked()
	logFile, err := os.OpenFile(filepath.Join(s.Dir, "slapd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// -d stats keeps slapd in the foreground and logs every operation to
	// slapd.log, for LogTail.
	cmd := exec.Command(s.bin, "-f", s.conf, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "stats")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("ldaptest: starting slapd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(exited); err != nil {
		s.stopLocked()
		tail := s.LogTail()
		if strings.Contains(tail, "(Address already in use)") {
			err = fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return fmt.Errorf("ldaptest: slapd: %w\nlast lines of %s:\n%s", err, filepath.Join(s.Dir, "slapd.log"), tail)
	}
	return nil
}

func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return errors.New("slapd exited")
		default:
		}
		// Whoever holds a taken port may accept the connection and never
		// answer: slapd exiting ends the wait without that answer (the
		// attempt ends on its own, while Start may pick other ports).
		conn := make(chan error, 1)
		url := s.URL
		go func() {
			c, err := s.connTo(url)
			if err == nil {
				c.Close()
			}
			conn <- err
		}()
		var err error
		select {
		case <-exited:
			return errors.New("slapd exited")
		case err = <-conn:
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer on %s within 20s: %v", s.URL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops slapd (SIGTERM, then SIGKILL after 5 s) and keeps its data:
// Start starts it again. Stopping a stopped server does nothing. Until
// Start, or Close, its ports refuse connections and are kept from other
// processes (peertest.Hold), so that a test of a directory that is down
// meets no other server there, and slapd gets its ports back.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.stopLocked()
	for _, u := range []string{s.URL, s.LDAPSURL} {
		_, port, _ := strings.Cut(strings.TrimSuffix(u[strings.LastIndex(u, "/")+1:], "/"), ":")
		n, err := strconv.Atoi(port)
		if err != nil {
			continue
		}
		if release, err := peertest.Hold(n); err == nil {
			s.held = append(s.held, release)
		}
	}
}

// releaseLocked gives back the ports Stop held.
func (s *Server) releaseLocked() {
	for _, release := range s.held {
		release()
	}
	s.held = nil
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd, s.exited = nil, nil
}

// Running says whether slapd runs.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Close stops slapd and removes Dir.
func (s *Server) Close() {
	s.Stop()
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
	_ = os.RemoveAll(s.Dir)
}

// LogTail is the last 30 lines slapd logged.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "slapd.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Settings are the access plugin's ldap settings for this directory:
// ldap:// with StartTLS and CAFile, the admin bind, the seeded group
// type. Put them under backends.NAME.ldap, beside type: ldap.
func (s *Server) Settings() map[string]any {
	return map[string]any{
		"url": s.URL, "start_tls": true, "ca_file": s.CAFile,
		"bind_dn": s.BindDN, "bind_password": s.BindPassword,
		"users_dn": s.UsersDN, "groups_dn": s.GroupsDN,
		"user_attribute": "uid", "group_type": s.GroupType,
		"timeout": "5s",
	}
}
