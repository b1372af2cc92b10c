package main

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/plugins/sdk"
)

// redactor removes the plugin's own secrets (the SMTP password, the
// webhook URL, the GitHub token) from what it says: error messages, log
// lines, rendered messages. The host redacts the secrets it knows as
// well; this is the plugin's own guard, for text that quotes a secret
// the host cannot recognise (a server echoing a credential, a URL inside
// an error of net/http).
type redactor struct{ secrets []string }

// minSecret is the shortest value redacted: shorter ones would mangle
// ordinary words, and are not credentials.
const minSecret = 4

func newRedactor(secrets ...string) redactor {
	var r redactor
	for _, s := range secrets {
		if len(s) >= minSecret {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// string returns s with every secret replaced by ***.
func (r redactor) string(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// error returns err with its message redacted, keeping its code and
// whether it is retryable.
func (r redactor) error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := r.string(msg)
	if clean == msg {
		return err
	}
	var ae *sdk.ActionError
	switch {
	case errors.As(err, &ae):
		return &sdk.ActionError{Code: ae.Code, Message: clean, Retryable: ae.Retryable}
	case errors.Is(err, context.DeadlineExceeded):
		return &sdk.ActionError{Code: sdk.CodeTimeout, Message: clean, Retryable: true}
	case errors.Is(err, context.Canceled):
		return &sdk.ActionError{Code: sdk.CodeCancelled, Message: clean}
	}
	return errors.New(clean)
}

// webhookSecrets are the parts of a webhook URL that are secret: all of
// it, its path (Slack's /services/T…/B…/TOKEN, Discord's
// /api/webhooks/ID/TOKEN) and its query, longest first.
func webhookSecrets(raw string) []string {
	if raw == "" {
		return nil
	}
	out := []string{raw}
	if u, err := url.Parse(raw); err == nil {
		if len(u.EscapedPath()) > 1 {
			out = append(out, u.EscapedPath())
			if u.Path != u.EscapedPath() {
				out = append(out, u.Path)
			}
		}
		if u.RawQuery != "" {
			out = append(out, u.RawQuery)
		}
	}
	return out
}
