package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/stewardhq/steward/plugins/sdk"
)

// fail turns a go-ldap error into the plugin's: what was being done, and
// what to check. It never quotes the bind password (go-ldap's errors do
// not hold it).
func (b *ldapBackend) fail(ctx context.Context, doing string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s on the directory at %s: %w", doing, b.addr, cerr)
	}
	settings := "plugins.settings.access.backends." + b.name + ".ldap"
	var le *ldap.Error
	if !errors.As(err, &le) {
		return sdk.Error(codeBackendError, "the directory at %s (backend %s) failed while %s: %v", b.addr, b.name, doing, err)
	}
	cause := ""
	if le.Err != nil {
		cause = le.Err.Error()
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork:
		if strings.HasPrefix(b.url, "ldaps:") && doing == "connecting" && errors.Is(le.Err, io.EOF) {
			// What a plain LDAP port does with a TLS handshake.
			return sdk.Error(codeTLS, "TLS with the directory at %s (backend %s) failed while connecting: the server closed the connection during the TLS handshake; check that %s.url names the server's TLS port for ldaps://, or its plain port for start_tls",
				b.addr, b.name, settings)
		}
		if msg, ok := tlsProblem(le.Err, b.addr, settings); ok {
			return sdk.Error(codeTLS, "TLS with the directory at %s (backend %s) failed while %s: %s", b.addr, b.name, doing, msg)
		}
		if strings.Contains(cause, "timed out") || strings.Contains(cause, "i/o timeout") {
			return sdk.Retryable(codeConnection, "the directory at %s (backend %s) did not answer within %s while %s", b.addr, b.name, b.timeout, doing)
		}
		return sdk.Retryable(codeConnection, "could not reach the directory at %s (backend %s) while %s: %s; check that it is up and that %s.url is right",
			b.addr, b.name, doing, cause, settings)
	case ldap.LDAPResultInvalidCredentials:
		return sdk.Error(codeAuthFailed, "the directory at %s refused the bind as %s (invalid credentials): check %s.bind_dn and bind_password",
			b.addr, b.settings.BindDN, settings)
	case ldap.LDAPResultInsufficientAccessRights:
		if cause != "" {
			cause = ": " + cause
		}
		return sdk.Error(codeAuthFailed, "the directory at %s does not let %s do this while %s (insufficient access rights%s): give the bind DN the access docs/plugins-access.md lists",
			b.addr, b.settings.BindDN, doing, cause)
	case ldap.LDAPResultBusy, ldap.LDAPResultUnavailable, ldap.LDAPResultTimeLimitExceeded:
		return sdk.Retryable(codeConnection, "the directory at %s (backend %s) is %s while %s: %s",
			b.addr, b.name, strings.ToLower(ldap.LDAPResultCodeMap[le.ResultCode]), doing, cause)
	case ldap.LDAPResultConfidentialityRequired:
		return sdk.Error(codeBackendError, "the directory at %s requires TLS: set %s.start_tls: true, or use an ldaps:// url", b.addr, settings)
	}
	return sdk.Error(codeBackendError, "the directory at %s (backend %s) refused %s: %s (LDAP result %d, %s)",
		b.addr, b.name, doing, cause, le.ResultCode, ldap.LDAPResultCodeMap[le.ResultCode])
}

// tlsProblem recognises a failed TLS handshake and says what to do. go-ldap
// keeps only the text of a StartTLS handshake's error.
func tlsProblem(err error, addr, settings string) (string, bool) {
	if err == nil {
		return "", false
	}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	msg := err.Error()
	cause := msg
	if inner, ok := strings.CutPrefix(msg, "TLS handshake failed ("); ok {
		cause = strings.TrimSuffix(inner, ")")
	}
	switch {
	case errors.As(err, &ua) || strings.Contains(msg, "certificate signed by unknown authority"):
		return fmt.Sprintf("its certificate is signed by a CA this plugin does not trust (x509: certificate signed by unknown authority): set %s.ca_file to that CA's PEM file", settings), true
	case errors.As(err, &he) || strings.Contains(msg, "certificate is valid for") || strings.Contains(msg, "doesn't contain any IP SANs"):
		return fmt.Sprintf("its certificate is not for %s (%s): put a host name the certificate names in %s.url", addr, cause, settings), true
	case errors.As(err, &ci) || strings.Contains(msg, "x509:"):
		return fmt.Sprintf("its certificate is not valid (%s)", cause), true
	case errors.As(err, &rh) || strings.Contains(msg, "TLS handshake failed") || strings.Contains(msg, "tls:"):
		return fmt.Sprintf("the TLS handshake failed (%s): check that %s.url names the server's TLS port for ldaps://, or its plain port for start_tls", cause, settings), true
	}
	return "", false
}
