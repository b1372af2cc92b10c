package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func events() []*engine.Event {
	return []*engine.Event{
		{Type: engine.RunStarted, RunID: "r1", Index: -1, Time: t0},
		{Type: engine.StepStarted, Step: "lookup", Name: "Look up", Action: "core.set", Index: -1, Time: t0},
		{Type: engine.AttemptStarted, Step: "lookup", Attempt: 1, Index: -1, Time: t0},
		{Type: engine.AttemptFailed, Step: "lookup", Attempt: 1, Index: -1, Time: t0, RetryIn: time.Second,
			Error: &engine.ErrorInfo{Message: "timeout"}},
		{Type: engine.AttemptStarted, Step: "lookup", Attempt: 2, Index: -1, Time: t0},
		{Type: engine.StepLog, Step: "lookup", Level: "info", Message: "found", Index: -1, Time: t0},
		{Type: engine.StepFinished, Step: "lookup", Name: "Look up", Action: "core.set", Status: engine.StatusSucceeded,
			Index: -1, Time: t0, Duration: 1500 * time.Millisecond},
		{Type: engine.StepSkipped, Step: "refund", Action: "pay.refund", Index: -1, Time: t0, Message: "if was false"},
	}
}

func TestPlain(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{StepWidth: 6})
	for _, e := range events() {
		p.Event(e)
	}
	p.Close()
	want := strings.Join([]string{
		"09:00:00  run r1 started",
		"09:00:00  lookup  running    Look up (core.set)",
		"09:00:00  lookup  error      attempt 1 failed: timeout; retrying in 1s",
		"09:00:00  lookup  retrying   attempt 2",
		"09:00:00  lookup  log        info: found",
		"09:00:00  lookup  succeeded  1.5s",
		"09:00:00  refund  skipped    if was false",
		"",
	}, "\n")
	got := strings.ReplaceAll(b.String(), t0.Local().Format("15:04:05"), "09:00:00")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestLive checks the in-place updates: running steps are redrawn at the
// bottom (cursor up, clear), finished lines are printed once above them.
func TestLive(t *testing.T) {
	var b bytes.Buffer
	now := t0
	p := New(&b, Options{Live: true, StepWidth: 6, Now: func() time.Time { return now }, Tick: time.Hour})
	ev := events()
	for _, e := range ev[:3] {
		p.Event(e)
	}
	now = now.Add(1200 * time.Millisecond)
	for _, e := range ev[3:] {
		p.Event(e)
	}
	p.Close()
	got := strings.ReplaceAll(b.String(), "\x1b", "ESC")
	want := "run r1 started\n" +
		"⠋ lookup  Look up  0s\n" +
		"ESC[1AESC[J⠋ lookup  Look up  0s\n" +
		"ESC[1AESC[J⠋ lookup  Look up  1.2s  timeout; retrying in 1s\n" +
		"ESC[1AESC[J⠋ lookup  Look up  attempt 2  1.2s  timeout; retrying in 1s\n" +
		"ESC[1AESC[J  lookup info: found\n" +
		"⠋ lookup  Look up  attempt 2  1.2s  timeout; retrying in 1s\n" +
		"ESC[1AESC[J✓ lookup  Look up  attempt 2  1.5s\n" +
		"○ refund  pay.refund  skipped: if was false\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLiveColorAndFit(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{Live: true, Color: true, Width: 20, Tick: time.Hour})
	p.Event(&engine.Event{Type: engine.StepStarted, Step: "a_very_long_step_id", Action: "core.set", Index: -1})
	p.Event(&engine.Event{Type: engine.StepFinished, Step: "a_very_long_step_id", Status: engine.StatusFailed, Index: -1,
		Error: &engine.ErrorInfo{Message: "boom"}})
	p.Close()
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], "\x1b[33m") || visible(lines[0]) > 19 {
		t.Errorf("live line %q: want yellow spinner and at most 19 visible characters", lines[0])
	}
	if !strings.Contains(b.String(), "\x1b[31m✗ a_very_long_step_id") {
		t.Errorf("failed line not red: %q", b.String())
	}
}

func visible(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

func TestSummary(t *testing.T) {
	var b bytes.Buffer
	Summary(&b, &engine.Result{ID: "r1", Runbook: "refund", Status: engine.StatusFailed, DryRun: true,
		Duration: engine.Duration(2 * time.Second),
		Error:    &engine.ErrorInfo{Message: "declined", Step: "charge"},
		Outputs:  map[string]any{"b": engine.Unknown{Step: "charge"}, "a": map[string]any{"x": 1}}}, false)
	want := "✗ run refund failed (dry-run) in 2s\n  id: r1\n  error: step charge: declined\noutputs:\n  a: {\"x\":1}\n  b: (unknown: steps.charge did not run (dry-run))\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestSummaryBlocks: a reply of several paragraphs and a wide record are
// shown as indented blocks; short values stay on their line.
func TestSummaryBlocks(t *testing.T) {
	var b strings.Builder
	Summary(&b, &engine.Result{ID: "r1", Runbook: "tx", Status: engine.StatusSucceeded, Outputs: map[string]any{
		"reply": "Hi Ana,\n\nYour transaction is waiting.\n",
		"state": "pending-fine",
		"small": map[string]any{"a": 1},
		"escalation": map[string]any{"title": "Node unhealthy on ethereum", "owner": "chain-infrastructure",
			"reproduction": []any{"steward run stuck-transaction --input chain=ethereum", "steward show r1"},
			"details":      []any{map[string]any{"code": "rpc_unavailable", "attempts": 3}}, "empty": []any{}},
	}}, false)
	want := `✓ run tx succeeded in 0s
  id: r1
outputs:
  escalation:
    details:
      - attempts: 3
        code: rpc_unavailable
    empty: []
    owner: chain-infrastructure
    reproduction:
      - steward run stuck-transaction --input chain=ethereum
      - steward show r1
    title: Node unhealthy on ethereum
  reply: |
    Hi Ana,

    Your transaction is waiting.
  small: {"a":1}
  state: pending-fine
`
	if got := b.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
