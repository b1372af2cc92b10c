package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"github.com/stewardhq/steward/schema/dataschema"
)

// start runs a fresh notify plugin with settings, a fixed clock and EHLO
// name.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	n := newNotify()
	n.now = func() time.Time { return time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC) }
	n.hostname = "steward.test"
	p := sdktest.Start(t, n.plugin())
	if err := p.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecret fails the test if secret is in the error, the outputs or the
// logs.
func noSecret(t *testing.T, secret string, out map[string]any, logs []sdktest.Log, err error) {
	t.Helper()
	for what, s := range map[string]string{"error": fmt.Sprint(err), "outputs": fmt.Sprint(out), "logs": fmt.Sprint(logs)} {
		if strings.Contains(s, secret) {
			t.Errorf("the secret %q is in the %s: %s", secret, what, s)
		}
	}
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	if d.Name != "notify" || d.Version != "1.0.0" {
		t.Errorf("plugin %s %s", d.Name, d.Version)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v requires=%s", a.Name, a.Mutates, a.Idempotent, strings.Join(a.Input.Required, ",")))
		for _, f := range []string{"channel", "sandbox"} {
			if a.Output.Properties[f] == nil {
				t.Errorf("%s: no %s output", a.Name, f)
			}
		}
	}
	want := `notify.email mutates=true idempotent=false requires=to,subject,body
notify.github_issue mutates=true idempotent=true requires=title,summary
notify.webhook mutates=true idempotent=false requires=text`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	var config dataschema.Schema
	if err := json.Unmarshal(d.Config, &config); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][2]string{{"email", "password"}, {"webhook", "url"}, {"github", "token"}} {
		if f := config.Properties[path[0]].Properties[path[1]]; f == nil || !f.Sensitive {
			t.Errorf("config schema: %s.%s is not sensitive: %s", path[0], path[1], d.Config)
		}
	}
}

func TestSettings(t *testing.T) {
	const pw, hook, token = "s3cret-pa55word", "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX", "ghp_SecretTokenThatMustNeverLeak"
	p := sdktest.Start(t, New())
	ca := t.TempDir() + "/ca.pem"
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"email": map[string]any{"username": "steward", "password": pw}},
			"email.host is required to send email: set it to the SMTP server, such as smtp.example.org, or remove the email settings to use the sandbox\n" +
				"email.from is required to send email: set it to the sender, such as \"Steward <steward@example.org>\""},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org", "from": "Steward <steward@example.org>", "username": "steward"}},
			"email.username is set but email.password is not: set it to {secret: SMTP_PASSWORD}"},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org", "from": "Steward <steward@example.org>", "password": pw}},
			"email.password is set but email.username is not: set the user name the server knows"},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org:587", "from": "steward"}},
			"email.host must be a host name or an IP address such as smtp.example.org, without a scheme or a port (set email.port), got \"smtp.example.org:587\"\n" +
				"email.from must be one address such as \"Steward <steward@example.org>\", got \"steward\": missing '@' or angle-addr"},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org", "from": "steward@example.org", "security": "none"}},
			"email.security none sends the password and the message in clear: it is allowed only to 127.0.0.1, ::1 or localhost, not to smtp.example.org; use starttls or tls"},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org", "from": "steward@example.org", "ca_file": ca, "timeout": "0s"}},
			"email.ca_file " + ca + " holds no PEM certificate: it must be the CA certificate (-----BEGIN CERTIFICATE-----) that signed the server's\n" +
				"email.timeout must be between 0s and 10m, got 0s"},
		{map[string]any{"email": map[string]any{"host": "smtp.example.org", "from": "steward@example.org", "ca_file": "/nonexistent/ca.pem"}},
			"cannot read email.ca_file: open /nonexistent/ca.pem: no such file or directory"},
		{map[string]any{"email": map[string]any{"security": "ssl"}}, `settings.email.security must be one of ["starttls", "tls", "none"], got "ssl"`},
		{map[string]any{"webhook": map[string]any{"url": "ftp://hooks.example.org/" + pw}},
			"webhook.url must be an https URL, such as the one Slack, Discord or Teams gave for the incoming webhook (the value is not shown: it is a secret)"},
		{map[string]any{"webhook": map[string]any{"url": "http://hooks.example.org/" + pw}},
			"webhook.url must be https: plain http is allowed only to 127.0.0.1, ::1 or localhost (the value is not shown: it is a secret)"},
		{map[string]any{"webhook": map[string]any{"url": hook, "style": "mattermost"}},
			`settings.webhook.style must be one of ["slack", "discord", "teams", "json"], got "mattermost"`},
		{map[string]any{"github": map[string]any{"token": token}},
			"github.repository is required with github.token: set it to owner/name, such as stewardhq/incidents"},
		{map[string]any{"github": map[string]any{"repository": "stewardhq/incidents", "base_url": "api.github.com"}},
			"github.token is required to open issues in stewardhq/incidents: set it to {secret: GITHUB_TOKEN}\n" +
				`github.base_url must be an http(s) URL such as https://api.github.com/, got "api.github.com/"`},
		{map[string]any{"github": map[string]any{"repository": "incidents", "token": token}},
			`settings.github.repository must match ^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)?$, got "incidents"`},
		{map[string]any{"run_url": "https://steward.example.org/runs/"},
			`run_url must say where the run's id goes with {run_id}, such as https://steward.example.org/runs/{run_id}, got "https://steward.example.org/runs/"`},
		{map[string]any{"run_url": "steward/{run_id}"},
			`run_url must be an http(s) URL such as https://steward.example.org/runs/{run_id}, got "steward/{run_id}"`},
		{map[string]any{"emial": map[string]any{}}, `settings: unknown field "emial"`},
	} {
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v:\n%v\nwant\n%s", c.settings, err, c.want)
		}
		for _, secret := range []string{pw, hook, token} {
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("a secret is in the error: %v", err)
			}
		}
	}
	for _, s := range []map[string]any{
		{},
		{"email": map[string]any{"host": "smtp.example.org", "from": "Steward <steward@example.org>", "username": "steward", "password": pw},
			"webhook": map[string]any{"url": hook, "style": "teams", "timeout": "5s"},
			"github":  map[string]any{"repository": "stewardhq/incidents", "token": token, "base_url": "https://github.example.org/api/v3"},
			"run_url": "https://steward.example.org/runs/{run_id}"},
		{"email": map[string]any{"host": "127.0.0.1", "port": 2525, "security": "none", "from": "steward@localhost"}},
		{"email": map[string]any{"security": "tls", "timeout": "1m"}, "webhook": map[string]any{"style": "discord"}}, // still sandboxes
		{"webhook": map[string]any{"url": "http://127.0.0.1:9/hook"}},
	} {
		if err := p.Configure(s); err != nil {
			t.Errorf("settings %v: %v", s, err)
		}
	}
}

func TestSettingsDefaults(t *testing.T) {
	for _, c := range []struct {
		security string
		port     int
	}{{"starttls", 587}, {"tls", 465}, {"none", 25}} {
		s := defaultSettings()
		s.Email = EmailSettings{Host: "localhost", From: "a@b.c", Security: c.security, Timeout: s.Email.Timeout}
		if err := s.check(); err != nil || s.Email.Port != c.port {
			t.Errorf("%s: port %d, %v", c.security, s.Email.Port, err)
		}
	}
	s := defaultSettings()
	s.GitHub.BaseURL = "https://github.example.org/api/v3"
	if err := s.check(); err != nil || s.GitHub.BaseURL != "https://github.example.org/api/v3/" || s.Webhook.Style != "slack" {
		t.Errorf("%v %+v", err, s)
	}
}
