package hooks_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/hooks"
	"github.com/stewardhq/steward/runbooks"
)

// Check: a webhook's runbook must exist, take the inputs it maps, and get
// those it requires; each problem at its place in steward.yaml.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	src := "version: 1\nname: ticket\ninputs:\n  ticket_id: {type: string, required: true}\n  channel: {type: string, required: true, default: email}\nsteps:\n  - id: note\n    action: core.log\n    with:\n      message: hi\n"
	if err := os.WriteFile(filepath.Join(dir, "ticket.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "steward.yaml"), []byte(`webhooks:
  - name: good
    runbook: ticket
    verify: generic
    secret: {secret: S}
    inputs: {ticket_id: '${{ payload.id }}'}
  - name: typo
    runbook: ticket
    verify: generic
    secret: {secret: S}
    inputs:
      ticket: '${{ payload.id }}'
  - name: gone
    runbook: no-such-runbook
    verify: alertmanager
    secret: {secret: S}
    resolved_runbook: ticket
    inputs: {ticket_id: x}
`))
	if err != nil {
		t.Fatal(err)
	}
	diags := hooks.Check(cfg, func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, []string{dir}) })
	var got []string
	for _, d := range diags {
		got = append(got, d.Header())
	}
	want := []string{
		filepath.Join(dir, "steward.yaml") + `:7:5: webhooks[1].inputs: webhook typo: runbook ticket requires input ticket_id, which the webhook does not map`,
		filepath.Join(dir, "steward.yaml") + `:12:7: webhooks[1].inputs.ticket: webhook typo: runbook ticket has no input "ticket"`,
		filepath.Join(dir, "steward.yaml") + `:14:14: webhooks[2].runbook: webhook gone: `,
	}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2][:len(want[2])] != want[2] {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}
	if diags[1].Hint != "its inputs: ticket_id, channel" {
		t.Fatalf("hint %q", diags[1].Hint)
	}
}
