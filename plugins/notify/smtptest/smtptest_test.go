package smtptest_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/notify/smtptest"
)

// client connects to srv with net/smtp, after STARTTLS trusting its CA.
func client(t *testing.T, srv *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func trust(t *testing.T, caFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the CA file")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func code(err error) int {
	if te, ok := err.(*textproto.Error); ok {
		return te.Code
	}
	return 0
}

func TestServerRequiresSTARTTLSThenAUTH(t *testing.T) {
	srv := smtptest.New(t)
	if srv.Security != "starttls" || srv.CAFile == "" || srv.Username != "steward" || !strings.HasPrefix(srv.Password, "smtptest-") {
		t.Fatalf("server %+v", srv)
	}
	c := client(t, srv)
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("no STARTTLS offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if err := c.Mail("a@example.org"); code(err) != 530 {
		t.Errorf("MAIL before STARTTLS: %v, want 530", err)
	}
	if err := c.StartTLS(trust(t, srv.CAFile)); err != nil {
		t.Fatal(err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "LOGIN PLAIN" {
		t.Errorf("AUTH after STARTTLS: %v %q", ok, mechs)
	}
	if err := c.Mail("a@example.org"); code(err) != 530 {
		t.Errorf("MAIL before AUTH: %v, want 530", err)
	}
	if err := c.Auth(smtp.PlainAuth("", srv.Username, "wrong", "127.0.0.1")); code(err) != 535 {
		t.Errorf("a wrong password: %v, want 535", err)
	}
	// net/smtp quits after a refused AUTH: again, on a new connection.
	c = client(t, srv)
	if err := c.StartTLS(trust(t, srv.CAFile)); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", srv.Username, srv.Password, "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("steward@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("reject-me@example.org"); code(err) != 550 {
		t.Errorf("RCPT reject-me: %v, want 550", err)
	}
	if err := c.Rcpt("defer-me@example.org"); code(err) != 451 {
		t.Errorf("RCPT defer-me: %v, want 451", err)
	}
	for _, r := range []string{"ana@example.org", "ben@example.org"} {
		if err := c.Rcpt(r); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte("From: Steward <steward@example.org>\r\nTo: Ana <ana@example.org>\r\nCc: ben@example.org\r\n" +
		"Subject: =?utf-8?q?Caf=C3=A9_closed?=\r\nMessage-ID: <k1@steward>\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Line one =E2=80=94 long=\r\n line.\r\n.dot line\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()

	msgs, err := srv.Messages()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	m := msgs[0]
	if m.MailFrom != "steward@example.org" || strings.Join(m.Recipients, ",") != "ana@example.org,ben@example.org" ||
		m.Login != "steward" || !m.TLS || m.From != "Steward <steward@example.org>" || strings.Join(m.To, ",") != "ana@example.org" ||
		strings.Join(m.Cc, ",") != "ben@example.org" || m.Subject != "Café closed" || m.MessageID != "<k1@steward>" ||
		m.Body != "Line one — long line.\n.dot line\n" || m.Headers.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("message %+v", m)
	}
}

func TestServerModes(t *testing.T) {
	plain := smtptest.New(t, smtptest.WithoutTLS(), smtptest.Credentials("relay", "relay-password"))
	c := client(t, plain)
	if ok, _ := c.Extension("STARTTLS"); ok || plain.Security != "none" || plain.CAFile != "" {
		t.Errorf("a server without TLS offers STARTTLS, or has a CA: %+v", plain)
	}
	if err := c.Auth(smtp.PlainAuth("", "relay", "relay-password", "127.0.0.1")); err != nil {
		t.Errorf("AUTH in clear: %v", err)
	}
	if s := plain.Settings(); s["security"] != "none" || s["username"] != "relay" || s["password"] != "relay-password" || s["ca_file"] != nil {
		t.Errorf("settings %v", s)
	}

	implicit := smtptest.New(t, smtptest.ImplicitTLS())
	conn, err := tls.Dial("tcp", implicit.Addr(), trust(t, implicit.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if ok, _ := c2.Extension("STARTTLS"); ok || implicit.Security != "tls" {
		t.Error("an implicit TLS server offers STARTTLS")
	}
	if err := c2.Auth(smtp.PlainAuth("", implicit.Username, implicit.Password, "127.0.0.1")); err != nil {
		t.Errorf("AUTH over implicit TLS: %v", err)
	}
}

func TestStopRemovesEverything(t *testing.T) {
	smtptest.Path(t)
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	ca := srv.CAFile
	srv.Stop()
	srv.Stop() // twice is fine
	if _, err := os.Stat(ca); !os.IsNotExist(err) {
		t.Errorf("the server's files are still there: %v", err)
	}
	if _, err := smtp.Dial(srv.Addr()); err == nil {
		t.Error("the server still answers after Stop")
	}
}
