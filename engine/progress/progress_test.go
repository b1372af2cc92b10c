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
	// The step is drawn once its attempt starts, not at step.started.
	want := "run r1 started\n" +
		"⠋ lookup  Look up  0s\n" +
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
	p.Event(&engine.Event{Type: engine.AttemptStarted, Step: "a_very_long_step_id", Attempt: 1, Index: -1})
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

// hostile is text an action may return: a screen clear, a cursor move up
// (which would overwrite lines already printed), a window title (OSC ended
// by BEL), an 8-bit CSI (C1) and a line break.
const hostile = "x\x1b[2J\x1b[1A\x1b]0;pwned\x07\u009b31m\nmore"

// escaped is hostile as printed, its line break kept.
const escaped = `x\x1b[2J\x1b[1A\x1b]0;pwned\x07\u009b31m` + "\nmore"

func hostileEvents() []*engine.Event {
	err := &engine.ErrorInfo{Message: hostile}
	return []*engine.Event{
		{Type: engine.RunStarted, RunID: "r1", Index: -1, Time: t0},
		{Type: engine.StepStarted, Step: "a", Name: "name " + hostile, Action: "core.set", Index: -1, Time: t0},
		{Type: engine.StepWaiting, Step: "a", Message: "approve " + hostile, Index: -1, Time: t0},
		{Type: engine.AttemptFailed, Step: "a", Attempt: 1, Index: -1, Time: t0, RetryIn: time.Second, Error: err},
		{Type: engine.StepLog, Step: "a", Level: "info", Message: hostile, Index: -1, Time: t0},
		{Type: engine.StepFinished, Step: "a", Action: "core.set", Status: engine.StatusFailed, Index: -1, Time: t0, Error: err},
		{Type: engine.StepSkipped, Step: "b", Action: "core.set", Index: -1, Time: t0, Message: hostile},
	}
}

// TestControlSequencesEscaped: control sequences in what actions say
// (names, messages, errors, logs, approval messages) reach neither the
// plain nor the live output, nor the summary: they are escaped visibly.
// The live output's own sequences (cursor up, clear, colours) remain.
func TestControlSequencesEscaped(t *testing.T) {
	for _, live := range []bool{false, true} {
		var b bytes.Buffer
		p := New(&b, Options{Live: live, Color: live, StepWidth: 1, Tick: time.Hour, Width: 1000})
		for _, e := range hostileEvents() {
			p.Event(e)
		}
		p.Close()
		p.Summary(&engine.Result{ID: "r1", Runbook: "rb", Status: engine.StatusFailed,
			Error:   &engine.ErrorInfo{Message: hostile, Step: "a"},
			Outputs: map[string]any{"s": hostile, "m": map[string]any{"k": "\u009b\x7f"}, "k\x1b": 1}})
		out := b.String()
		for _, own := range []string{"\x1b[1A\x1b[J", "\x1b[0m", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[2m"} {
			out = strings.ReplaceAll(out, own, "")
		}
		if i := strings.IndexAny(out, "\x1b\x07\u009b\x7f"); i >= 0 {
			t.Errorf("live=%v: a control character reaches the terminal at %d:\n%q", live, i, out)
		}
		for _, want := range []string{escaped, `\u009b\x7f`, `k\x1b:`} {
			if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, "\n", `\n`)) {
				t.Errorf("live=%v: %q is not shown escaped:\n%s", live, want, out)
			}
		}
	}
}

// notRunEvents are steps that never run an attempt: one waits for an
// approval, one is not run by a dry run, one is denied; and one approved
// that then runs.
func notRunEvents() []*engine.Event {
	ev := func(typ engine.EventType, step string, f func(e *engine.Event)) *engine.Event {
		e := &engine.Event{Type: typ, Step: step, Action: "core.set", Index: -1, Time: t0}
		if f != nil {
			f(e)
		}
		return e
	}
	return []*engine.Event{
		ev(engine.StepStarted, "mut", nil),
		ev(engine.StepDryRun, "mut", func(e *engine.Event) { e.Message = `dry-run: would run core.set with {"a":1}` }),
		ev(engine.StepFinished, "mut", func(e *engine.Event) { e.Status = engine.StatusSkipped }),
		ev(engine.StepStarted, "denied", nil),
		ev(engine.StepFinished, "denied", func(e *engine.Event) {
			e.Status, e.Error = engine.StatusFailed, &engine.ErrorInfo{Message: "approval denied by dana"}
		}),
		ev(engine.StepStarted, "ok", nil),
		ev(engine.StepApproved, "ok", func(e *engine.Event) { e.Message = "approved by dana" }),
		ev(engine.AttemptStarted, "ok", func(e *engine.Event) { e.Attempt = 1 }),
		ev(engine.StepFinished, "ok", func(e *engine.Event) { e.Status = engine.StatusSucceeded }),
		ev(engine.StepStarted, "gate", nil),
		ev(engine.StepWaiting, "gate", func(e *engine.Event) { e.Message = "go?" }),
		ev(engine.StepFinished, "gate", func(e *engine.Event) { e.Status = engine.StatusWaiting }),
	}
}

// TestPlainNotRunning: a step is shown running when an attempt starts, so
// a step that waits, is denied or is not run by a dry run never is.
func TestPlainNotRunning(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{StepWidth: 6})
	for _, e := range notRunEvents() {
		p.Event(e)
	}
	p.Close()
	want := strings.Join([]string{
		`09:00:00  mut     dry-run    would run core.set with {"a":1}`,
		"09:00:00  mut     skipped    0s",
		"09:00:00  denied  failed     0s: approval denied by dana",
		"09:00:00  ok      approved   approved by dana",
		"09:00:00  ok      running    core.set",
		"09:00:00  ok      succeeded  0s",
		"09:00:00  gate    waiting    approval: go?",
		"",
	}, "\n")
	got := strings.ReplaceAll(b.String(), t0.Local().Format("15:04:05"), "09:00:00")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestLiveNotRunning: in a terminal, no spinner is drawn for a step
// before an attempt starts; a waiting step is drawn as waiting.
func TestLiveNotRunning(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, Options{Live: true, StepWidth: 6, Now: func() time.Time { return t0 }, Tick: time.Hour})
	for _, e := range notRunEvents() {
		p.Event(e)
	}
	p.Close()
	got := strings.ReplaceAll(b.String(), "\x1b", "ESC")
	want := `○ mut     core.set  would run core.set with {"a":1}` + "\n" +
		"○ mut     core.set  0s\n" +
		"✗ denied  core.set  0s  approval denied by dana\n" +
		"⠋ ok      core.set  0s\n" +
		"ESC[1AESC[J✓ ok      core.set  0s\n" +
		"⏸ gate    core.set  0s  approval: go?\n" +
		"ESC[1AESC[J⏸ gate    core.set  waiting for approval\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestWaitingWithoutMessage: a step whose approval asks no message waits
// for "approval", not "approval: " with nothing after it.
func TestWaitingWithoutMessage(t *testing.T) {
	ev := func(typ engine.EventType, step, nested string) *engine.Event {
		return &engine.Event{Type: typ, Step: step, Action: "core.set", Index: -1, Time: t0, Nested: nested}
	}
	events := []*engine.Event{
		ev(engine.StepStarted, "gate", ""),
		ev(engine.StepWaiting, "gate", ""),
		ev(engine.StepWaiting, "sub", "child.refund"),
	}
	var b bytes.Buffer
	p := New(&b, Options{StepWidth: 4})
	for _, e := range events {
		p.Event(e)
	}
	p.Close()
	want := "09:00:00  gate  waiting    approval\n09:00:00  sub   waiting    sub-run approval: child.refund\n"
	if got := strings.ReplaceAll(b.String(), t0.Local().Format("15:04:05"), "09:00:00"); got != want {
		t.Errorf("plain: got\n%s\nwant\n%s", got, want)
	}
	b.Reset()
	p = New(&b, Options{Live: true, StepWidth: 4, Now: func() time.Time { return t0 }, Tick: time.Hour})
	p.Event(events[0])
	p.Event(events[1])
	p.Close()
	if got, want := b.String(), "⏸ gate  core.set  0s  approval\n"; !strings.HasPrefix(got, want) {
		t.Errorf("live: got\n%q\nwant it to start %q", got, want)
	}
}
