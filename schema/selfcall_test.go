package schema

import "testing"

// TestSelfCalls: a step (or an undo) running its own runbook by a literal
// name is a warning at the name; another runbook's name, or a computed
// one, is not.
func TestSelfCalls(t *testing.T) {
	src := `version: 1
name: fork
inputs:
  level: {type: integer, default: 0}
  other: {type: string, default: fork}
steps:
  - id: again
    if: inputs.level < 3
    action: core.runbook
    with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}
  - id: computed
    action: core.runbook
    with: {name: '${{ inputs.other }}'}
  - id: elsewhere
    action: core.runbook
    with:
      name: decline-reply
    undo:
      action: core.runbook
      with:
        name: fork
`
	rb, diags := Load("fork.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	got := SelfCalls(rb).Render()
	want := `fork.yaml:10:18: warning: steps[0].with.name: runbook "fork" calls itself: each call is a sub-run that calls again, until the run reaches 8 levels or the most sub-runs it may start (runs.max_sub_runs, default 100)
   10 |     with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}
      |                  ^
  hint: make sure an if stops it, or call another runbook
fork.yaml:21:15: warning: steps[2].undo.with.name: runbook "fork" calls itself: each call is a sub-run that calls again, until the run reaches 8 levels or the most sub-runs it may start (runs.max_sub_runs, default 100)
   21 |         name: fork
      |               ^
  hint: make sure an if stops it, or call another runbook
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if SelfCalls(nil) != nil {
		t.Error("a nil runbook has warnings")
	}
}
