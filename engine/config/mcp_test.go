package config

import (
	"errors"
	"slices"
	"testing"

	"github.com/stewardhq/steward/schema"
)

func TestLoadMCP(t *testing.T) {
	cfg, err := Parse("steward.yaml", []byte("mcp:\n  runbooks: [decline-reply, card-payment-failure]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"decline-reply", "card-payment-failure"}; !slices.Equal(cfg.MCP.Runbooks, want) {
		t.Fatalf("mcp.runbooks = %q, want %q", cfg.MCP.Runbooks, want)
	}
	// None by default: no file, an empty section, an empty list.
	for _, src := range []string{"", "mcp:\n", "mcp: {runbooks: []}\n", "mcp: {runbooks: }\n"} {
		cfg, err := Parse("steward.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if len(cfg.MCP.Runbooks) != 0 {
			t.Fatalf("%q: mcp.runbooks = %q, want none", src, cfg.MCP.Runbooks)
		}
	}
}

func TestLoadMCPInvalid(t *testing.T) {
	src := `mcp:
  runboks: [a]
`
	_, err := Parse("steward.yaml", []byte(src))
	checkDiags(t, err, []string{`steward.yaml:2:3: mcp.runboks: unknown key "runboks"`})

	_, err = Parse("steward.yaml", []byte(`mcp:
  runbooks:
    - decline-reply
    - Not A Name
    - decline-reply
    - {name: x}
`))
	checkDiags(t, err, []string{
		`steward.yaml:4:7: mcp.runbooks[1]: invalid runbook name "Not A Name"`,
		`steward.yaml:5:7: mcp.runbooks[2]: runbook "decline-reply" is listed twice`,
		`steward.yaml:6:7: mcp.runbooks[3]: expected a runbook name, got a mapping`,
	})

	_, err = Parse("steward.yaml", []byte("mcp:\n  runbooks: decline-reply\n"))
	checkDiags(t, err, []string{`steward.yaml:2:13: mcp.runbooks: expected a list, got the text "decline-reply"`})
}

func checkDiags(t *testing.T, err error, want []string) {
	t.Helper()
	var diags schema.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("error %v, want diagnostics", err)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.File+":"+itoa(d.Line)+":"+itoa(d.Column)+": "+d.Path+": "+d.Message)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", join(got), join(want))
	}
}
