package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/access/internal/seed"
	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.access in steward.yaml. None is required:
// with none, the plugin has two sandbox backends, directory and github.
type Settings struct {
	Backends map[string]BackendSettings `json:"backends,omitempty" desc:"the backends by name (what runbooks and policies call them); default: directory and github, both sandboxes"`
}

// BackendSettings are one backend's settings: its type, and the settings
// of that type.
type BackendSettings struct {
	Type    string           `json:"type" enum:"sandbox,ldap,github" desc:"sandbox (fixtures in memory), ldap (an LDAP directory) or github (a GitHub organization's teams)"`
	LDAP    *LDAPSettings    `json:"ldap,omitempty" desc:"the settings of type ldap"`
	GitHub  *GitHubSettings  `json:"github,omitempty" desc:"the settings of type github"`
	Sandbox *SandboxSettings `json:"sandbox,omitempty" desc:"the settings of type sandbox"`
}

// LDAPSettings are an ldap backend's settings.
type LDAPSettings struct {
	URL      string `json:"url,omitempty" desc:"ldap://HOST:PORT or ldaps://HOST:PORT"`
	StartTLS bool   `json:"start_tls,omitempty" desc:"upgrade an ldap:// connection with StartTLS before binding (refused with ldaps://)"`
	CAFile   string `json:"ca_file,omitempty" desc:"PEM file of the CA that signed the server's certificate; the system's roots otherwise"`
	BindDN   string `json:"bind_dn,omitempty" desc:"the DN Steward binds as, e.g. cn=steward,ou=services,dc=example,dc=org"`
	// BindPassword is best given as {secret: LDAP_BIND_PASSWORD}: Steward
	// reads it from STEWARD_SECRET_LDAP_BIND_PASSWORD.
	BindPassword      string       `json:"bind_password,omitempty" steward:"sensitive" desc:"the bind DN's password; write {secret: LDAP_BIND_PASSWORD}"`
	UsersDN           string       `json:"users_dn,omitempty" desc:"where accounts are (searched with the subtree scope), e.g. ou=people,dc=example,dc=org"`
	GroupsDN          string       `json:"groups_dn,omitempty" desc:"where groups are (searched with the subtree scope), e.g. ou=groups,dc=example,dc=org"`
	UserAttribute     string       `json:"user_attribute,omitempty" desc:"the attribute holding an account's name (default uid)"`
	GroupType         string       `json:"group_type,omitempty" enum:"groupOfNames,posixGroup" desc:"groupOfNames (member: the account's DN; the default) or posixGroup (memberUid: its name)"`
	DisabledAttribute string       `json:"disabled_attribute,omitempty" desc:"an attribute disable_account sets to disabled_value, and that says an account is disabled (default: none, an account without userPassword is disabled)"`
	DisabledValue     string       `json:"disabled_value,omitempty" desc:"the value of disabled_attribute on a disabled account"`
	Timeout           sdk.Duration `json:"timeout,omitempty" desc:"how long connecting and each LDAP operation may take (default 10s)"`
}

// GitHubSettings are a github backend's settings.
type GitHubSettings struct {
	Org string `json:"org,omitempty" desc:"the organization whose teams are the groups, e.g. stewardhq"`
	// Token is best given as {secret: GITHUB_TOKEN}.
	Token   string       `json:"token,omitempty" steward:"sensitive" desc:"a token with admin:org (or a fine-grained token with Members read and write); write {secret: GITHUB_TOKEN}"`
	BaseURL string       `json:"base_url,omitempty" desc:"the REST API's address (default https://api.github.com/; GitHub Enterprise: https://HOST/api/v3/)"`
	Timeout sdk.Duration `json:"timeout,omitempty" desc:"how long one HTTP request may take (default 10s)"`
}

// SandboxSettings are a sandbox backend's settings.
type SandboxSettings struct {
	Seed string `json:"seed,omitempty" enum:"directory,github" desc:"the fixtures it starts with (default: github for a backend named github, else directory)"`
}

// Backend types, as the settings and every output's type say them.
const (
	typeSandbox = "sandbox"
	typeLDAP    = "ldap"
	typeGitHub  = "github"
)

const (
	defaultTimeout = 10 * time.Second
	defaultBaseURL = "https://api.github.com/"
	maxTimeout     = 5 * time.Minute
)

var (
	backendName = lazyRegexp(`^[a-z][a-z0-9_-]{0,31}$`)
	attrName    = lazyRegexp(`^[A-Za-z][A-Za-z0-9-]*$`)
)

// defaultBackends are the backends without settings: two sandboxes.
func defaultBackends() map[string]BackendSettings {
	return map[string]BackendSettings{
		seed.Directory: {Type: typeSandbox, Sandbox: &SandboxSettings{Seed: seed.Directory}},
		seed.GitHub:    {Type: typeSandbox, Sandbox: &SandboxSettings{Seed: seed.GitHub}},
	}
}

// configure runs once the settings are decoded: it checks them, every
// problem at once, and builds the backends. No message quotes a password
// or a token.
func (a *access) configure(context.Context) error {
	settings := a.settings.Backends
	if len(settings) == 0 {
		settings = defaultBackends()
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	backends := map[string]*configured{}
	for _, name := range names {
		b, err := a.build(name, settings[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		backends[name] = b
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.backends, a.names = backends, names
	return nil
}

// build checks one backend's settings and makes it.
func (a *access) build(name string, s BackendSettings) (*configured, error) {
	where := "backends." + name
	if !backendName().MatchString(name) {
		return nil, fmt.Errorf("%s: a backend's name is lower case letters, digits, - and _, starting with a letter (at most 32)", where)
	}
	var others []string
	if s.LDAP != nil && s.Type != typeLDAP {
		others = append(others, "ldap")
	}
	if s.GitHub != nil && s.Type != typeGitHub {
		others = append(others, "github")
	}
	if s.Sandbox != nil && s.Type != typeSandbox {
		others = append(others, "sandbox")
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("%s is of type %s but has %s settings: remove them, or change its type", where, s.Type, strings.Join(others, " and "))
	}
	c := &configured{name: name, typ: s.Type}
	switch s.Type {
	case typeLDAP:
		if s.LDAP == nil {
			return nil, fmt.Errorf("%s (type ldap) needs ldap settings: url, bind_dn, bind_password, users_dn and groups_dn", where)
		}
		l, err := checkLDAP(where+".ldap", *s.LDAP)
		if err != nil {
			return nil, err
		}
		l.name = name
		c.impl = l
	case typeGitHub:
		if s.GitHub == nil {
			return nil, fmt.Errorf("%s (type github) needs github settings: org and token ({secret: GITHUB_TOKEN})", where)
		}
		g, err := checkGitHub(where+".github", *s.GitHub, a.transport)
		if err != nil {
			return nil, err
		}
		g.name = name
		c.impl = g
	default:
		seedName := seed.Directory
		if name == seed.GitHub {
			seedName = seed.GitHub
		}
		if s.Sandbox != nil && s.Sandbox.Seed != "" {
			seedName = s.Sandbox.Seed
		}
		c.impl = newSandbox(name, seedName)
	}
	return c, nil
}

// checkTimeout applies the default and the bounds of a timeout.
func checkTimeout(where string, d sdk.Duration) (time.Duration, error) {
	switch t := d.Std(); {
	case t == 0:
		return defaultTimeout, nil
	case t < 0 || t > maxTimeout:
		return 0, fmt.Errorf("%s.timeout must be more than 0s and at most 5m, got %s", where, d)
	default:
		return t, nil
	}
}

// checkLDAP checks an ldap backend's settings and makes it.
func checkLDAP(where string, s LDAPSettings) (*ldapBackend, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+"."+format, args...)) }
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		fail("url is missing: set it to ldap://HOST:389 (with start_tls: true) or ldaps://HOST:636")
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
		// The URL is not quoted: a mistaken one may hold a password.
		fail("url must be ldap://HOST:PORT or ldaps://HOST:PORT, with no user, path or query")
	case u.Scheme == "ldaps" && s.StartTLS:
		fail("start_tls upgrades an ldap:// connection; an ldaps:// one is TLS from the start: remove start_tls, or use ldap://")
	case u.Scheme == "ldap" && !s.StartTLS && !isLoopback(u.Hostname()):
		fail("url is ldap:// without start_tls: the bind password would cross the network in clear; set start_tls: true or use ldaps:// (plain ldap:// is allowed to 127.0.0.1 and localhost only)")
	}
	if s.BindDN == "" {
		fail("bind_dn is missing: set it to the DN Steward binds as, such as cn=steward,ou=services,dc=example,dc=org")
	} else if _, err := ldap.ParseDN(s.BindDN); err != nil {
		fail("bind_dn %q is not a DN: %v", s.BindDN, err)
	}
	if s.BindPassword == "" {
		fail("bind_password is missing: set it to {secret: LDAP_BIND_PASSWORD}")
	}
	for _, dn := range []struct{ key, value, example string }{
		{"users_dn", s.UsersDN, "ou=people,dc=example,dc=org"},
		{"groups_dn", s.GroupsDN, "ou=groups,dc=example,dc=org"},
	} {
		if dn.value == "" {
			fail("%s is missing: set it to where the %s are, such as %s", dn.key, strings.TrimSuffix(dn.key, "_dn"), dn.example)
		} else if _, err := ldap.ParseDN(dn.value); err != nil {
			fail("%s %q is not a DN: %v", dn.key, dn.value, err)
		}
	}
	if s.UserAttribute == "" {
		s.UserAttribute = "uid"
	} else if !attrName().MatchString(s.UserAttribute) {
		fail("user_attribute %q is not an attribute name such as uid", s.UserAttribute)
	}
	if s.GroupType == "" {
		s.GroupType = groupOfNames
	}
	switch {
	case s.DisabledAttribute == "" && s.DisabledValue != "":
		fail("disabled_value is set without disabled_attribute: set both, or neither")
	case s.DisabledAttribute != "" && s.DisabledValue == "":
		fail("disabled_attribute is set without disabled_value: set both, or neither")
	case s.DisabledAttribute != "" && !attrName().MatchString(s.DisabledAttribute):
		fail("disabled_attribute %q is not an attribute name such as employeeType", s.DisabledAttribute)
	}
	timeout, err := checkTimeout(where, s.Timeout)
	if err != nil {
		errs = append(errs, err)
	}
	var roots *x509.CertPool
	if s.CAFile != "" {
		b, err := os.ReadFile(s.CAFile)
		switch {
		case err != nil:
			fail("ca_file %s cannot be read: %v", s.CAFile, errors.Unwrap(err))
		default:
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(b) {
				fail("ca_file %s holds no PEM certificate: give the CA certificate that signed the server's", s.CAFile)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &ldapBackend{
		settings: s, url: s.URL, addr: hostPort(u, "389", "636"), timeout: timeout,
		tls: &tls.Config{RootCAs: roots, ServerName: u.Hostname(), MinVersion: tls.VersionTLS12},
	}, nil
}

// hostPort is the URL's host:port, with the scheme's default port.
func hostPort(u *url.URL, ldapPort, ldapsPort string) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "ldaps" {
		return net.JoinHostPort(u.Hostname(), ldapsPort)
	}
	return net.JoinHostPort(u.Hostname(), ldapPort)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var orgName = lazyRegexp(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)

// checkGitHub checks a github backend's settings and makes it.
func checkGitHub(where string, s GitHubSettings, transport http.RoundTripper) (*githubBackend, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+"."+format, args...)) }
	switch {
	case s.Org == "":
		fail("org is missing: set it to the organization whose teams Steward manages")
	case !orgName().MatchString(s.Org):
		fail("org %q is not a GitHub organization name (letters, digits and -)", s.Org)
	}
	if s.Token == "" {
		fail("token is missing: set it to {secret: GITHUB_TOKEN}")
	}
	if s.BaseURL == "" {
		s.BaseURL = defaultBaseURL
	}
	u, err := url.Parse(s.BaseURL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		fail("base_url must be an https URL such as %s or https://github.example.com/api/v3/, with no user or query", defaultBaseURL)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		fail("base_url is http://: the token would cross the network in clear; use https:// (http:// is allowed to 127.0.0.1 and localhost only)")
	case !strings.HasSuffix(u.Path, "/"):
		s.BaseURL += "/"
	}
	timeout, err := checkTimeout(where, s.Timeout)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return newGitHubBackend(s, timeout, transport)
}

// lazyRegexp returns a regexp compiled on first use: the checks of settings
// and policies run when the plugin is configured, not when it is only
// described, so a start to describe it does not compile them.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
