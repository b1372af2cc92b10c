package config

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/schema"
)

// FuzzParse: any steward.yaml is read or refused with diagnostics, never
// a panic; the templates of webhooks included.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"runbooks: [a]\napprovals: {groups: {leads: [ana]}}\n",
		"server:\n  url: https://x.example\n  grants: [{subject: ana, role: admin, runbooks: 'a*'}]\n  notify: {action: notify.email, with: {to: [a@b.c]}, remind_before: 1h}\n",
		"webhooks:\n  - name: z\n    runbook: rb\n    verify: zendesk\n    secret: {secret: S}\n    inputs: {a: '${{ payload.a ?? \"x\" }}-${{ headers[\"h\"] }}'}\n    dedupe: '${{ alert?.fingerprint }}'\n",
		"webhooks: [{name: a, runbook: rb, verify: grafana, secret: {secret: S}, resolved_runbook: rc, inputs: {x: '${{ }}'}}]\n",
		"webhooks:\n  - &a {name: a}\n  - *a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("steward.yaml", src)
		var diags schema.Diagnostics
		if err != nil && !errors.As(err, &diags) {
			t.Fatalf("error %T %v: want diagnostics", err, err)
		}
		if err == nil {
			for _, w := range cfg.Webhooks {
				for _, in := range w.Inputs {
					_, _ = in.Eval(map[string]any{"payload": map[string]any{}, "headers": map[string]any{}, "alert": nil})
				}
			}
		}
	})
}
