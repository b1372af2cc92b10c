// Command steward-plugin-notify tells people what a run found or did:
//
//   - notify.email sends a plain-text email through an SMTP server
//     (STARTTLS or implicit TLS, AUTH PLAIN or LOGIN), with a Message-ID
//     made from the step's idempotency key so that receivers can drop a
//     retry's copy;
//   - notify.webhook posts to an incoming webhook shaped for Slack,
//     Discord, Teams (a MessageCard), or as plain JSON;
//   - notify.github_issue opens a GitHub issue with a structured body
//     (summary, impact, reproduction, logs, provider response, run
//     record), once per step whatever the retries.
//
// A channel without settings is a sandbox: the action checks its input,
// renders the message, returns it with sandbox: true and sends nothing, so
// that the quickstart and every runbook test work anywhere. Every output
// carries channel and sandbox. docs/plugins-notify.md documents the
// settings, the actions and the error codes; package smtptest runs a real
// SMTP server for tests.
//
// Build it with `go build -o bin/steward-plugin-notify ./plugins/notify`.
package main

import (
	"context"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

func main() { sdk.Serve(New()) }

// New returns the plugin; each call a fresh one, for tests.
func New() sdk.Plugin { return newNotify().plugin() }

// notify is the plugin: its settings and the senders they chose. A nil
// sender is that channel's sandbox.
type notify struct {
	settings Settings

	email   *smtpSender
	webhook *webhookSender
	github  *issueOpener
	secrets redactor

	// Tests set these before the plugin is configured.
	now      func() time.Time // the Date of emails; time.Now when nil
	hostname string           // the EHLO name; os.Hostname's when empty
}

func newNotify() *notify { return &notify{settings: defaultSettings()} }

func (n *notify) plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "notify",
		Version:     version,
		Description: "Email over SMTP, chat webhooks (Slack, Discord, Teams) and GitHub issues, or a sandbox that only renders them.",
		Config:      &n.settings,
		Configure:   n.configure,
		Actions: []sdk.ActionDef{
			sdk.Action("email", n.sendEmail,
				sdk.Describe("Sends a plain-text email through the SMTP server of the settings (STARTTLS required by default)."),
				sdk.Mutates()),
			sdk.Action("webhook", n.postWebhook,
				sdk.Describe("Posts a message to the incoming webhook of the settings, shaped for Slack, Discord, Teams or as plain JSON."),
				sdk.Mutates()),
			sdk.Action("github_issue", n.openIssue,
				sdk.Describe("Opens a GitHub issue with a structured body, once per step whatever the retries."),
				sdk.Mutates(), sdk.Idempotent()),
		},
	}
}

const version = "1.0.0"

// configure runs once the settings are decoded: it checks them and builds
// a sender for each channel that has settings.
func (n *notify) configure(context.Context) error {
	n.email, n.webhook, n.github = nil, nil, nil
	s := &n.settings
	n.secrets = newRedactor(append([]string{s.Email.Password, s.GitHub.Token}, webhookSecrets(s.Webhook.URL)...)...)
	if err := s.check(); err != nil {
		return n.secrets.error(err)
	}
	if s.Email.configured() {
		name := n.hostname
		if name == "" {
			name = ehloName()
		}
		sender, err := newSMTPSender(s.Email, name)
		if err != nil {
			return n.secrets.error(err)
		}
		n.email = sender
	}
	if s.Webhook.configured() {
		n.webhook = newWebhookSender(s.Webhook)
	}
	if s.GitHub.configured() {
		n.github = newIssueOpener(s.GitHub)
	}
	return nil
}

func (n *notify) clock() time.Time {
	if n.now != nil {
		return n.now()
	}
	return time.Now()
}

// ehloName is the name the plugin gives itself in EHLO: the machine's
// host name when it is a plausible domain, else localhost.
func ehloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || strings.ContainsFunc(h, func(r rune) bool {
		return !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return "localhost"
	}
	return h
}

// runLink is where the run record of runID is: the run_url with the id,
// or "" without run_url.
func (n *notify) runLink(runID string) string {
	if n.settings.RunURL == "" || runID == "" {
		return ""
	}
	return strings.ReplaceAll(n.settings.RunURL, "{run_id}", url.PathEscape(runID))
}
