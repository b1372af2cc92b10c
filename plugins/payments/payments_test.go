package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// start runs a fresh payments plugin with settings.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	return startPlugin(t, newPayments(), settings)
}

// startPlugin runs p (whose test hooks the caller may have set) with
// settings.
func startPlugin(t *testing.T, p *payments, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	sp := sdktest.Start(t, p.plugin())
	if err := sp.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	if d.Name != "payments" || d.Version != "1.0.0" {
		t.Errorf("plugin %s %s", d.Name, d.Version)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v", a.Name, a.Mutates, a.Idempotent))
	}
	want := `payments.explain_decline mutates=false idempotent=false
payments.find_duplicates mutates=false idempotent=false
payments.get_authorization mutates=false idempotent=false
payments.get_payment mutates=false idempotent=false
payments.list_payment_attempts mutates=false idempotent=false
payments.refund mutates=true idempotent=true`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	for action, required := range map[string]string{
		"get_payment": "payment_id", "list_payment_attempts": "payment_id", "get_authorization": "authorization_id",
		"explain_decline": "", "refund": "payment_id", "find_duplicates": "payment_id",
	} {
		if got := strings.Join(p.Action(action).Input.Required, ","); got != required {
			t.Errorf("%s requires %q, want %q", action, got, required)
		}
	}
	if !strings.Contains(string(d.Config), `"api_key":{"type":"string","description":"Stripe secret or restricted key; write {secret: STRIPE_API_KEY}","x-sensitive":true}`) {
		t.Errorf("config schema: %s", d.Config)
	}
	// Every output says which backend answered.
	for _, a := range d.Actions {
		if b := a.Output.Properties["backend"]; b == nil || len(b.Enum) != 2 {
			t.Errorf("%s: no backend output", a.Name)
		}
	}
}

func TestSettings(t *testing.T) {
	p := sdktest.Start(t, New())
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"backend": "stripe"}, "backend stripe needs stripe.api_key: set it to {secret: STRIPE_API_KEY}"},
		{map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "base_url": "ftp://example.com"}},
			`stripe.base_url must be an http(s) URL such as https://api.stripe.com, got "ftp://example.com"`},
		{map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "timeout": "0s"}},
			"stripe.timeout must be between 0s and 5m, got 0s"},
		{map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "max_retries": 9}},
			"settings.stripe.max_retries must be at most 5, got 9"},
		{map[string]any{"backend": "paypal"}, `settings.backend must be one of ["sandbox", "stripe"], got "paypal"`},
		{map[string]any{"stripe": map[string]any{"apikey": "sk_test_k3y"}}, `settings.stripe: unknown field "apikey"`},
	} {
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v: %v, want %q", c.settings, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk_test_k3y") {
			t.Errorf("the key is in the error: %v", err)
		}
	}
	// A stripe backend fully configured, and the sandbox ignoring stripe
	// settings, are accepted.
	for _, s := range []map[string]any{
		{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "base_url": "http://127.0.0.1:1/", "timeout": "2s", "max_retries": 0}},
		{"backend": "sandbox", "stripe": map[string]any{"api_key": "sk_test_k3y"}},
		{},
	} {
		if err := p.Configure(s); err != nil {
			t.Errorf("settings %v: %v", s, err)
		}
	}
}

func TestSandboxIsTheDefault(t *testing.T) {
	p := sdktest.Start(t, New()) // never configured: the host sends {} first
	out, _, err := p.Execute("get_payment", map[string]any{"payment_id": "pi_sandbox_succeeded"})
	if err != nil || out["backend"] != "sandbox" || out["status"] != "succeeded" {
		t.Fatalf("%v %v", out, err)
	}
}

// TestInputPatterns: malformed ids and codes are refused before the
// handler runs (a stripe backend that would count requests sees none).
func TestInputPatterns(t *testing.T) {
	srv, hits := countingServer(t)
	p := start(t, map[string]any{"backend": "stripe", "stripe": map[string]any{"api_key": "sk_test_k3y", "base_url": srv}})
	for _, c := range []struct {
		action string
		with   map[string]any
		want   string
	}{
		{"get_payment", map[string]any{"payment_id": "py_1234567"}, `with.payment_id must match ^(pi|ch)_[A-Za-z0-9_]{6,250}$, got "py_1234567"`},
		{"get_payment", map[string]any{"payment_id": "pi_12345"}, `with.payment_id must match ^(pi|ch)_[A-Za-z0-9_]{6,250}$, got "pi_12345"`},
		{"get_payment", map[string]any{"payment_id": "pi_123456/../../v1/refunds"}, `with.payment_id must match ^(pi|ch)_[A-Za-z0-9_]{6,250}$, got "pi_123456/../../v1/refunds"`},
		{"get_payment", map[string]any{"payment_id": "pi_123456?expand[]=customer"}, `with.payment_id must match ^(pi|ch)_[A-Za-z0-9_]{6,250}$, got "pi_123456?expand[]=customer"`},
		{"get_payment", map[string]any{}, `with: missing required field "payment_id"`},
		{"list_payment_attempts", map[string]any{"payment_id": "ch_sandbox_succeeded"}, `with.payment_id must match ^pi_[A-Za-z0-9_]{6,250}$, got "ch_sandbox_succeeded"`},
		{"get_authorization", map[string]any{"authorization_id": "iauth_1"}, `with.authorization_id must match ^iauth_[A-Za-z0-9_]{6,250}$, got "iauth_1"`},
		{"get_authorization", map[string]any{"authorization_id": "pi_sandbox_succeeded"}, `with.authorization_id must match ^iauth_[A-Za-z0-9_]{6,250}$, got "pi_sandbox_succeeded"`},
		{"explain_decline", map[string]any{"decline_code": "Insufficient Funds"}, `with.decline_code must match ^[a-z_]{0,64}$, got "Insufficient Funds"`},
		{"explain_decline", map[string]any{"iso_code": "5"}, `with.iso_code must match ^([0-9A-Z]{2})?$, got "5"`},
		{"explain_decline", map[string]any{"issuing_reason": "webhook-timeout"}, `with.issuing_reason must match ^[a-z_]{0,64}$, got "webhook-timeout"`},
		{"explain_decline", map[string]any{"decline_code": "insufficient_funds", "language": "fr"}, `with.language must be one of ["en", "zh"], got "fr"`},
		{"refund", map[string]any{"payment_id": "pi_sandbox_succeeded", "amount": 0}, "with.amount must be at least 1, got 0"},
		{"refund", map[string]any{"payment_id": "pi_sandbox_succeeded", "reason": "changed_mind"}, `with.reason must be one of ["duplicate", "fraudulent", "requested_by_customer"], got "changed_mind"`},
		{"refund", map[string]any{"payment_id": "re_1234567"}, `with.payment_id must match ^(pi|ch)_[A-Za-z0-9_]{6,250}$, got "re_1234567"`},
	} {
		_, _, err := p.Execute(c.action, c.with)
		sdktest.WantError(t, err, "invalid_input", false, c.want)
	}
	if n := hits(); n != 0 {
		t.Errorf("Stripe got %d requests for invalid inputs", n)
	}
}

// TestDocsListEveryFixture keeps docs/plugins-payments.md in step with
// the sandbox and the tables.
func TestDocsListEveryFixture(t *testing.T) {
	b, err := os.ReadFile("../../docs/plugins-payments.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	s := newSandbox()
	for _, suffix := range sandboxSuffixes() {
		id := "pi_sandbox_" + suffix
		p, ok := s.payments[suffix]
		card := "—"
		if ok {
			card = "`" + p.testCard + "`"
		}
		if !strings.Contains(doc, "| `"+id+"` | "+card+" |") {
			t.Errorf("the fixture table has no row for %s mirroring %s", id, card)
		}
	}
	for id := range s.charges {
		if _, ok := s.payments[strings.TrimPrefix(id, "ch_sandbox_")]; !ok && !strings.Contains(doc, "`"+id+"`") {
			t.Errorf("the docs do not name charge %s", id)
		}
	}
	for id, a := range s.authorizations {
		cells := "| | " + a.isoCode + " |"
		if r := a.auth.RequestHistory[0]; !r.Approved {
			cells = "| `" + r.Reason + "` | " + a.isoCode + " |"
		}
		if !strings.Contains(doc, "| `"+id+"` |") || !strings.Contains(doc, cells) {
			t.Errorf("the authorization table has no row for %s ending %s", id, cells)
		}
	}
	for name, table := range allTables() {
		if name == "repeated" {
			continue
		}
		for code, e := range table {
			yes := func(b bool) string {
				if b {
					return "yes"
				}
				return ""
			}
			row := fmt.Sprintf("| `%s` | %s | %s | %s | %s | %s |", code, e.category, e.owner, yes(e.fix), yes(e.escalate()), yes(e.retry))
			if !strings.Contains(doc, row) {
				t.Errorf("the %s table in the docs has no row %s", name, row)
			}
		}
	}
}
