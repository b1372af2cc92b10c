package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.notify in steward.yaml. None is required:
// a channel without settings is a sandbox, which renders the message and
// sends nothing.
type Settings struct {
	Email   EmailSettings   `json:"email,omitempty" desc:"the email action's SMTP server; without host, email is a sandbox"`
	Webhook WebhookSettings `json:"webhook,omitempty" desc:"the webhook action's incoming webhook; without url, webhook is a sandbox"`
	GitHub  GitHubSettings  `json:"github,omitempty" desc:"the github_issue action's repository; without repository and token, github_issue is a sandbox"`
	RunURL  string          `json:"run_url,omitempty" desc:"the link to a run record in messages, with {run_id} where the run's id goes, such as https://steward.example.org/runs/{run_id}; without it messages say steward show RUN_ID"`
}

// EmailSettings are the SMTP server the email action sends through.
type EmailSettings struct {
	Host     string `json:"host,omitempty" desc:"the SMTP server's host name or IP address, such as smtp.example.org"`
	Port     int    `json:"port,omitempty" min:"1" max:"65535" desc:"the SMTP server's port (default 587 with starttls, 465 with tls, 25 with none)"`
	Security string `json:"security,omitempty" enum:"starttls,tls,none" desc:"starttls (the default: refuses a server that does not offer STARTTLS), tls (implicit TLS, usually port 465) or none (only to 127.0.0.1, ::1 or localhost)"`
	Username string `json:"username,omitempty" desc:"the AUTH user name; without it no AUTH is sent"`
	// Password is best given as {secret: SMTP_PASSWORD}.
	Password string       `json:"password,omitempty" desc:"the AUTH password; write {secret: SMTP_PASSWORD}" steward:"sensitive"`
	From     string       `json:"from,omitempty" desc:"the sender, such as \"Steward <steward@example.org>\""`
	CAFile   string       `json:"ca_file,omitempty" desc:"a PEM file of the CA certificates to trust for the server's certificate; the system's roots when not set"`
	Timeout  sdk.Duration `json:"timeout,omitempty" desc:"how long one message may take to send, connection included (default 30s)"`
}

// WebhookSettings are the incoming webhook the webhook action posts to.
type WebhookSettings struct {
	// URL is the credential: whoever knows it can post.
	URL     string       `json:"url,omitempty" desc:"the incoming webhook's URL, a credential: write {secret: SLACK_WEBHOOK_URL}" steward:"sensitive"`
	Style   string       `json:"style,omitempty" enum:"slack,discord,teams,json" desc:"the body's shape: slack (the default), discord, teams (a MessageCard) or json (the action's input as is)"`
	Timeout sdk.Duration `json:"timeout,omitempty" desc:"how long the POST may take (default 10s)"`
}

// GitHubSettings are the repository github_issue opens issues in.
type GitHubSettings struct {
	Repository string `json:"repository,omitempty" pattern:"^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)?$" desc:"owner/name of the repository, such as stewardhq/incidents"`
	// Token is best given as {secret: GITHUB_TOKEN}.
	Token   string       `json:"token,omitempty" desc:"a token that may create issues in the repository (fine-grained: Issues read and write); write {secret: GITHUB_TOKEN}" steward:"sensitive"`
	BaseURL string       `json:"base_url,omitempty" desc:"the GitHub API's address (default https://api.github.com/; GitHub Enterprise Server: https://HOST/api/v3/)"`
	Timeout sdk.Duration `json:"timeout,omitempty" desc:"how long one GitHub request may take (default 30s)"`
}

// Security modes of email.security.
const (
	securitySTARTTLS = "starttls"
	securityTLS      = "tls"
	securityNone     = "none"
)

// Webhook styles of webhook.style.
const (
	styleSlack   = "slack"
	styleDiscord = "discord"
	styleTeams   = "teams"
	styleJSON    = "json"
)

const defaultGitHubURL = "https://api.github.com/"

func defaultSettings() Settings {
	return Settings{
		Email:   EmailSettings{Security: securitySTARTTLS, Timeout: sdk.Duration(30 * time.Second)},
		Webhook: WebhookSettings{Style: styleSlack, Timeout: sdk.Duration(10 * time.Second)},
		GitHub:  GitHubSettings{BaseURL: defaultGitHubURL, Timeout: sdk.Duration(30 * time.Second)},
	}
}

// configured says whether the email channel has settings: a host, an
// account, a sender or a CA. Port, security and timeout alone do not
// leave the sandbox.
func (e *EmailSettings) configured() bool {
	return e.Host != "" || e.Username != "" || e.Password != "" || e.From != "" || e.CAFile != ""
}

func (w *WebhookSettings) configured() bool { return w.URL != "" }

func (g *GitHubSettings) configured() bool { return g.Repository != "" || g.Token != "" }

// check refuses settings the schema lets through, with a message that
// says what to write, and fills in the defaults that depend on other
// settings. It never quotes a password, a token or a webhook URL.
func (s *Settings) check() error {
	var errs []error
	errs = append(errs, s.Email.check()...)
	errs = append(errs, s.Webhook.check()...)
	errs = append(errs, s.GitHub.check()...)
	if s.RunURL != "" {
		if err := checkRunURL(s.RunURL); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *EmailSettings) check() []error {
	if e.Security == "" {
		e.Security = securitySTARTTLS
	}
	if e.Port == 0 {
		e.Port = map[string]int{securitySTARTTLS: 587, securityTLS: 465, securityNone: 25}[e.Security]
	}
	if !e.configured() {
		return nil
	}
	var errs []error
	switch {
	case e.Host == "":
		errs = append(errs, errors.New("email.host is required to send email: set it to the SMTP server, such as smtp.example.org, or remove the email settings to use the sandbox"))
	case strings.ContainsAny(e.Host, "/@ ") || (strings.Contains(e.Host, ":") && net.ParseIP(e.Host) == nil):
		errs = append(errs, fmt.Errorf("email.host must be a host name or an IP address such as smtp.example.org, without a scheme or a port (set email.port), got %q", e.Host))
	case e.Security == securityNone && !isLoopback(e.Host):
		errs = append(errs, fmt.Errorf("email.security none sends the password and the message in clear: it is allowed only to 127.0.0.1, ::1 or localhost, not to %s; use starttls or tls", e.Host))
	}
	if e.From == "" {
		errs = append(errs, errors.New("email.from is required to send email: set it to the sender, such as \"Steward <steward@example.org>\""))
	} else if _, err := parseAddress(e.From); err != nil {
		errs = append(errs, fmt.Errorf("email.from must be one address such as \"Steward <steward@example.org>\", got %q: %v", e.From, err))
	}
	switch {
	case e.Username != "" && e.Password == "":
		errs = append(errs, errors.New("email.username is set but email.password is not: set it to {secret: SMTP_PASSWORD}"))
	case e.Username == "" && e.Password != "":
		errs = append(errs, errors.New("email.password is set but email.username is not: set the user name the server knows"))
	}
	if e.CAFile != "" {
		if _, err := loadCAFile(e.CAFile); err != nil {
			errs = append(errs, err)
		}
	}
	if d := e.Timeout.Std(); d <= 0 || d > 10*time.Minute {
		errs = append(errs, fmt.Errorf("email.timeout must be between 0s and 10m, got %s", e.Timeout))
	}
	return errs
}

func (w *WebhookSettings) check() []error {
	if w.Style == "" {
		w.Style = styleSlack
	}
	var errs []error
	if w.URL != "" {
		// The URL is a credential: the messages never quote it.
		u, err := url.Parse(w.URL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, errors.New("webhook.url must be an https URL, such as the one Slack, Discord or Teams gave for the incoming webhook (the value is not shown: it is a secret)"))
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errs = append(errs, errors.New("webhook.url must be https: plain http is allowed only to 127.0.0.1, ::1 or localhost (the value is not shown: it is a secret)"))
		}
	}
	if d := w.Timeout.Std(); d <= 0 || d > 5*time.Minute {
		errs = append(errs, fmt.Errorf("webhook.timeout must be between 0s and 5m, got %s", w.Timeout))
	}
	return errs
}

func (g *GitHubSettings) check() []error {
	if g.BaseURL == "" {
		g.BaseURL = defaultGitHubURL
	}
	if !strings.HasSuffix(g.BaseURL, "/") {
		g.BaseURL += "/"
	}
	var errs []error
	if g.configured() {
		if g.Repository == "" {
			errs = append(errs, errors.New("github.repository is required with github.token: set it to owner/name, such as stewardhq/incidents"))
		}
		if g.Token == "" {
			errs = append(errs, fmt.Errorf("github.token is required to open issues in %s: set it to {secret: GITHUB_TOKEN}", g.Repository))
		}
	}
	u, err := url.Parse(g.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		errs = append(errs, fmt.Errorf("github.base_url must be an http(s) URL such as %s, got %q", defaultGitHubURL, g.BaseURL))
	}
	if d := g.Timeout.Std(); d <= 0 || d > 5*time.Minute {
		errs = append(errs, fmt.Errorf("github.timeout must be between 0s and 5m, got %s", g.Timeout))
	}
	return errs
}

func checkRunURL(s string) error {
	if !strings.Contains(s, "{run_id}") {
		return fmt.Errorf("run_url must say where the run's id goes with {run_id}, such as https://steward.example.org/runs/{run_id}, got %q", s)
	}
	u, err := url.Parse(strings.ReplaceAll(s, "{run_id}", "x"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("run_url must be an http(s) URL such as https://steward.example.org/runs/{run_id}, got %q", s)
	}
	return nil
}

// isLoopback says whether host is 127.0.0.1 (any 127/8 address), ::1 or
// localhost.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// loadCAFile reads a PEM file of CA certificates.
func loadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read email.ca_file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("email.ca_file %s holds no PEM certificate: it must be the CA certificate (-----BEGIN CERTIFICATE-----) that signed the server's", path)
	}
	return pool, nil
}

// parseAddress reads one email address, with or without a display name.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("it holds a line break")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "mail: "))
	}
	return a, nil
}
