package schema

import (
	"fmt"
	"strings"
	"testing"
)

const okSteps = "steps:\n  - id: a\n    action: core.log\n"

// TestHostileDocuments covers inputs built in code: too big, not UTF-8,
// alias bombs and deep nesting. Each must fail with one clear diagnostic,
// quickly, without panicking.
func TestHostileDocuments(t *testing.T) {
	bomb := "version: 1\nname: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 0, "a"; i < 8; i++ {
		name := fmt.Sprintf("l%d", i)
		bomb += fmt.Sprintf("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	deep := "version: 1\nname: deep\n" + okSteps + "vars:\n  x: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"over-1MiB", "version: 1\nname: big\n" + okSteps + "description: " + strings.Repeat("x", MaxFileSize) + "\n",
			"big.yaml:1:1: file is 1.0 MiB; a runbook may be at most 1 MiB\n    1 | version: 1\n      | ^\n"},
		{"invalid-utf8", "version: 1\nname: caf\xe9\n" + okSteps,
			"big.yaml:2:10: invalid UTF-8 (byte 0xe9 at offset 20); a runbook must be UTF-8 text\n    2 | name: caf\xe9\n      |          ^\n  hint: save the file as UTF-8\n"},
		{"alias-bomb", bomb,
			"big.yaml:6:45: aliases expand to more than 10000 nodes; refusing a possible alias bomb\n    6 | l2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]\n      |                                             ^\n  hint: write the values out, or use fewer nested aliases\n"},
		{"nesting-70", deep,
			"big.yaml:7:68: nesting deeper than 64 levels\n    7 |   x: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n      |                                                                    ^\n  hint: flatten the structure\n"},
		{"unknown-key-beside-anchor", "version: 1\nname: merge\nbase: &b {action: core.log}\n" + okSteps,
			"big.yaml:3:1: base: unknown key \"base\"\n    3 | base: &b {action: core.log}\n      | ^\n  hint: valid keys: version, name, title, description, owner, tags, inputs, vars, timeout, concurrency, schedule, steps, outputs, on_failure\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Check("big.yaml", []byte(tt.src), nil)
			if got := diags.Render(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestAliasesAndMerges shows that ordinary anchors, aliases and merge keys
// work and keep strict key checking.
func TestAliasesAndMerges(t *testing.T) {
	src := `version: 1
name: anchors
steps:
  - id: a
    action: core.log
    retry: &retry {attempts: 3, delay: 1s}
  - &base
    id: b
    action: core.set
    retry: *retry
  - <<: *base
    id: c
    with: {x: 1}
`
	rb, diags := Check("anchors.yaml", []byte(src), nil)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diags.Render())
	}
	if len(rb.Steps) != 3 || rb.Steps[2].Action != "core.set" || rb.Steps[2].Retry.Attempts != 3 || rb.Steps[1].Retry.Delay.String() != "1s" {
		t.Fatalf("aliases not applied: %+v", rb.Steps[2])
	}
	if got := rb.Steps[2].Deps; len(got) != 1 || got[0] != "b" {
		t.Fatalf("deps of c = %v, want [b]", got)
	}
}

// TestNestedMerges: a merged mapping's own merge keys apply too (an anchor
// built on another), its explicit keys winning, as YAML's merge key says;
// a merge that loops through aliases is an error, not a hang.
func TestNestedMerges(t *testing.T) {
	src := `version: 1
name: nested
steps:
  - id: a
    action: core.log
    retry: &retry {attempts: 3, delay: 1s}
    timeout: &timeout 5s
  - &base
    <<: {retry: *retry, timeout: *timeout, action: core.log}
    id: b
    action: core.set
  - <<: *base
    id: c
    with: {x: 1}
`
	rb, diags := Check("nested.yaml", []byte(src), nil)
	if len(diags) > 0 {
		t.Fatalf("unexpected diagnostics:\n%s", diags.Render())
	}
	if s := rb.Steps[2]; s.Action != "core.set" || s.Retry == nil || s.Retry.Attempts != 3 || s.Timeout.String() != "5s" {
		t.Fatalf("nested merge not applied: action %q, retry %+v", s.Action, s.Retry)
	}
}
