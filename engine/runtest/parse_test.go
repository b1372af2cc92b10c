package runtest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	src := `runbook: other.yaml
cases:
  - name: all forms
    inputs: {n: 1, list: [a, 2.5]}
    actor: ana
    dry_run: true
    secrets: {token: s3cret}
    mocks:
      empty:
      one: {outputs: {x: 1}}
      bad: {error: boom}
      worse: {error: {message: no, code: nope, retryable: true}}
      tries:
        attempts: [{error: e1}, {outputs: {ok: true}}]
      each:
        items: [{}, {attempts: [{error: e2}, {}]}]
    approvals:
      a: approve
      b: deny
      c: {approve: true, by: lead, comment: fine}
    expect:
      status: failed
      error: boom
      outputs:
        x: 1
        y: '${{ value > 1 }}'
      steps:
        one: skipped
        tries: {status: succeeded, attempts: 2, items: 0, error: e, outputs: [1], with: {a: '${{ value }}'}}
        undo:one: not_run
  - name: second
`
	f, diags := Parse("x.test.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	if f.Runbook != "other.yaml" || f.RunbookPos.Line != 1 || len(f.Cases) != 2 {
		t.Fatalf("got %+v", f)
	}
	c := f.Cases[0]
	if c.Name != "all forms" || c.Pos.Line != 3 || c.Actor != "ana" || !c.DryRun || c.Secrets["token"] != "s3cret" {
		t.Errorf("case: %+v", c)
	}
	if !reflect.DeepEqual(c.Inputs, map[string]any{"n": 1, "list": []any{"a", 2.5}}) {
		t.Errorf("inputs: %#v", c.Inputs)
	}
	if f.Cases[1].Actor != "test" {
		t.Errorf("default actor %q", f.Cases[1].Actor)
	}
	replies := map[string]string{}
	for key, m := range c.Mocks {
		var parts []string
		for _, at := range []struct{ index, attempt int }{{-1, 1}, {0, 1}, {1, 1}, {1, 2}, {5, 9}} {
			r := m.reply(at.index, at.attempt)
			switch {
			case r.Error != nil:
				parts = append(parts, r.Error.Message+"/"+r.Error.Code+"/"+map[bool]string{true: "r", false: "-"}[r.Error.Retryable])
			default:
				parts = append(parts, show(r.Outputs))
			}
		}
		replies[key] = strings.Join(parts, " ")
	}
	want := map[string]string{
		"empty": "{} {} {} {} {}",
		"one":   `{"x":1} {"x":1} {"x":1} {"x":1} {"x":1}`,
		"bad":   "boom//- boom//- boom//- boom//- boom//-",
		"worse": "no/nope/r no/nope/r no/nope/r no/nope/r no/nope/r",
		"tries": `e1//- e1//- e1//- {"ok":true} {"ok":true}`,
		"each":  "{} {} e2//- {} {}",
	}
	if !reflect.DeepEqual(replies, want) {
		t.Errorf("replies:\n got %v\nwant %v", replies, want)
	}
	a := c.Approvals
	if !a["a"].Approve || a["a"].By != "" || a["b"].Approve || !a["c"].Approve || a["c"].By != "lead" || a["c"].Comment != "fine" {
		t.Errorf("approvals: %+v %+v %+v", a["a"], a["b"], a["c"])
	}
	e := c.Expect
	if e.Status.Value != "failed" || e.Status.Path != "expect.status" || e.Error.Value != "boom" || len(e.Outputs) != 2 {
		t.Fatalf("expect: %+v", e)
	}
	if _, ok := e.Outputs[1].Value.(*Expression); !ok || e.Outputs[1].Path != "expect.outputs.y" || e.Outputs[1].Pos.Line != 26 {
		t.Errorf("expression output: %+v", e.Outputs[1])
	}
	st := e.Steps[1]
	if st.Key != "tries" || st.Status.Value != "succeeded" || st.Attempts.Value != 2 || st.Items.Value != 0 ||
		st.Error.Value != "e" || st.Outputs[0].Name != "" || st.With[0].Name != "a" || st.Attempts.Path != "expect.steps.tries.attempts" {
		t.Errorf("step expectation: %+v", st)
	}
	if e.Steps[0].Status.Path != "expect.steps.one.status" || e.Steps[2].Key != "undo:one" {
		t.Errorf("shorthand: %+v", e.Steps[0].Status)
	}
}

// TestParseMergeKeys: shared fixtures under an x- key, merged into cases
// and mocks with <<; explicit keys override merged ones.
func TestParseMergeKeys(t *testing.T) {
	src := `x-lookup: &lookup
  outputs: {status: declined, amount: 49}
x-case: &base
  inputs: {id: pi_1}
  mocks:
    lookup: *lookup
cases:
  - name: declined
    <<: *base
  - name: captured
    <<: *base
    inputs: {id: pi_2}
    mocks:
      lookup:
        <<: *lookup
        outputs: {status: captured, amount: 49}
`
	f, diags := Parse("t.test.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatalf("problems:\n%s", diags.Render())
	}
	if len(f.Cases) != 2 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	a, b := f.Cases[0], f.Cases[1]
	if a.Inputs["id"] != "pi_1" || a.Mocks["lookup"] == nil || fmt.Sprint(a.Mocks["lookup"].Reply.Outputs) != "map[amount:49 status:declined]" {
		t.Errorf("case a: inputs %v, mocks %+v", a.Inputs, a.Mocks["lookup"])
	}
	if b.Inputs["id"] != "pi_2" || fmt.Sprint(b.Mocks["lookup"].Reply.Outputs) != "map[amount:49 status:captured]" {
		t.Errorf("case b: inputs %v, mocks %+v", b.Inputs, b.Mocks["lookup"])
	}
}

// TestParseExpire: "expire" decides that nobody decides in time.
func TestParseExpire(t *testing.T) {
	f, diags := Parse("t.test.yaml", []byte("cases:\n  - name: a\n    approvals: {s: expire, t: approve}\n"))
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	if a := f.Cases[0].Approvals; !a["s"].Expire || a["s"].Approve || a["t"].Expire || !a["t"].Approve {
		t.Errorf("approvals %+v %+v", a["s"], a["t"])
	}
}

func TestParseProblems(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"empty", "", "t.test.yaml:1:1: the test file is empty: give cases"},
		{"syntax", "cases: [\n", "t.test.yaml:1:1: did not find expected node content"},
		{"two documents", "cases: [{name: a}]\n---\ncases: []\n", "t.test.yaml:2:1: a test file is one YAML document"},
		{"alias bomb", aliasBomb(), "nested too deep, or too many values (aliases?)"},
		{"not a mapping", "- a\n", "t.test.yaml:1:1: a test file is a mapping with cases:, got a list"},
		{"no cases", "runbook: x.yaml\n", "t.test.yaml:1:1: cases: cases is required: a list of test cases"},
		{"zero cases", "cases: []\n", "t.test.yaml:1:8: cases: give at least one case"},
		{"unknown top key", "cases: [{name: a}]\ncase: 1\n", "t.test.yaml:2:1: case: unknown key \"case\""},
		{"unknown merged key", "x-m: &m {name: a, mock: {}}\ncases:\n  - <<: *m\n", "t.test.yaml:1:19: cases[0].mock: unknown key \"mock\" (merged from an anchor)"},
		{"merge of a list", "cases:\n  - name: a\n    <<: [1]\n", "t.test.yaml:3:10: cases[0]: a merge key (<<) takes a mapping or a list of mappings, got a number"},
		{"unknown case key", "cases:\n  - name: a\n    mock: {}\n", "t.test.yaml:3:5: cases[0].mock: unknown key \"mock\""},
		{"no name", "cases:\n  - inputs: {}\n", "t.test.yaml:2:5: cases[0]: a case needs a name"},
		{"duplicate name", "cases:\n  - name: a\n  - name: a\n", "t.test.yaml:3:11: cases[1].name: case name \"a\" is already used at line 2"},
		{"duplicate key", "cases:\n  - name: a\n    name: b\n", "t.test.yaml:3:5: cases[0].name: \"name\" is given twice"},
		{"bad dry_run", "cases:\n  - name: a\n    dry_run: yes please\n", "t.test.yaml:3:14: cases[0].dry_run: must be true or false, got \"yes please\""},
		{"mock forms mixed", "cases:\n  - name: a\n    mocks:\n      s: {outputs: {}, items: [{}]}\n",
			"t.test.yaml:4:10: cases[0].mocks.s: outputs and items cannot be used together"},
		{"outputs and error", "cases:\n  - name: a\n    mocks:\n      s: {outputs: {}, error: x}\n",
			"t.test.yaml:4:10: cases[0].mocks.s: a mock gives outputs or an error, not both"},
		{"nested items", "cases:\n  - name: a\n    mocks:\n      s: {items: [{items: []}]}\n",
			"t.test.yaml:4:20: cases[0].mocks.s.items[0].items: unknown key \"items\""},
		{"error without message", "cases:\n  - name: a\n    mocks:\n      s: {error: {code: x}}\n",
			"t.test.yaml:4:18: cases[0].mocks.s.error: an error needs a message"},
		{"error key typo", "cases:\n  - name: a\n    mocks:\n      s: {error: {mesage: x}}\n",
			"t.test.yaml:4:19: cases[0].mocks.s.error.mesage: unknown key \"mesage\""},
		{"attempt key", "cases:\n  - name: a\n    mocks:\n      s: {attempts: [{output: {}}]}\n",
			"t.test.yaml:4:23: cases[0].mocks.s.attempts[0].output: unknown key \"output\""},
		{"decision", "cases:\n  - name: a\n    approvals: {s: yes}\n", "t.test.yaml:3:20: cases[0].approvals.s: unknown decision \"yes\""},
		{"decision without approve", "cases:\n  - name: a\n    approvals: {s: {by: me}}\n",
			"t.test.yaml:3:20: cases[0].approvals.s: approve is required: true or false"},
		{"run status", "cases:\n  - name: a\n    expect: {status: skipped}\n", "t.test.yaml:3:22: cases[0].expect.status: unknown status \"skipped\""},
		{"step status", "cases:\n  - name: a\n    expect: {steps: {s: done}}\n", "t.test.yaml:3:25: cases[0].expect.steps.s.status: unknown status \"done\""},
		{"attempts type", "cases:\n  - name: a\n    expect: {steps: {s: {attempts: two}}}\n",
			"t.test.yaml:3:36: cases[0].expect.steps.s.attempts: must be an integer, got \"two\""},
		{"outputs not a mapping", "cases:\n  - name: a\n    expect: {outputs: [1]}\n",
			"t.test.yaml:3:23: cases[0].expect.outputs: must be a mapping of names to expected values, got a list"},
		{"expression syntax", "cases:\n  - name: a\n    expect: {outputs: {x: '${{ value == }}'}}\n",
			"t.test.yaml:3:27: cases[0].expect.outputs.x: unexpected token EOF (1:8)"},
		{"expression name", "cases:\n  - name: a\n    expect: {outputs: {x: '${{ vlue == 1 }}'}}\n",
			"t.test.yaml:3:27: cases[0].expect.outputs.x: unknown name vlue (1:1)"},
		{"text around expression", "cases:\n  - name: a\n    expect: {outputs: {x: 'a ${{ value }}'}}\n",
			"t.test.yaml:3:27: cases[0].expect.outputs.x: an expected value holding ${{ }} must be exactly one ${{ expression }}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse("t.test.yaml", []byte(c.src))
			if len(diags) == 0 {
				t.Fatalf("no problem found, want %s", c.want)
			}
			for _, d := range diags {
				if d.Header() == c.want || strings.HasSuffix(d.Header(), ": "+c.want) {
					return
				}
			}
			t.Errorf("want %s\ngot:\n%s", c.want, diags.Render())
		})
	}
}

func TestParseHint(t *testing.T) {
	_, diags := Parse("t.test.yaml", []byte("cases:\n  - name: a\n    expect: {stauts: failed}\n"))
	want := `t.test.yaml:3:14: cases[0].expect.stauts: unknown key "stauts"
    3 |     expect: {stauts: failed}
      |              ^
  hint: did you mean "status"?
`
	if got := diags.Render(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// aliasBomb is a test file whose inputs expand to 10^9 values.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("cases:\n  - name: a\n    inputs: {x: *a9}\n")
	return b.String()
}

// TestParseFileMocks: top-level mocks apply to every case; a case's own
// mock of the same key wins.
func TestParseFileMocks(t *testing.T) {
	src := `mocks:
  observability.incident: {error: {code: not_configured, message: no backend}}
  lookup: {outputs: {status: declined}}
cases:
  - name: default
  - name: own
    mocks:
      observability.incident: {outputs: {incident: true}}
`
	f, diags := Parse("t.test.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatalf("problems:\n%s", diags.Render())
	}
	a, b := f.Cases[0], f.Cases[1]
	if m := a.Mocks["observability.incident"]; m == nil || m.Reply.Error == nil || m.Reply.Error.Code != "not_configured" || a.Mocks["lookup"] == nil {
		t.Errorf("case default: %+v", a.Mocks)
	}
	if m := b.Mocks["observability.incident"]; m == nil || fmt.Sprint(m.Reply.Outputs) != "map[incident:true]" || b.Mocks["lookup"] == nil {
		t.Errorf("case own: %+v", b.Mocks)
	}
	_, diags = Parse("t.test.yaml", []byte("mocks:\n  a: {outptus: {}}\ncases:\n  - name: x\n"))
	if got := diags.Render(); !strings.Contains(got, `t.test.yaml:2:7: mocks.a.outptus: unknown key "outptus"`) {
		t.Errorf("a bad file mock: %s", got)
	}
}

// TestParseNestedMergeKeys: a fixture built on another with << keeps the
// inner fixture's keys (found writing stuck-transaction's tests: a
// mined fixture merged into another lost its fields).
func TestParseNestedMergeKeys(t *testing.T) {
	src := `x-tx: &tx
  outputs: {state: mined, confirmations: 3}
x-mined: &mined
  <<: *tx
  outputs: {state: mined, confirmations: 12}
x-final: &final
  <<: *mined
cases:
  - name: mined
    mocks:
      lookup: {<<: *final}
`
	f, diags := Parse("t.test.yaml", []byte(src))
	if len(diags) > 0 {
		t.Fatalf("problems:\n%s", diags.Render())
	}
	if m := f.Cases[0].Mocks["lookup"]; m == nil || fmt.Sprint(m.Reply.Outputs) != "map[confirmations:12 state:mined]" {
		t.Fatalf("nested merge lost the inner fixture's keys: %+v", m)
	}
}
