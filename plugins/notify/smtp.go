package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Error codes of the email action (and, for connection, rejected and
// temporary, of the others).
const (
	codeAuthFailed       = "auth_failed"
	codeSTARTTLSRequired = "starttls_required"
	codeTLS              = "tls"
	codeConnection       = "connection"
	codeRejected         = "rejected"
	codeTemporary        = "temporary"
	codeNotFound         = "not_found"
)

// smtpSender sends email through one SMTP server with net/smtp.
type smtpSender struct {
	settings EmailSettings
	addr     string // host:port
	from     *mail.Address
	tls      *tls.Config
	helo     string
}

func newSMTPSender(s EmailSettings, helo string) (*smtpSender, error) {
	from, err := parseAddress(s.From)
	if err != nil {
		return nil, fmt.Errorf("email.from: %v", err)
	}
	cfg := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		if cfg.RootCAs, err = loadCAFile(s.CAFile); err != nil {
			return nil, err
		}
	}
	return &smtpSender{settings: s, addr: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), from: from, tls: cfg, helo: helo}, nil
}

// send delivers m in one SMTP session: connect, EHLO, STARTTLS (required
// with security starttls), AUTH when a user name is set, MAIL, RCPT for
// every recipient, DATA. A recipient the server refuses stops the session
// before DATA: nobody gets the message.
func (s *smtpSender) send(parent context.Context, call *sdk.Call, m *email, date time.Time) error {
	timeout := s.settings.Timeout.Std()
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	step := "connecting"
	fail := func(err error) error { return s.classify(parent, ctx, step, err) }

	dialer := &net.Dialer{}
	var conn net.Conn
	var err error
	if s.settings.Security == securityTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	// email.timeout bounds every read and write; the step's deadline or
	// its cancellation closes the connection, so that parent.Err() tells
	// them apart.
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	step = "the greeting"
	c, err := smtp.NewClient(conn, s.settings.Host)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	step = "EHLO"
	if err := c.Hello(s.helo); err != nil {
		return fail(err)
	}
	if s.settings.Security == securitySTARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return sdk.Error(codeSTARTTLSRequired, "the SMTP server at %s does not offer STARTTLS, and email.security is starttls: nothing was sent, the password neither. "+
				"Use security: tls for a server that expects TLS from the first byte (usually port 465), or check email.host and email.port", s.addr)
		}
		step = "STARTTLS"
		if err := c.StartTLS(s.tls); err != nil {
			return fail(err)
		}
	}
	if s.settings.Username != "" {
		step = "AUTH"
		ok, mechs := c.Extension("AUTH")
		if tlsOffered, _ := c.Extension("STARTTLS"); !ok && tlsOffered {
			return sdk.Error(codeSTARTTLSRequired, "the SMTP server at %s offers AUTH only after STARTTLS, and email.security is %s: set email.security to starttls", s.addr, s.settings.Security)
		}
		if !ok {
			return sdk.Error(codeAuthFailed, "the SMTP server at %s offers no AUTH, but email.username is set: remove email.username and email.password if it needs none, or check email.host and email.port", s.addr)
		}
		auth, err := s.auth(mechs)
		if err != nil {
			return err
		}
		call.Debugf("AUTH %s as %s", auth.mech, s.settings.Username)
		if err := c.Auth(auth); err != nil {
			return fail(err)
		}
	}
	step = "MAIL FROM"
	if err := c.Mail(s.from.Address); err != nil {
		return fail(err)
	}
	for _, r := range m.recipients() {
		step = "RCPT TO " + r
		if err := c.Rcpt(r); err != nil {
			return fail(err)
		}
	}
	step = "DATA"
	w, err := c.Data()
	if err != nil {
		return fail(err)
	}
	step = "the message"
	if _, err := w.Write(m.raw(s.from, date)); err != nil {
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	// The server has taken the message: a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// classify turns a failure at step into the action's error. parent is
// the step's context, ctx the one bounded by email.timeout.
func (s *smtpSender) classify(parent, ctx context.Context, step string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("sending email through %s, at %s: %w", s.addr, step, parent.Err())
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		reply := strconv.Itoa(te.Code) + " " + te.Msg
		switch {
		case te.Code == 530 && strings.Contains(strings.ToUpper(te.Msg), "STARTTLS"):
			return sdk.Error(codeSTARTTLSRequired, "the SMTP server at %s requires STARTTLS before %s (%s), and email.security is %s: set email.security to starttls", s.addr, step, reply, s.settings.Security)
		case step == "AUTH" && te.Code >= 500:
			return sdk.Error(codeAuthFailed, "the SMTP server at %s refused the user name %s with its password (%s): check plugins.settings.notify.email.username and email.password", s.addr, s.settings.Username, reply)
		case te.Code == 530 && s.settings.Username == "":
			return sdk.Error(codeAuthFailed, "the SMTP server at %s wants AUTH before %s (%s): set email.username and email.password", s.addr, step, reply)
		case te.Code == 530:
			return sdk.Error(codeAuthFailed, "the SMTP server at %s refused %s after AUTH (%s): check that email.username may send as %s", s.addr, step, reply, s.from.Address)
		case te.Code >= 500:
			return sdk.Error(codeRejected, "the SMTP server at %s refused %s: %s", s.addr, step, reply)
		case te.Code >= 400:
			return sdk.Retryable(codeTemporary, "the SMTP server at %s deferred %s, try again later: %s", s.addr, step, reply)
		}
		return sdk.Error(codeRejected, "the SMTP server at %s answered %s with an unexpected %s", s.addr, step, reply)
	}
	var ae authError
	if errors.As(err, &ae) {
		return sdk.Error(codeAuthFailed, "AUTH with the SMTP server at %s failed: %s", s.addr, ae)
	}
	if msg, ok := tlsProblem(err, s.settings.Host); ok {
		return sdk.Error(codeTLS, "TLS with the SMTP server at %s failed: %s", s.addr, msg)
	}
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return sdk.Retryable(codeConnection, "the SMTP server at %s did not answer within %s (email.timeout), at %s: try again later, or raise email.timeout", s.addr, s.settings.Timeout, step)
	}
	if step == "connecting" {
		return sdk.Retryable(codeConnection, "could not reach the SMTP server at %s (%v): check email.host and email.port, or try again if it is down", s.addr, err)
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("it closed the connection")
	}
	return sdk.Retryable(codeConnection, "lost the connection to the SMTP server at %s, at %s (%v): try again later", s.addr, step, err)
}

// tlsProblem explains a TLS failure, and says whether err is one.
func tlsProblem(err error, host string) (string, bool) {
	var unknown x509.UnknownAuthorityError
	var name x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return "its certificate is not signed by a CA the plugin trusts (" + unknown.Error() + "): set email.ca_file to the PEM file of the CA that signed it", true
	case errors.As(err, &name):
		return "its certificate is not valid for " + host + " (" + name.Error() + "): set email.host to a name the certificate holds", true
	case errors.As(err, &invalid):
		return "its certificate is not valid (" + invalid.Error() + ")", true
	case errors.As(err, &record):
		return "it did not answer in TLS: with security: tls the server must speak TLS from the first byte (usually port 465); use security: starttls for a server that starts in clear (port 587)", true
	case errors.As(err, &alert):
		return "the server ended the handshake (" + alert.Error() + ")", true
	case errors.As(err, &verify):
		return "its certificate was refused (" + verify.Error() + ")", true
	}
	if strings.Contains(err.Error(), "tls: ") {
		return err.Error(), true
	}
	return "", false
}

// auth chooses PLAIN, else LOGIN, among the mechanisms the server offers.
func (s *smtpSender) auth(offered string) (*passwordAuth, error) {
	mechs := strings.Fields(strings.ToUpper(offered))
	for _, want := range []string{"PLAIN", "LOGIN"} {
		for _, m := range mechs {
			if m == want {
				return &passwordAuth{mech: want, user: s.settings.Username, pass: s.settings.Password}, nil
			}
		}
	}
	return nil, sdk.Error(codeAuthFailed, "the SMTP server at %s offers AUTH %s, and the plugin speaks PLAIN and LOGIN only", s.addr, offered)
}

// passwordAuth is AUTH PLAIN (RFC 4616) or LOGIN with a user name and a
// password. Like net/smtp's PlainAuth, it refuses to send them over a
// connection without TLS, except to the loopback interface.
type passwordAuth struct {
	mech, user, pass string
	step             int
}

func (a *passwordAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, authError("the plugin refuses to send the password over a connection without TLS")
	}
	if a.mech == "PLAIN" {
		return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *passwordAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	if a.mech == "LOGIN" && a.step < 2 {
		a.step++
		if a.step == 1 {
			return []byte(a.user), nil
		}
		return []byte(a.pass), nil
	}
	return nil, authError(fmt.Sprintf("the server sent an unexpected AUTH %s challenge %q", a.mech, fromServer))
}

// authError is passwordAuth's refusal to go on.
type authError string

func (e authError) Error() string { return string(e) }
