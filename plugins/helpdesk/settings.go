package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.helpdesk in steward.yaml. None is
// required: with none, the plugin answers from its sandbox.
type Settings struct {
	Backend string          `json:"backend,omitempty" enum:"sandbox,zendesk" desc:"where tickets come from: sandbox (fixtures, the default) or zendesk"`
	Zendesk ZendeskSettings `json:"zendesk,omitempty" desc:"the zendesk backend's settings"`
}

// ZendeskSettings are the zendesk backend's settings: an agent's email
// address and an API token (Admin Center > Apps and integrations > APIs >
// Zendesk API), sent as basic auth EMAIL/token:TOKEN.
type ZendeskSettings struct {
	Subdomain string `json:"subdomain,omitempty" pattern:"^([a-z0-9][a-z0-9-]{0,62})?$" desc:"the account's subdomain: example for https://example.zendesk.com"`
	Email     string `json:"email,omitempty" desc:"the email address of the agent the token acts as; comments are posted as this agent"`
	// APIToken is best given as {secret: ZENDESK_API_TOKEN}.
	APIToken string `json:"api_token,omitempty" desc:"a Zendesk API token; write {secret: ZENDESK_API_TOKEN}" steward:"sensitive"`
	// Fields names the custom ticket fields get_ticket returns by name.
	Fields     map[string]int64 `json:"fields,omitempty" desc:"custom ticket fields by name, such as {category: 360001234567}: get_ticket returns them under fields.NAME"`
	BaseURL    string           `json:"base_url,omitempty" desc:"the API's address (default https://SUBDOMAIN.zendesk.com); http only to 127.0.0.1, ::1 or localhost"`
	Timeout    sdk.Duration     `json:"timeout,omitempty" desc:"how long one HTTP request may take (default 10s)"`
	MaxRetries int              `json:"max_retries,omitempty" min:"0" max:"5" desc:"extra tries inside one call after a 429, a 5xx, a timeout or a connection failure (default 2)"`
}

// Backend names, as the settings and every output's backend say them.
const (
	backendSandbox = "sandbox"
	backendZendesk = "zendesk"
)

func defaultSettings() Settings {
	return Settings{
		Backend: backendSandbox,
		Zendesk: ZendeskSettings{Timeout: sdk.Duration(10 * time.Second), MaxRetries: 2},
	}
}

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// check refuses settings the schema lets through, with a message that
// says what to write, and fills in the defaults that depend on other
// settings. It never quotes the API token.
func (s *Settings) check() error {
	if s.Backend == "" {
		s.Backend = backendSandbox
	}
	if s.Backend != backendZendesk {
		return nil
	}
	z := &s.Zendesk
	var errs []error
	if z.Subdomain == "" {
		errs = append(errs, errors.New("backend zendesk needs zendesk.subdomain: the example of https://example.zendesk.com"))
	}
	if z.Email == "" {
		errs = append(errs, errors.New("backend zendesk needs zendesk.email: the email address of the agent the API token acts as"))
	} else if strings.ContainsAny(z.Email, " /:\r\n") || !strings.Contains(z.Email, "@") {
		errs = append(errs, fmt.Errorf("zendesk.email must be an email address such as agent@example.org, got %q", z.Email))
	}
	if z.APIToken == "" {
		errs = append(errs, errors.New("backend zendesk needs zendesk.api_token: set it to {secret: ZENDESK_API_TOKEN}"))
	}
	for _, name := range slices.Sorted(maps.Keys(z.Fields)) {
		id := z.Fields[name]
		if !fieldName.MatchString(name) {
			errs = append(errs, fmt.Errorf("zendesk.fields: a name is lower case letters, digits and _, starting with a letter, got %q", name))
		}
		if id <= 0 {
			errs = append(errs, fmt.Errorf("zendesk.fields.%s must be the custom field's id, a positive number, got %d", name, id))
		}
	}
	if z.BaseURL == "" && z.Subdomain != "" {
		z.BaseURL = "https://" + z.Subdomain + ".zendesk.com"
	}
	z.BaseURL = strings.TrimRight(z.BaseURL, "/")
	if z.BaseURL != "" {
		u, err := url.Parse(z.BaseURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			errs = append(errs, fmt.Errorf("zendesk.base_url must be an https URL such as https://example.zendesk.com, got %q", z.BaseURL))
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errs = append(errs, fmt.Errorf("zendesk.base_url must be https: the API token would travel in clear; http is allowed only to 127.0.0.1, ::1 or localhost, got %q", z.BaseURL))
		}
	}
	if d := z.Timeout.Std(); d <= 0 || d > 5*time.Minute {
		errs = append(errs, fmt.Errorf("zendesk.timeout must be between 0s and 5m, got %s", z.Timeout))
	}
	return errors.Join(errs...)
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

// backend is where tickets come from: the sandbox's fixtures or Zendesk.
// Its methods return outputs without their Backend field, which the
// actions set, and errors made with sdk.Error or sdk.Retryable.
type backend interface {
	name() string
	getTicket(ctx context.Context, call *sdk.Call, id int64) (Ticket, error)
	// comment posts body (which ends with the key's reference) on the
	// ticket, unless a comment carrying ref is there already: then it
	// returns that one, with Posted false.
	comment(ctx context.Context, call *sdk.Call, req commentRequest) (CommentOutput, error)
	update(ctx context.Context, call *sdk.Call, req UpdateInput) (UpdateOutput, error)
}
