package main

// The email action against a real SMTP server: aiosmtpd, started by
// package smtptest on a free loopback port, with STARTTLS required (a
// certificate from a CA made for the test), AUTH required, and every
// message it accepts read back from its files.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/notify/smtptest"
	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// emailSettings are srv's settings with changes (a nil value removes a
// setting).
func emailSettings(srv *smtptest.Server, changes map[string]any) map[string]any {
	s := srv.Settings()
	for k, v := range changes {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return map[string]any{"email": s}
}

func messages(t *testing.T, srv *smtptest.Server) []smtptest.Message {
	t.Helper()
	msgs, err := srv.Messages()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestEmailOverSTARTTLS(t *testing.T) {
	srv := smtptest.New(t)
	settings := emailSettings(srv, nil)
	settings["run_url"] = "https://steward.example.org/runs/{run_id}"
	p := start(t, settings)
	body := "Bonjour Ana,\n\nNous avons remboursé 25,00 € — " + strings.Repeat("très ", 30) + "long.\n.a line that starts with a dot\n"
	with := map[string]any{"to": "Ana Lima <ana@example.org>", "cc": []any{"ben@example.org"}, "reply_to": "support@example.org",
		"subject": "Remboursement effectué", "body": body}
	out, logs, err := p.Execute("email", with, inRun("notify")...)
	if err != nil {
		t.Fatal(err)
	}
	id := "<" + runID + "%3Anotify@steward>"
	want := fmt.Sprint(map[string]any{"channel": "email", "sandbox": false, "message_id": id, "to": []any{"ana@example.org"}, "subject": "Remboursement effectué"})
	if fmt.Sprint(out) != want {
		t.Errorf("outputs\n got %v\nwant %s", out, want)
	}
	wantLogs := fmt.Sprint([]sdktest.Log{
		{Level: "info", Message: `sending "Remboursement effectué" to ana@example.org, ben@example.org through ` + srv.Addr()},
		{Level: "debug", Message: "AUTH PLAIN as steward"},
		{Level: "info", Message: "the SMTP server accepted " + id},
	})
	if fmt.Sprint(logs) != wantLogs {
		t.Errorf("logs\n got %v\nwant %s", logs, wantLogs)
	}
	noSecret(t, srv.Password, out, logs, err)

	msgs := messages(t, srv)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	got := fmt.Sprintf("envelope %s -> %v, login %s, tls %v\nFrom: %s\nTo: %v\nCc: %v\nSubject: %s\nMessage-ID: %s\n",
		m.MailFrom, m.Recipients, m.Login, m.TLS, m.From, m.To, m.Cc, m.Subject, m.MessageID)
	for _, h := range []string{"Reply-To", "Date", "Auto-Submitted", "X-Steward-Run", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"} {
		got += h + ": " + m.Headers.Get(h) + "\n"
	}
	wantMsg := "envelope steward@example.org -> [ana@example.org ben@example.org], login steward, tls true\n" +
		"From: \"Steward\" <steward@example.org>\nTo: [ana@example.org]\nCc: [ben@example.org]\nSubject: Remboursement effectué\nMessage-ID: " + id + "\n" +
		"Reply-To: <support@example.org>\nDate: Sat, 21 Nov 2026 10:15:02 +0000\nAuto-Submitted: auto-generated\nX-Steward-Run: " + runID + "\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n"
	if got != wantMsg {
		t.Errorf("message\n%s\nwant\n%s", got, wantMsg)
	}
	if wantBody := body + "\n-- \nSent by Steward from run " + runID + ": https://steward.example.org/runs/" + runID + "\n"; m.Body != wantBody {
		t.Errorf("body\n%q\nwant\n%q", m.Body, wantBody)
	}
	if !strings.Contains(string(m.Raw), "Subject: =?utf-8?q?Remboursement_effectu=C3=A9?=\r\n") {
		t.Errorf("the subject is not RFC 2047 encoded:\n%s", m.Raw)
	}
	for _, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("a line of %d characters went over the wire: %q", len(line), line)
		}
	}
	if strings.Contains(string(m.Raw), srv.Password) {
		t.Error("the password is in the message")
	}

	// A retry of the step sends a second copy with the same Message-ID,
	// so that mail clients show one.
	if _, _, err := p.Execute("email", with, append(inRun("notify"), sdktest.Attempt(2))...); err != nil {
		t.Fatal(err)
	}
	if msgs := messages(t, srv); len(msgs) != 2 || msgs[1].MessageID != id {
		t.Errorf("the retry's copy: %d messages", len(msgs))
	}
}

func TestEmailOtherModes(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []smtptest.Option
		mech string
		tls  bool
	}{
		{"implicit TLS", []smtptest.Option{smtptest.ImplicitTLS()}, "PLAIN", true},
		{"LOGIN only", []smtptest.Option{smtptest.Mechanisms("LOGIN")}, "LOGIN", true},
		{"no TLS to 127.0.0.1", []smtptest.Option{smtptest.WithoutTLS(), smtptest.Credentials("relay", "relay-pa55word")}, "PLAIN", false},
	} {
		srv := smtptest.New(t, c.opts...)
		p := start(t, emailSettings(srv, nil))
		out, logs, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": c.name, "body": "b"}, inRun("notify")...)
		if err != nil || out["sandbox"] != false {
			t.Fatalf("%s: %v %v", c.name, out, err)
		}
		if logs[1].Message != "AUTH "+c.mech+" as "+srv.Username {
			t.Errorf("%s: logs %v", c.name, logs)
		}
		msgs := messages(t, srv)
		if len(msgs) != 1 || msgs[0].Subject != c.name || msgs[0].TLS != c.tls || msgs[0].Login != srv.Username {
			t.Errorf("%s: %+v", c.name, msgs)
		}
		noSecret(t, srv.Password, out, logs, err)
	}
}

func TestEmailWrongPassword(t *testing.T) {
	srv := smtptest.New(t)
	const wrong = "not-the-Pa55word"
	p := start(t, emailSettings(srv, map[string]any{"password": wrong}))
	out, logs, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "auth_failed", false, "the SMTP server at "+srv.Addr()+" refused the user name steward with its password "+
		"(535 5.7.8 Authentication credentials invalid): check plugins.settings.notify.email.username and email.password")
	noSecret(t, wrong, out, logs, err)
	noSecret(t, srv.Password, out, logs, err)
	if n := len(messages(t, srv)); n != 0 {
		t.Errorf("%d messages went through", n)
	}

	// No AUTH at all, to a server that requires it.
	p = start(t, emailSettings(srv, map[string]any{"username": nil, "password": nil}))
	_, _, err = p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "auth_failed", false, "the SMTP server at "+srv.Addr()+" wants AUTH before MAIL FROM (530 5.7.0 Authentication required): set email.username and email.password")
}

func TestEmailRequiresSTARTTLS(t *testing.T) {
	srv := smtptest.New(t, smtptest.WithoutTLS())
	p := start(t, emailSettings(srv, map[string]any{"security": "starttls"}))
	out, logs, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "starttls_required", false, "the SMTP server at "+srv.Addr()+" does not offer STARTTLS, and email.security is starttls: "+
		"nothing was sent, the password neither. Use security: tls for a server that expects TLS from the first byte (usually port 465), or check email.host and email.port")
	noSecret(t, srv.Password, out, logs, err)
	if n := len(messages(t, srv)); n != 0 {
		t.Errorf("%d messages went through", n)
	}

	// security none to a server that wants STARTTLS: with and without a
	// user name.
	tlsSrv := smtptest.New(t)
	p = start(t, emailSettings(tlsSrv, map[string]any{"security": "none", "ca_file": nil}))
	_, _, err = p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "starttls_required", false, "the SMTP server at "+tlsSrv.Addr()+" offers AUTH only after STARTTLS, and email.security is none: set email.security to starttls")
	p = start(t, emailSettings(tlsSrv, map[string]any{"security": "none", "ca_file": nil, "username": nil, "password": nil}))
	_, _, err = p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "starttls_required", false, "the SMTP server at "+tlsSrv.Addr()+" requires STARTTLS before MAIL FROM (530 Must issue a STARTTLS command first), and email.security is none: set email.security to starttls")
	if n := len(messages(t, tlsSrv)); n != 0 {
		t.Errorf("%d messages went through", n)
	}
}

func TestEmailUnknownCA(t *testing.T) {
	srv := smtptest.New(t)
	other, err := smtptest.NewCA(t.TempDir(), "other-ca")
	if err != nil {
		t.Fatal(err)
	}
	implicit := smtptest.New(t, smtptest.ImplicitTLS())
	const unknown = "its certificate is not signed by a CA the plugin trusts (x509: certificate signed by unknown authority): set email.ca_file to the PEM file of the CA that signed it"
	for _, c := range []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"the system's roots", emailSettings(srv, map[string]any{"ca_file": nil}), "TLS with the SMTP server at " + srv.Addr() + " failed: " + unknown},
		{"another CA", emailSettings(srv, map[string]any{"ca_file": other.File}), "TLS with the SMTP server at " + srv.Addr() + " failed: " + unknown},
		{"implicit TLS, the system's roots", emailSettings(implicit, map[string]any{"ca_file": nil}), "TLS with the SMTP server at " + implicit.Addr() + " failed: " + unknown},
		{"implicit TLS to a STARTTLS server", emailSettings(srv, map[string]any{"security": "tls"}), "TLS with the SMTP server at " + srv.Addr() +
			" failed: it did not answer in TLS: with security: tls the server must speak TLS from the first byte (usually port 465); use security: starttls for a server that starts in clear (port 587)"},
	} {
		p := start(t, c.settings)
		out, logs, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
		sdktest.WantError(t, err, "tls", false, c.want)
		noSecret(t, srv.Password, out, logs, err)
	}
	if n := len(messages(t, srv)) + len(messages(t, implicit)); n != 0 {
		t.Errorf("%d messages went through", n)
	}
}

func TestEmailRecipientRefused(t *testing.T) {
	srv := smtptest.New(t)
	p := start(t, emailSettings(srv, nil))
	_, _, err := p.Execute("email", map[string]any{"to": []any{"ana@example.org", "reject-me@example.org"}, "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "rejected", false, "the SMTP server at "+srv.Addr()+" refused RCPT TO reject-me@example.org: 550 5.1.1 <reject-me@example.org>: mailbox unavailable")
	_, _, err = p.Execute("email", map[string]any{"to": "ana@example.org", "cc": "defer-me@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "temporary", true, "the SMTP server at "+srv.Addr()+" deferred RCPT TO defer-me@example.org, try again later: 451 4.2.1 <defer-me@example.org>: mailbox busy, try again later")
	if n := len(messages(t, srv)); n != 0 {
		t.Errorf("%d messages went through: a refused recipient stops the whole message", n)
	}
}

func TestEmailServerUnreachable(t *testing.T) {
	srv := smtptest.New(t)
	p := start(t, emailSettings(srv, nil))
	srv.Stop()
	// Its port, held, refuses connections, and no other process is handed
	// it while the test runs (peertest.Hold).
	release, err := peertest.Hold(srv.Port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	_, logs, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "connection", true, "could not reach the SMTP server at "+srv.Addr()+" (dial tcp "+srv.Addr()+": connect: connection refused): check email.host and email.port, or try again if it is down")
	noSecret(t, srv.Password, nil, logs, err)
}

// silentServer accepts connections and never says anything.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestEmailTimeouts(t *testing.T) {
	addr := silentServer(t)
	host, port, _ := net.SplitHostPort(addr)
	var portNum int
	fmt.Sscan(port, &portNum)
	settings := map[string]any{"email": map[string]any{"host": host, "port": portNum, "from": "steward@example.org", "timeout": "200ms"}}
	p := start(t, settings)
	_, _, err := p.Execute("email", map[string]any{"to": "ana@example.org", "subject": "s", "body": "b"})
	sdktest.WantError(t, err, "connection", true, "the SMTP server at "+addr+" did not answer within 200ms (email.timeout), at the greeting: try again later, or raise email.timeout")

	// The step's deadline comes first: the sender returns the context's
	// error (the SDK reports it as the retryable timeout). The host gives
	// up at the deadline too, so this is the sender alone.
	sender, err := newSMTPSender(EmailSettings{Host: host, Port: portNum, Security: "starttls", From: "steward@example.org", Timeout: sdk.Duration(time.Minute)}, "steward.test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	m := &email{to: []*mail.Address{{Address: "ana@example.org"}}, subject: "s", text: "b", id: "<k@steward>"}
	err = sender.send(ctx, nil, m, time.Now())
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "sending email through "+addr+", at the greeting: context deadline exceeded" {
		t.Errorf("%v", err)
	}
}
