package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/plugins/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start runs a fresh helpdesk plugin with settings.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	h := newHelpdesk()
	h.retryBase = 1 // no real waiting between internal retries
	sp := sdktest.Start(t, h.plugin())
	if err := sp.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	if d.Name != "helpdesk" || d.Version != "1.0.0" {
		t.Errorf("plugin %s %s", d.Name, d.Version)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v", a.Name, a.Mutates, a.Idempotent))
	}
	want := `helpdesk.add_note mutates=true idempotent=true
helpdesk.classify mutates=false idempotent=false
helpdesk.get_ticket mutates=false idempotent=false
helpdesk.reply mutates=true idempotent=true
helpdesk.update_ticket mutates=true idempotent=true`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	for action, required := range map[string]string{"get_ticket": "ticket_id", "add_note": "ticket_id,body", "reply": "ticket_id,body", "update_ticket": "ticket_id", "classify": "text,rules"} {
		if got := strings.Join(p.Action(action).Input.Required, ","); got != required {
			t.Errorf("%s requires %q, want %q", action, got, required)
		}
	}
	if !strings.Contains(string(d.Config), `"api_token":{"type":"string","description":"a Zendesk API token; write {secret: ZENDESK_API_TOKEN}","x-sensitive":true}`) {
		t.Errorf("config schema: %s", d.Config)
	}
	// Every output that comes from a helpdesk says which (classify reads
	// only its input).
	for _, a := range d.Actions {
		if a.Name == "helpdesk.classify" {
			continue
		}
		if b := a.Output.Properties["backend"]; b == nil || len(b.Enum) != 2 {
			t.Errorf("%s: no backend output", a.Name)
		}
	}
}

// TestSettings: every refusal says what to write, and none quotes the
// token.
func TestSettings(t *testing.T) {
	p := sdktest.Start(t, New())
	zd := func(kv ...any) map[string]any {
		z := map[string]any{"subdomain": "example", "email": "agent@example.org", "api_token": "zd-k3y"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(z, kv[i].(string))
			} else {
				z[kv[i].(string)] = kv[i+1]
			}
		}
		return map[string]any{"backend": "zendesk", "zendesk": z}
	}
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"backend": "zendesk"}, "backend zendesk needs zendesk.subdomain: the example of https://example.zendesk.com\n" +
			"backend zendesk needs zendesk.email: the email address of the agent the API token acts as\n" +
			"backend zendesk needs zendesk.api_token: set it to {secret: ZENDESK_API_TOKEN}"},
		{zd("api_token", nil), "backend zendesk needs zendesk.api_token: set it to {secret: ZENDESK_API_TOKEN}"},
		{zd("email", "agent"), `zendesk.email must be an email address such as agent@example.org, got "agent"`},
		{zd("subdomain", "Example.zendesk.com"), `settings.zendesk.subdomain must match ^([a-z0-9][a-z0-9-]{0,62})?$, got "Example.zendesk.com"`},
		{zd("base_url", "http://zendesk.example.org"), `zendesk.base_url must be https: the API token would travel in clear; http is allowed only to 127.0.0.1, ::1 or localhost, got "http://zendesk.example.org"`},
		{zd("base_url", "ftp://example.org"), `zendesk.base_url must be an https URL such as https://example.zendesk.com, got "ftp://example.org"`},
		{zd("timeout", "0s"), "zendesk.timeout must be between 0s and 5m, got 0s"},
		{zd("fields", map[string]any{"Category": 1}), `zendesk.fields: a name is lower case letters, digits and _, starting with a letter, got "Category"`},
		{zd("fields", map[string]any{"category": 0}), "zendesk.fields.category must be the custom field's id, a positive number, got 0"},
		// Every bad field, by name (not in the map's order).
		{zd("fields", map[string]any{"f": 0, "e": 0, "d": 0, "c": 0, "b": 0, "a": 0}), "zendesk.fields.a must be the custom field's id, a positive number, got 0\n" +
			"zendesk.fields.b must be the custom field's id, a positive number, got 0\n" +
			"zendesk.fields.c must be the custom field's id, a positive number, got 0\n" +
			"zendesk.fields.d must be the custom field's id, a positive number, got 0\n" +
			"zendesk.fields.e must be the custom field's id, a positive number, got 0\n" +
			"zendesk.fields.f must be the custom field's id, a positive number, got 0"},
		{zd("max_retries", 9), "settings.zendesk.max_retries must be at most 5, got 9"},
		{map[string]any{"backend": "freshdesk"}, `settings.backend must be one of ["sandbox", "zendesk"], got "freshdesk"`},
		{map[string]any{"zendesk": map[string]any{"token": "zd-k3y"}}, `settings.zendesk: unknown field "token"`},
	} {
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v:\n%v\nwant\n%s", c.settings, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "zd-k3y") {
			t.Errorf("the token is in the error: %v", err)
		}
	}
	for _, s := range []map[string]any{zd(), zd("base_url", "http://127.0.0.1:1/"), {"backend": "sandbox", "zendesk": map[string]any{"api_token": "x"}}, {}} {
		if err := p.Configure(s); err != nil {
			t.Errorf("settings %v: %v", s, err)
		}
	}
}

func TestSandboxIsTheDefault(t *testing.T) {
	p := sdktest.Start(t, New()) // never configured: the host sends {} first
	out, _, err := p.Execute("get_ticket", map[string]any{"ticket_id": 1001})
	if err != nil || out["backend"] != "sandbox" || out["subject"] != "Card payment failed" {
		t.Fatalf("%v %v", out, err)
	}
}

// TestInputChecks: malformed inputs are refused before anything is
// asked of Zendesk (the fake counts every request).
func TestInputChecks(t *testing.T) {
	f := newFakeZendesk(t)
	f.addTicket(1, 7, "s", "d", "en-US")
	p := start(t, f.settings())
	key := sdktest.IdempotencyKey("run:step")
	for _, c := range []struct {
		action string
		with   map[string]any
		opts   []sdktest.CallOption
		want   string
	}{
		{"get_ticket", map[string]any{"ticket_id": 0}, nil, "with.ticket_id must be at least 1, got 0"},
		{"get_ticket", map[string]any{"ticket_id": "1"}, nil, "with.ticket_id must be an integer, got a string"},
		{"add_note", map[string]any{"ticket_id": 1, "body": "  \n "}, []sdktest.CallOption{key}, "with.body is empty: nothing to post as an internal note"},
		{"reply", map[string]any{"ticket_id": 1, "body": strings.Repeat("é", maxBody+1)}, []sdktest.CallOption{key}, "with.body has 60001 characters, more than the 60000 a comment may have"},
		{"reply", map[string]any{"ticket_id": 1, "body": "hello"}, []sdktest.CallOption{sdktest.IdempotencyKey("")}, "no idempotency key: refusing to post a public reply on ticket 1, a retry could post it twice"},
		{"reply", map[string]any{"ticket_id": 1, "body": "hello", "status": "closed"}, []sdktest.CallOption{key}, `with.status must be one of ["open", "pending", "hold", "solved"], got "closed"`},
		{"update_ticket", map[string]any{"ticket_id": 1}, nil, "nothing to update on ticket 1: give add_tags, remove_tags or status"},
		{"update_ticket", map[string]any{"ticket_id": 1, "add_tags": []any{"Steward Triaged"}}, nil, `with.add_tags[0] must match ^[a-z0-9][a-z0-9_:./-]{0,79}$, got "Steward Triaged"`},
		{"update_ticket", map[string]any{"ticket_id": 1, "add_tags": []any{"a"}, "remove_tags": []any{"a"}}, nil, `tag "a" is both added and removed`},
	} {
		_, _, err := p.Execute(c.action, c.with, c.opts...)
		sdktest.WantError(t, err, "invalid_input", false, c.want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 0 {
		t.Errorf("Zendesk got requests for invalid inputs: %v", f.requests)
	}
}
