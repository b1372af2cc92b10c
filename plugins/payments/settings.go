package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.payments in steward.yaml. None is
// required: with none, the plugin answers from its sandbox.
type Settings struct {
	Backend string         `json:"backend,omitempty" enum:"sandbox,stripe" desc:"where payments come from: sandbox (fixtures, the default) or stripe"`
	Stripe  StripeSettings `json:"stripe,omitempty" desc:"the stripe backend's settings"`
}

// StripeSettings are the stripe backend's settings.
type StripeSettings struct {
	// APIKey is best given as {secret: STRIPE_API_KEY}: Steward reads it
	// from the environment variable STEWARD_SECRET_STRIPE_API_KEY.
	APIKey     string       `json:"api_key,omitempty" desc:"Stripe secret or restricted key; write {secret: STRIPE_API_KEY}" steward:"sensitive"`
	BaseURL    string       `json:"base_url,omitempty" desc:"the Stripe API's address (default https://api.stripe.com)"`
	Timeout    sdk.Duration `json:"timeout,omitempty" desc:"how long one HTTP request may take (default 10s)"`
	MaxRetries int          `json:"max_retries,omitempty" min:"0" max:"5" desc:"extra tries inside one call after a 429, a 5xx, a timeout or a connection failure (default 2)"`
}

// Backend names, as the settings and every output's backend say them.
const (
	backendSandbox = "sandbox"
	backendStripe  = "stripe"
)

const defaultBaseURL = "https://api.stripe.com"

func defaultSettings() Settings {
	return Settings{
		Backend: backendSandbox,
		Stripe: StripeSettings{
			BaseURL:    defaultBaseURL,
			Timeout:    sdk.Duration(10 * time.Second),
			MaxRetries: 2,
		},
	}
}

// check refuses settings the schema lets through, with a message that
// says what to write. It never quotes the API key.
func (s *Settings) check() error {
	if s.Backend == "" {
		s.Backend = backendSandbox
	}
	if s.Backend != backendStripe {
		return nil
	}
	var errs []error
	if s.Stripe.APIKey == "" {
		errs = append(errs, errors.New("backend stripe needs stripe.api_key: set it to {secret: STRIPE_API_KEY}"))
	}
	if s.Stripe.BaseURL == "" {
		s.Stripe.BaseURL = defaultBaseURL
	}
	u, err := url.Parse(s.Stripe.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("stripe.base_url must be an http(s) URL such as %s, got %q", defaultBaseURL, s.Stripe.BaseURL))
	}
	if s.Stripe.Timeout.Std() <= 0 || s.Stripe.Timeout.Std() > 5*time.Minute {
		errs = append(errs, fmt.Errorf("stripe.timeout must be between 0s and 5m, got %s", s.Stripe.Timeout))
	}
	return errors.Join(errs...)
}

// backend is where payments come from: the sandbox's fixtures or Stripe.
// Its methods return outputs without their Backend field, which the
// actions set, and errors made with sdk.Error or sdk.Retryable.
type backend interface {
	name() string
	getPayment(ctx context.Context, call *sdk.Call, id string) (Payment, error)
	listAttempts(ctx context.Context, call *sdk.Call, paymentIntent string) ([]Attempt, error)
	getAuthorization(ctx context.Context, call *sdk.Call, id string) (Authorization, error)
	// listPayments lists a customer's payments created in [q.from, q.to]:
	// PaymentIntents, or charges when q.charges.
	listPayments(ctx context.Context, call *sdk.Call, q paymentQuery) ([]listedPayment, error)
	refund(ctx context.Context, call *sdk.Call, req refundRequest) (RefundOutput, error)
}
