// Package smtptest runs a real SMTP server for tests: aiosmtpd (Debian's
// python3-aiosmtpd) under /usr/bin/python3, from a small script embedded
// here, on 127.0.0.1 at a port the system chooses. By default it is a
// submission server as a mail provider runs one: STARTTLS required before
// anything else, with a certificate signed by a CA made in Go for this
// server (CAFile), then AUTH PLAIN or LOGIN required before MAIL. Every
// message it accepts is stored as a file, and Messages reads them back:
// envelope, headers, decoded subject and body.
//
//	srv := smtptest.New(t) // fails (or skips with STEWARD_SKIP_PEERS=1) without aiosmtpd; stopped when t ends
//	settings := map[string]any{"email": srv.Settings()} // plugins.settings.notify
//	... send through the plugin ...
//	msgs, err := srv.Messages()
//	// msgs[0].Subject, msgs[0].Body, msgs[0].Recipients, msgs[0].MessageID, msgs[0].Login, msgs[0].TLS
//
// Start (with Stop) is the same without a testing.TB, for a server shared
// by several tests. Options make the server's faults: WithoutTLS (no
// STARTTLS offered: a client that requires it must refuse), ImplicitTLS
// (TLS from the first byte, as on port 465), Credentials (choose the user
// name and password; by default "steward" and a random password),
// Mechanisms (offer only some of AUTH PLAIN and LOGIN).
// Recipients whose local part starts with "reject" are refused with 550,
// those starting with "defer" with 451.
//
// The server needs /usr/bin/python3 with aiosmtpd: apt-get install
// python3-aiosmtpd. (Not the python3 first on PATH, which may be another
// interpreter without Debian's packages.)
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed smtpd.py
var script []byte

const (
	// Python is the interpreter the server runs with: Debian's, which
	// finds Debian's python3-aiosmtpd.
	Python = "/usr/bin/python3"
	// Install is the command that installs aiosmtpd for it.
	Install = "apt-get install python3-aiosmtpd"
	// From is the sender Settings proposes.
	From = "Steward <steward@example.org>"
)

const why = "this test runs a real SMTP server (aiosmtpd)"

var (
	lookupOnce sync.Once
	lookupErr  error
)

// Lookup checks that Python can import aiosmtpd. Its error says how to
// install it.
func Lookup() error {
	lookupOnce.Do(func() {
		if _, err := os.Stat(Python); err != nil {
			lookupErr = fmt.Errorf("%s with %s, and there is no %s: install it with: apt-get install python3 python3-aiosmtpd", why, Python, Python)
			return
		}
		out, err := exec.Command(Python, "-I", "-c", "import aiosmtpd").CombinedOutput()
		if err != nil {
			lookupErr = fmt.Errorf("%s with %s, which cannot import aiosmtpd (%s): install it with: %s",
				why, Python, strings.TrimSpace(lastLine(string(out))), Install)
		}
	})
	return lookupErr
}

// Path returns the interpreter's path once it can import aiosmtpd.
// Without it the test fails, saying how to install it, unless
// STEWARD_SKIP_PEERS=1 says to skip tests that need a peer.
func Path(t testing.TB) string {
	t.Helper()
	if err := Lookup(); err != nil {
		if os.Getenv("STEWARD_SKIP_PEERS") == "1" {
			t.Skipf("aiosmtpd is not installed for %s and STEWARD_SKIP_PEERS=1: skipping the tests that need it", Python)
		}
		t.Fatal(err)
	}
	return Python
}

// Option changes the server Start runs.
type Option func(*config)

type config struct {
	mode       string // starttls, tls or plain
	user       string
	password   string
	mechanisms []string
}

// WithoutTLS runs a server that offers no STARTTLS and takes AUTH in
// clear, as a local relay might: a client that requires STARTTLS must
// refuse it, one with security none may use it.
func WithoutTLS() Option { return func(c *config) { c.mode = "plain" } }

// ImplicitTLS runs a server that speaks TLS from the first byte, as on
// port 465 (security tls), instead of STARTTLS.
func ImplicitTLS() Option { return func(c *config) { c.mode = "tls" } }

// Credentials sets the user name and password AUTH accepts.
func Credentials(user, password string) Option {
	return func(c *config) { c.user, c.password = user, password }
}

// Mechanisms sets the AUTH mechanisms the server offers, among PLAIN and
// LOGIN (both by default).
func Mechanisms(names ...string) Option { return func(c *config) { c.mechanisms = names } }

// Server is a running aiosmtpd.
type Server struct {
	// Host is 127.0.0.1, Port the port the system chose.
	Host string
	Port int
	// Username and Password are what AUTH accepts (PLAIN or LOGIN).
	Username string
	Password string
	// CAFile is the PEM file of the CA that signed the server's
	// certificate (valid for 127.0.0.1, ::1 and localhost); "" with
	// WithoutTLS.
	CAFile string
	// Security is what the notify plugin's email.security must say for
	// this server: starttls, tls (ImplicitTLS) or none (WithoutTLS).
	Security string

	dir, maildir string
	cmd          *exec.Cmd
	exited       chan struct{}
	stopOnce     sync.Once
}

// New starts a server for the test, and stops it when the test ends. It
// fails the test (or skips it, see Path) when it cannot.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	Path(t)
	s, err := Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts a server and returns once it accepts connections. Stop it
// with Stop.
func Start(opts ...Option) (*Server, error) {
	if err := Lookup(); err != nil {
		return nil, err
	}
	c := config{mode: "starttls", user: "steward"}
	for _, o := range opts {
		o(&c)
	}
	if c.password == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		c.password = "smtptest-" + hex.EncodeToString(b[:])
	}
	dir, err := os.MkdirTemp("", "steward-smtptest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Username: c.user, Password: c.password, dir: dir,
		maildir: filepath.Join(dir, "mail"), exited: make(chan struct{}),
		Security: map[string]string{"starttls": "starttls", "tls": "tls", "plain": "none"}[c.mode]}
	if err := s.start(c); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(c config) error {
	if err := os.Mkdir(s.maildir, 0o700); err != nil {
		return err
	}
	scriptFile := filepath.Join(s.dir, "smtpd.py")
	if err := os.WriteFile(scriptFile, script, 0o600); err != nil {
		return err
	}
	args := []string{"-I", scriptFile, "--mode", c.mode, "--user", c.user, "--maildir", s.maildir}
	if c.mechanisms != nil {
		args = append(args, "--mechanisms", strings.Join(c.mechanisms, " "))
	}
	if c.mode != "plain" {
		ca, err := NewCA(s.dir, "smtptest-ca")
		if err != nil {
			return fmt.Errorf("smtptest: making the CA: %v", err)
		}
		cert, key := filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server-key.pem")
		if err := ca.issue(cert, key); err != nil {
			return fmt.Errorf("smtptest: making the server's certificate: %v", err)
		}
		s.CAFile = ca.File
		args = append(args, "--cert", cert, "--key", key)
	}
	logFile, err := os.Create(filepath.Join(s.dir, "smtpd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(Python, args...)
	s.cmd.Env = append(os.Environ(), "SMTPTEST_PASSWORD="+c.password)
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("smtptest: starting %s: %v", Python, err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	select {
	case line := <-ready:
		var r struct{ Port int }
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Port == 0 {
			return fmt.Errorf("smtptest: aiosmtpd did not start (%q):\n%s", strings.TrimSpace(line), s.LogTail())
		}
		s.Port = r.Port
	case <-time.After(30 * time.Second):
		return fmt.Errorf("smtptest: aiosmtpd did not start within 30s:\n%s", s.LogTail())
	}
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Settings are the notify plugin's email settings for this server
// (plugins.settings.notify.email), sender From.
func (s *Server) Settings() map[string]any {
	m := map[string]any{"host": s.Host, "port": s.Port, "security": s.Security,
		"username": s.Username, "password": s.Password, "from": From}
	if s.CAFile != "" {
		m["ca_file"] = s.CAFile
	}
	return m
}

// LogTail is the last 30 lines aiosmtpd wrote on stderr.
func (s *Server) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "smtpd.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
// files, messages included. It may be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		_ = os.RemoveAll(s.dir)
	})
}

// Message is a message the server accepted.
type Message struct {
	// MailFrom and Recipients are the envelope: MAIL FROM and every
	// accepted RCPT TO, in order.
	MailFrom   string
	Recipients []string
	// Login is the user name the client authenticated as ("" without
	// AUTH); TLS says whether the session was encrypted.
	Login string
	TLS   bool

	// From is the From header as written; To and Cc the addresses of
	// those headers (without display names).
	From string
	To   []string
	Cc   []string
	// Subject is decoded (RFC 2047); MessageID is the Message-ID header
	// as written, with its angle brackets.
	Subject   string
	MessageID string
	Headers   mail.Header
	// Body is the body decoded from its Content-Transfer-Encoding
	// (quoted-printable, base64, or none), line ends as \n.
	Body string
	// Raw is the message as received.
	Raw []byte
}

// Messages reads every message the server has accepted, oldest first. A
// message is stored before the server answers the end of DATA: once a
// client has sent it, it is here.
func (s *Server) Messages() ([]Message, error) {
	metas, err := filepath.Glob(filepath.Join(s.maildir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(metas)
	out := make([]Message, 0, len(metas))
	for _, meta := range metas {
		m, err := readMessage(meta)
		if err != nil {
			return nil, fmt.Errorf("smtptest: %s: %v", filepath.Base(meta), err)
		}
		out = append(out, m)
	}
	return out, nil
}

func readMessage(metaFile string) (Message, error) {
	var m Message
	b, err := os.ReadFile(metaFile)
	if err != nil {
		return m, err
	}
	var meta struct {
		MailFrom string   `json:"mail_from"`
		RcptTos  []string `json:"rcpt_tos"`
		Login    *string  `json:"login"`
		TLS      bool     `json:"tls"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return m, err
	}
	m.MailFrom, m.Recipients, m.TLS = meta.MailFrom, meta.RcptTos, meta.TLS
	if meta.Login != nil {
		m.Login = *meta.Login
	}
	if m.Raw, err = os.ReadFile(strings.TrimSuffix(metaFile, ".json") + ".eml"); err != nil {
		return m, err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return m, err
	}
	m.Headers = msg.Header
	m.From = msg.Header.Get("From")
	m.MessageID = msg.Header.Get("Message-ID")
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("the Subject header: %v", err)
	}
	for _, h := range []struct {
		name string
		dst  *[]string
	}{{"To", &m.To}, {"Cc", &m.Cc}} {
		if msg.Header.Get(h.name) == "" {
			continue
		}
		list, err := msg.Header.AddressList(h.name)
		if err != nil {
			return m, fmt.Errorf("the %s header: %v", h.name, err)
		}
		for _, a := range list {
			*h.dst = append(*h.dst, a.Address)
		}
	}
	var body io.Reader = msg.Body
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // it skips line ends
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return m, fmt.Errorf("body: %v", err)
	}
	m.Body = strings.ReplaceAll(string(text), "\r\n", "\n")
	return m, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
