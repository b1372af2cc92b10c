package schema

import (
	"testing"

	"github.com/expr-lang/expr/vm"
)

// TestCompiledProgramsRun runs programs kept on the model against the
// environment documented on Expr, as the engine will.
func TestCompiledProgramsRun(t *testing.T) {
	src := `version: 1
name: programs
inputs:
  amount: {type: integer, required: true}
vars:
  limit: '${{ inputs.amount > 10 ? 50 : 100 }}'
steps:
  - id: lookup
    action: core.set
    with: {status: pending}
  - id: refund
    if: steps.lookup.outputs.status == "captured" && inputs.amount <= vars.limit
    action: core.log
    with:
      message: refund ${{ inputs.amount }} with ${{ secret("api") }}
      amount: ${{ inputs.amount * 2 }}
`
	rb, diags := Check("programs.yaml", []byte(src), nil)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	env := map[string]any{
		"inputs": map[string]any{"amount": 7},
		"vars":   map[string]any{"limit": 100},
		"run":    map[string]any{"id": "r1"},
		"secret": SecretFunc(func(name string) string { return "s3cret-" + name }),
		"steps":  map[string]any{"lookup": map[string]any{"outputs": map[string]any{"status": "captured"}, "status": "succeeded"}},
	}
	var machine vm.VM
	run := func(e *Expr) any {
		t.Helper()
		out, err := machine.Run(e.Program, env)
		if err != nil {
			t.Fatalf("%s: %v", e.Source, err)
		}
		return out
	}
	if got := run(rb.Vars[0].Value.Template.Single()); got != 100 {
		t.Errorf("vars.limit = %v", got)
	}
	if got := run(rb.Steps[1].If); got != true {
		t.Errorf("if = %v", got)
	}
	with := rb.Steps[1].With
	if got := run(with.Get("amount").Template.Single()); got != 14 {
		t.Errorf("typed template = %#v, want int 14", got)
	}
	parts := with.Get("message").Template.Parts
	if len(parts) != 4 || parts[0].Text != "refund " || run(parts[1].Expr) != 7 || parts[2].Text != " with " || run(parts[3].Expr) != "s3cret-api" {
		t.Errorf("interpolated template parts = %+v", parts)
	}
}
