package config

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/schema"
	"github.com/stewardhq/steward/schema/dataschema"
)

// TestLoadDiagnostics: every problem of steward.yaml at once, in the
// runbook diagnostics' form: FILE:LINE:COL: KEY.PATH: message, the line
// with a caret, and a did-you-mean for an unknown key.
func TestLoadDiagnostics(t *testing.T) {
	src := `runbook: [runbooks]
approvals:
  groups:
    payments-leads: []
    "two words": [ana]
  allow_self_approval: "yes"
plugins:
  folder: [bin]
  start_timeout: 10
  settings:
    payments: {api_key: {secret: 'not a name'}}
runs:
  max_sub_runs: many
`
	_, err := Parse("conf/steward.yaml", []byte(src))
	var diags schema.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error %T %v, want diagnostics", err, err)
	}
	want := `conf/steward.yaml:1:1: runbook: unknown key "runbook"
    1 | runbook: [runbooks]
      | ^
  hint: did you mean "runbooks"?
conf/steward.yaml:4:21: approvals.groups.payments-leads: approvals.groups.payments-leads must list at least one member
    4 |     payments-leads: []
      |                     ^
  hint: write a list of people: payments-leads: [ana, bruno]
conf/steward.yaml:5:5: approvals.groups.two words: invalid group name "two words"
    5 |     "two words": [ana]
      |     ^
  hint: a group name has no blank and no colon: runbooks name it group:NAME
conf/steward.yaml:6:24: approvals.allow_self_approval: expected true or false, got the text "yes"
    6 |   allow_self_approval: "yes"
      |                        ^
  hint: remove the quotes
conf/steward.yaml:8:3: plugins.folder: unknown key "folder"
    8 |   folder: [bin]
      |   ^
  hint: did you mean "folders"?
conf/steward.yaml:9:18: plugins.start_timeout: invalid duration "10"
    9 |   start_timeout: 10
      |                  ^
  hint: write a duration such as 10s or 1m
conf/steward.yaml:11:25: plugins.settings.payments.api_key: write {secret: NAME}
   11 |     payments: {api_key: {secret: 'not a name'}}
      |                         ^
  hint: NAME is letters, digits and _; the value is read from STEWARD_SECRET_NAME
conf/steward.yaml:13:17: runs.max_sub_runs: expected an integer, got the text "many"
   13 |   max_sub_runs: many
      |                 ^
`
	if got := diags.Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A syntax error is one diagnostic at its line.
	_, err = Parse("steward.yaml", []byte("runbooks: [a\nplugins: {}\n"))
	if !errors.As(err, &diags) || len(diags) != 1 || diags[0].Line != 1 || diags[0].File != "steward.yaml" {
		t.Errorf("syntax error: %v", err)
	}
}

// TestCheckSettings: a plugin's settings are checked against the schema it
// declares, at each value's line and column.
func TestCheckSettings(t *testing.T) {
	str := &dataschema.Schema{Type: dataschema.Types{"string"}}
	s := &dataschema.Schema{Type: dataschema.Types{"object"}, Properties: map[string]*dataschema.Schema{
		"backend": {Type: dataschema.Types{"string"}, Enum: []any{"sandbox", "stripe"}},
		"timeout": {Type: dataschema.Types{"string"}, Format: "duration"},
		"api_key": str,
		"retries": {Type: dataschema.Types{"integer"}, Minimum: new(0.0), Maximum: new(5.0)},
		"chains": {Type: dataschema.Types{"array"}, Items: &dataschema.Schema{Type: dataschema.Types{"object"}, Required: []string{"id"},
			Properties: map[string]*dataschema.Schema{"id": {Type: dataschema.Types{"integer"}}, "name": str}}},
	}}
	cfg, err := Parse("steward.yaml", []byte(`plugins:
  settings:
    payments:
      backend: stirpe
      timeot: 10s
      timeout: soon
      api_key: {secret: STRIPE_API_KEY}
      retries: 9
      chains:
        - {name: ethereum}
        - {id: "1"}
    other: {x: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := `steward.yaml:4:16: plugins.settings.payments.backend: backend must be one of ["sandbox", "stripe"], got "stirpe"
    4 |       backend: stirpe
      |                ^
  hint: did you mean "stripe"?
steward.yaml:5:7: plugins.settings.payments.timeot: unknown setting "timeot" of plugin payments
    5 |       timeot: 10s
      |       ^
  hint: did you mean "timeout"?
steward.yaml:6:16: plugins.settings.payments.timeout: timeout: invalid duration "soon"
    6 |       timeout: soon
      |                ^
  hint: write a duration such as 30s, 5m or 1h30m
steward.yaml:8:16: plugins.settings.payments.retries: retries must be at most 5, got 9
    8 |       retries: 9
      |                ^
steward.yaml:10:11: plugins.settings.payments.chains[0]: missing required setting "id" of plugin payments
   10 |         - {name: ethereum}
      |           ^
steward.yaml:11:16: plugins.settings.payments.chains[1].id: id must be an integer, got a string
   11 |         - {id: "1"}
      |                ^
  hint: remove the quotes
`
	if got := cfg.CheckSettings("payments", s).Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := cfg.CheckSettings("other", nil).Render(); got != "steward.yaml:12:5: plugins.settings.other: plugin other takes no settings\n   12 |     other: {x: 1}\n      |     ^\n  hint: remove plugins.settings.other\n" {
		t.Errorf("no settings:\n%s", got)
	}
	if got := cfg.SettingsPlugins(); len(got) != 2 || got[0] != "other" {
		t.Errorf("plugins %v", got)
	}
}

// TestTemplate: the file steward init writes is a valid configuration
// that defines the groups the bundled runbooks name.
func TestTemplate(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte(Template))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"payments-leads", "access-admins", "eng-leads", "sre-leads", "support-leads"} {
		if len(cfg.Approvals.Groups[g]) == 0 {
			t.Errorf("group %s is not defined", g)
		}
	}
	// The bundled plugins that have settings: access, evm, helpdesk,
	// notify, payments.
	if got := cfg.SettingsPlugins(); len(got) != 5 {
		t.Errorf("settings of %v", got)
	}
}
