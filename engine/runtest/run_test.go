package runtest

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	execaction "github.com/stewardhq/steward/actions/exec"
	httpaction "github.com/stewardhq/steward/actions/http"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// builtins is the registry the CLI gives: the real built-in actions, on
// the real clock (runtest replaces what waits on it).
func builtins(t testing.TB) *actions.Registry {
	t.Helper()
	reg := actions.NewRegistry()
	if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(httpaction.New("test"), execaction.New()); err != nil {
		t.Fatal(err)
	}
	return reg
}

// suite writes files into a temporary folder and loads NAME.test.yaml.
func suite(t *testing.T, files map[string]string) *Suite {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, diags := Load(filepath.Join(dir, "rb.test.yaml"), builtins(t))
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	return s
}

// runAll runs every case and returns its failures as "LINE: message".
func runAll(t *testing.T, s *Suite) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range s.File.Cases {
		r := s.Run(context.Background(), c)
		if r.Name != "rb/"+c.Name {
			t.Errorf("name %q", r.Name)
		}
		var msgs []string
		for _, f := range r.Failures {
			msgs = append(msgs, strconv.Itoa(f.Line)+": "+f.Message)
		}
		out[c.Name] = msgs
	}
	return out
}

func wantFailures(t *testing.T, got map[string][]string, want map[string][]string) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			t.Errorf("case %q failures:\n got %q\nwant %q", name, g, w)
		}
	}
}

const unmockedRunbook = `version: 1
name: rb
steps:
  - id: grant
    action: exec
    with: {command: [touch, /tmp/steward-runtest-must-not-exist]}
    undo:
      action: directory.revoke
      with: {user: ana}
  - id: check
    action: core.fail
    with: {message: stop}
`

func TestUnmockedActionFailsTheCase(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": unmockedRunbook, "rb.test.yaml": `cases:
  - name: exec is not mocked
    expect: {status: failed}
  - name: the undo is not mocked
    mocks:
      grant: {outputs: {exit_code: 0}}
    expect:
      status: failed
      steps:
        undo:grant: {status: failed, error: 'action directory.revoke is not mocked'}
  - name: all mocked
    mocks:
      exec: {}
      directory.revoke: {outputs: {revoked: true}}
    expect:
      status: failed
      error: 'step check: stop'
      steps:
        undo:grant: {status: succeeded, outputs: {revoked: true}, with: {user: ana}}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"exec is not mocked":     {`2: step grant: action exec is not mocked: add it under mocks (by step id "grant" or action "exec")`},
		"the undo is not mocked": {`4: undo of step grant: action directory.revoke is not mocked: add it under mocks (by action "directory.revoke")`},
		"all mocked":             nil,
	})
	if _, err := os.Stat("/tmp/steward-runtest-must-not-exist"); err == nil {
		t.Fatal("exec ran for real")
	}
}

func TestRetryOnVirtualTime(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": `version: 1
name: rb
timeout: 1s
steps:
  - id: call
    action: http.request
    with: {url: https://example.com}
    timeout: 1ms
    retry: {attempts: 4, delay: 1h, backoff: 2}
  - id: wait
    action: core.sleep
    with: {duration: 24h}
outputs:
  status: ${{ steps.call.outputs.status }}
`, "rb.test.yaml": `cases:
  - name: third time lucky
    mocks:
      http.request:
        attempts:
          - error: {message: reset, retryable: true}
          - error: {message: reset, retryable: true}
          - outputs: {status: 204}
    expect:
      outputs: {status: 204}
      steps:
        call: {attempts: 3}
        wait: {outputs: {slept: 24h0m0s}}
`})
	start := time.Now()
	r := s.Run(context.Background(), s.File.Cases[0])
	if !r.Passed() {
		t.Fatal(r.Failures)
	}
	// A guard against real waits (the first one alone is an hour), not
	// a measure: a loaded CI machine may take seconds for the run.
	if time.Since(start) > 5*time.Minute {
		t.Errorf("the run took %v of real time", time.Since(start))
	}
	// 1h and 2h of retry delays, then 24h of sleep, on the virtual clock;
	// the 1ms step timeout and 1s run timeout never fire.
	if got := time.Duration(r.Result.Duration); got != 27*time.Hour {
		t.Errorf("virtual duration %v, want 27h", got)
	}
	if !r.Result.StartedAt.Equal(Start) {
		t.Errorf("started at %v", r.Result.StartedAt)
	}
}

func TestApprovalsSecretsAndActor(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": `version: 1
name: rb
steps:
  - id: go
    approval:
      message: go?
    action: core.set
    with:
      by: ${{ run.actor }}
      token: ${{ secret("token") }}
outputs:
  token: ${{ steps.go.outputs.token }}
  by: ${{ steps.go.outputs.by }}
`, "rb.test.yaml": `cases:
  - name: approved
    actor: ana
    secrets: {token: t0k}
    approvals: {go: approve}
    expect: {outputs: {token: t0k, by: ana}}
  - name: denied
    approvals: {go: {approve: false, by: lead, comment: not now}}
    expect:
      status: failed
      error: 'step go: approval denied by lead: not now'
  - name: undecided
    expect:
      status: succeeded
  - name: missing secret
    approvals: {go: approve}
    expect: {status: failed, error: secret}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"approved": nil,
		"denied":   nil,
		"undecided": {
			"14: expect.status: got waiting, want succeeded",
			"14: the run waits for the approval of go: decide it under approvals (approve or deny)",
		},
		"missing secret": nil,
	})
}

func TestForEachItemsAndWith(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": `version: 1
name: rb
steps:
  - id: each
    for_each: '${{ ["a", "b", "c"] }}'
    continue_on_error: true
    action: notify.send
    with: {to: '${{ item }}', n: '${{ index }}'}
`, "rb.test.yaml": `cases:
  - name: second item fails
    mocks:
      each:
        items:
          - outputs: {ok: 1}
          - attempts: [{error: boom}]
          - {}
    expect:
      steps:
        each:
          status: failed
          items: 3
          error: 'item 1 of 3: boom'
          outputs: [{ok: 1}, null, {}]
          with: [{to: a, n: 0}, {to: b, n: 1}, '${{ value.to == "c" }}']
  - name: wrong expectations
    mocks:
      notify.send: {outputs: {ok: 1}}
    expect:
      steps:
        each:
          items: 2
          outputs: [{ok: 1}, {ok: 2}, {ok: 1}]
          with: {to: a}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"second item fails": nil,
		"wrong expectations": {
			"23: expect.steps.each.items: got 3, want 2",
			"24: expect.steps.each.outputs[1].ok: got 1, want 2",
			`25: expect.steps.each.with.to: the step's with are not a mapping: got [{"n":0,"to":"a"},{"n":1,"to":"b"},{"n":2,"to":"c"}]`,
		},
	})
}

func TestSubRunsUseTheMocks(t *testing.T) {
	s := suite(t, map[string]string{
		"child.yaml": `version: 1
name: child
inputs: {who: {type: string}}
steps:
  - id: fetch
    action: crm.get
    with: {who: '${{ inputs.who }}'}
outputs:
  email: ${{ steps.fetch.outputs.email }}
`,
		"rb.yaml": `version: 1
name: rb
steps:
  - id: sub
    action: core.runbook
    with: {name: child, inputs: {who: ana}}
outputs:
  email: ${{ steps.sub.outputs.email }}
`, "rb.test.yaml": `cases:
  - name: by sub-run step path
    mocks:
      sub/fetch: {outputs: {email: a@x.io}}
    expect: {outputs: {email: a@x.io}}
  - name: by action
    mocks:
      crm.get: {outputs: {email: b@x.io}}
    expect: {outputs: {email: b@x.io}}
  - name: the sub-run step is not mocked
    expect: {status: failed}
  - name: the sub-run is mocked whole
    mocks:
      sub: {outputs: {email: c@x.io}}
    expect: {outputs: {email: c@x.io}}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"by sub-run step path": nil,
		"by action":            nil,
		"the sub-run step is not mocked": {
			`10: step sub/fetch: action crm.get is not mocked: add it under mocks (by step id "sub/fetch" or action "crm.get")`,
		},
		"the sub-run is mocked whole": nil,
	})
}

// TestSubRunApprovals: a sub-run's approval is decided as S/X; without
// a decision the sub-run waits, and so do its step and the case's run,
// which names the question to decide.
func TestSubRunApprovals(t *testing.T) {
	s := suite(t, map[string]string{
		"child.yaml": `version: 1
name: child
steps:
  - id: refund
    approval:
      message: Refund?
    action: core.set
    with: {refunded: true}
outputs:
  refunded: ${{ steps.refund.outputs.refunded }}
`,
		"rb.yaml": `version: 1
name: rb
steps:
  - id: sub
    action: core.runbook
    with: {name: child}
  - id: after
    action: core.set
    with: {refunded: '${{ steps.sub.outputs.refunded }}'}
outputs:
  refunded: ${{ steps.after.outputs.refunded }}
`, "rb.test.yaml": `cases:
  - name: approved in the sub-run
    approvals:
      sub/refund: approve
    expect: {outputs: {refunded: true}}
  - name: the sub-run waits and so does the run
    expect:
      status: waiting
      steps: {sub: waiting, after: pending}
  - name: a missing decision is named
    expect: {outputs: {refunded: true}}
  - name: denied in the sub-run
    approvals:
      sub/refund: deny
    expect:
      status: failed
      steps: {sub: {status: failed, error: approval denied by approver}}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"approved in the sub-run":               nil,
		"the sub-run waits and so does the run": nil,
		"a missing decision is named": {
			"10: expect.status: got waiting, want succeeded",
			"10: the run waits for the approval of sub/refund: decide it under approvals (approve or deny)",
			"11: expect.outputs.refunded: the run has no output refunded (it ended waiting)",
		},
		"denied in the sub-run": nil,
	})
}

func TestDryRunAndInputs(t *testing.T) {
	s := suite(t, map[string]string{"rb.yaml": `version: 1
name: rb
inputs: {n: {type: integer, required: true}}
steps:
  - id: read
    action: http.request
    with: {method: GET, url: https://example.com}
  - id: write
    action: http.request
    with: {method: POST, url: 'https://example.com/${{ steps.read.outputs.status }}'}
    outputs: {code: '${{ result.status }}'}
`, "rb.test.yaml": `cases:
  - name: dry run reads only
    dry_run: true
    inputs: {n: 1}
    mocks:
      read: {outputs: {status: 200}}
    expect:
      steps:
        read: succeeded
        write: {status: skipped, outputs: '${{ value.unknown contains "write" }}'}
  - name: wrong inputs
    inputs: {m: 1}
`})
	wantFailures(t, runAll(t, s), map[string][]string{
		"dry run reads only": nil,
		"wrong inputs": {
			`11: inputs: input m: is not an input of rb (did you mean "n"?)`,
			"11: inputs: input n: is required",
		},
	})
}

func TestBindProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rb.yaml", unmockedRunbook)
	write("rb.test.yaml", `cases:
  - name: a
    mocks: {grnt: {}, check: {items: [{}]}, directory.revok: {}}
    approvals: {grant: approve}
    expect:
      outputs: {x: 1}
      steps: {undo:check: failed, chek: failed, grant: not_run}
`)
	_, diags := Load(filepath.Join(dir, "rb.test.yaml"), builtins(t))
	var got []string
	for _, d := range diags {
		got = append(got, strings.TrimPrefix(d.Header(), dir+"/")+" | "+d.Hint)
	}
	want := []string{
		`rb.test.yaml:3:13: cases[0].mocks.grnt: no step or action "grnt" in rb | did you mean "grant"?`,
		`rb.test.yaml:3:23: cases[0].mocks.check.items: step check has no for_each | use outputs, error or attempts`,
		`rb.test.yaml:3:45: cases[0].mocks.directory.revok: no step or action "directory.revok" in rb | did you mean "directory.revoke"?`,
		`rb.test.yaml:4:17: cases[0].approvals.grant: step grant has no approval | the runbook has no steps with an approval`,
		`rb.test.yaml:6:17: cases[0].expect.outputs.x: no output "x" in rb | the runbook has no outputs`,
		`rb.test.yaml:7:15: cases[0].expect.steps.undo:check: step check has no undo | undo of: undo:grant`,
		`rb.test.yaml:7:35: cases[0].expect.steps.chek: no step "chek" in rb | did you mean "check"?`,
		`rb.test.yaml:7:56: cases[0].expect.steps.grant.status: not_run is only for undo:ID | a step that did not start is pending or skipped`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	write("other.test.yaml", "cases: [{name: a}]\n")
	_, diags = Load(filepath.Join(dir, "other.test.yaml"), nil)
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "no runbook") || diags[0].Line != 1 {
		t.Errorf("missing runbook: %v", diags)
	}
	write("set.yaml", "version: 1\nname: set\nsteps:\n  - id: s\n    action: core.set\n    with: {a: 1}\n")
	write("set.test.yaml", "cases: [{name: a, expect: {steps: {s: {outputs: {a: 1}}}}}]\n")
	s, diags := Load(filepath.Join(dir, "set.test.yaml"), nil)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	if r := s.Run(context.Background(), s.File.Cases[0]); !r.Passed() {
		t.Errorf("core.set without a registry: %v", r.Failures)
	}
	write("bad.yaml", "version: 1\nname: bad\nsteps: []\n")
	write("bad.test.yaml", "runbook: bad.yaml\ncases: [{name: a}]\n")
	_, diags = Load(filepath.Join(dir, "bad.test.yaml"), nil)
	if len(diags) == 0 || diags[0].File != filepath.Join(dir, "bad.yaml") {
		t.Errorf("invalid runbook: %v", diags)
	}
}
