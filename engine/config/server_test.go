package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/schema"
)

func TestLoadServerAndWebhooks(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte(`server:
  url: https://steward.example.com/
  grants:
    - {subject: ana, role: approver, runbooks: "card-*"}
    - {subject: bot, role: operator}
  notify:
    action: notify.email
    with: {to: [leads@example.com]}
    remind_before: 1h
webhooks:
  - name: zendesk
    runbook: card-payment-failure
    verify: zendesk
    secret: {secret: ZENDESK_SECRET}
    inputs:
      payment_id: '${{ payload.ticket.payment_id }}'
      note: 'ticket ${{ payload.ticket.id }} from ${{ headers["x-agent"] ?? "nobody" }}'
    dedupe: '${{ payload.ticket.id }}'
  - name: alerts
    runbook: node-down
    verify: alertmanager
    secret: {secret: AM_TOKEN}
    resolved_runbook: node-up
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Server
	if s.URL != "https://steward.example.com" || len(s.Grants) != 2 || s.Notify == nil || s.Notify.RemindBefore != time.Hour {
		t.Fatalf("server %+v", s)
	}
	if g := s.SubjectGrants("ana"); len(g) != 1 || g[0] != (auth.Grant{Role: auth.Approver, Runbooks: "card-*"}) {
		t.Fatalf("ana's grants %+v", g)
	}
	w, ok := cfg.Webhook("zendesk")
	if !ok || w.Secret != "ZENDESK_SECRET" || w.Alerts() || w.Dedupe == nil {
		t.Fatalf("webhook %+v", w)
	}
	env := map[string]any{"payload": map[string]any{"ticket": map[string]any{"id": 12345678.0, "payment_id": "pay_ABC123"}},
		"headers": map[string]any{"x-agent": "ana"}, "alert": nil}
	if v, err := w.Inputs["payment_id"].Eval(env); err != nil || v != "pay_ABC123" {
		t.Fatalf("payment_id = %v, %v", v, err)
	}
	if v, err := w.Inputs["note"].Eval(env); err != nil || v != "ticket 12345678 from ana" {
		t.Fatalf("note = %v, %v", v, err)
	}
	if a, _ := cfg.Webhook("alerts"); !a.Alerts() || a.ResolvedRunbook != "node-up" || a.Dedupe != nil {
		t.Fatalf("alerts %+v", a)
	}
}

// Every problem of the server and webhooks sections at its line and
// column, an expression's inside its string.
func TestServerDiagnostics(t *testing.T) {
	src := `server:
  url: ftp://x
  grants:
    - {subject: ana, role: aprover}
    - {role: viewer}
  notify:
    action: notify.email
    remind_before: soon
webhooks:
  - name: Bad Name
    runbook: rb
    verify: zendesc
    secret: plain-text
  - name: ok
    runbook: rb
    verify: generic
    secret: {secret: S}
    inputs:
      id: '${{ paylod.id }}'
    resolved_runbook: other
  - name: ok
    runbook: rb
    verify: github
    secret: {secret: S}
  - runbook: rb
`
	_, err := Parse("steward.yaml", []byte(src))
	var diags schema.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error %v, want diagnostics", err)
	}
	want := []string{
		`steward.yaml:2:8: server.url: invalid URL "ftp://x"`,
		`steward.yaml:4:28: server.grants[0].role: unknown role "aprover": one of viewer, operator, approver, author, admin`,
		`steward.yaml:5:7: server.grants[1]: a grant needs a subject and a role`,
		`steward.yaml:7:5: server.notify.with: notify.email needs with.to: who receives the approval requests`,
		`steward.yaml:8:20: server.notify.remind_before: invalid duration "soon"`,
		`steward.yaml:10:11: webhooks[0].name: invalid webhook name "Bad Name"`,
		`steward.yaml:12:13: webhooks[0].verify: unknown verification "zendesc"`,
		`steward.yaml:13:13: webhooks[0].secret: write {secret: NAME}: a webhook's secret is never written in steward.yaml`,
		`steward.yaml:19:16: webhooks[1].inputs.id: unknown name paylod`,
		`steward.yaml:20:5: webhooks[1].resolved_runbook: resolved_runbook is for alert webhooks`,
		`steward.yaml:21:5: webhooks[2].name: webhook "ok" is defined twice`,
		`steward.yaml:25:5: webhooks[3]: a webhook needs name`,
		`steward.yaml:25:5: webhooks[3]: a webhook needs verify`,
		`steward.yaml:25:5: webhooks[3]: a webhook needs secret`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.File+":"+itoa(d.Line)+":"+itoa(d.Column)+": "+d.Path+": "+d.Message)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics:\n%s\nwant:\n%s", len(got), join(got), join(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("diagnostic %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func itoa(i int) string { return fmt.Sprint(i) }

func join(s []string) string { return strings.Join(s, "\n") }

// TestSourcesHookSecret: server.sources_hook_secret names the secret of
// POST /hooks/github-sources, which no webhook may take as its name.
func TestSourcesHookSecret(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte("server:\n  sources_hook_secret: {secret: GITHUB_HOOK}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.SourcesHookSecret != "GITHUB_HOOK" {
		t.Fatalf("SourcesHookSecret = %q", cfg.Server.SourcesHookSecret)
	}
	for _, c := range []struct{ src, want string }{
		{"server:\n  sources_hook_secret: plain-text\n",
			"steward.yaml:2:24: server.sources_hook_secret: write {secret: NAME}: a webhook's secret is never written in steward.yaml"},
		{"server:\n  sources_hook_secret: {secret: 'a b'}\n",
			"steward.yaml:2:24: server.sources_hook_secret: write {secret: NAME}: a webhook's secret is never written in steward.yaml"},
		{"webhooks:\n  - {name: github-sources, runbook: rb, verify: github, secret: {secret: S}}\n",
			`steward.yaml:2:5: webhooks[0].name: webhook name "github-sources" is reserved`},
	} {
		_, err := Parse("steward.yaml", []byte(c.src))
		var diags schema.Diagnostics
		if !errors.As(err, &diags) || len(diags) != 1 {
			t.Fatalf("%q: error %v, want one diagnostic", c.src, err)
		}
		d := diags[0]
		if got := d.File + ":" + itoa(d.Line) + ":" + itoa(d.Column) + ": " + d.Path + ": " + d.Message; got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.src, got, c.want)
		}
		if d.Hint == "" {
			t.Errorf("%q: no hint", c.src)
		}
	}
}
