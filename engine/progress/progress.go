// Package progress shows a run as it happens: an engine.Sink that writes
// one line per state change (logs, CI), or, in a terminal, one line per
// step updated in place with a spinner while it runs, and a summary at the
// end.
package progress

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/printable"
)

// Options say how to print.
type Options struct {
	Live  bool // a terminal: update lines in place
	Color bool
	// StepWidth pads step ids to line up columns: the longest id.
	StepWidth int
	// Now is the clock for elapsed times; default time.Now.
	Now func() time.Time
	// Tick is the spinner's period in live mode; default 100ms.
	Tick time.Duration
	// Width is the terminal's width: live lines are cut to fit, so that
	// redrawing them in place works. 0 means 80.
	Width int
}

// Printer is an engine.Sink that prints progress.
type Printer struct {
	w    io.Writer
	opts Options

	mu sync.Mutex
	// started holds the step.started of each step not yet shown (plain
	// mode): a step is shown running when an attempt starts, never when
	// it waits for an approval or a dry run does not run it.
	started map[string]*engine.Event
	active  []*line // running or waiting steps, in order of start (live mode)
	drawn   int     // live lines currently on screen
	frame   int
	stop    chan struct{}
	done    chan struct{}
}

// line is the live state of one step.
type line struct {
	key     string
	step    string
	phase   engine.Phase
	name    string
	action  string
	status  engine.Status
	attempt int
	items   int
	start   time.Time
	note    string
	// shown: an attempt started, or the step waits; until then it is
	// not drawn (it may wait, or not run in a dry run).
	shown bool
}

// New returns a printer writing to w. Call Close when the run has ended.
func New(w io.Writer, opts Options) *Printer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	p := &Printer{w: w, opts: opts, started: map[string]*engine.Event{}}
	if opts.Live {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.spin()
	}
	return p
}

func (p *Printer) spin() {
	defer close(p.done)
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.frame++
			if len(p.active) > 0 {
				p.redraw()
			}
			p.mu.Unlock()
		}
	}
}

// Close stops the spinner and clears the live lines.
func (p *Printer) Close() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.active = nil
	p.stop = nil
}

// Event implements engine.Sink. What the event says is printed with its
// control characters escaped (see package printable): action output must
// not drive the terminal.
func (p *Printer) Event(e *engine.Event) {
	e = printableEvent(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.opts.Live {
		p.live(e)
		return
	}
	p.plain(e)
}

func key(e *engine.Event) string { return string(e.Phase) + "/" + e.Step }

// printableEvent returns a copy of e whose texts are safe to print: control
// characters escaped, line breaks kept (a line of progress that must stay
// on its line escapes them too, see Printer.redraw).
func printableEvent(e *engine.Event) *engine.Event {
	c := *e
	for _, f := range []*string{&c.Message, &c.Name, &c.Action, &c.Actor, &c.RunID, &c.Level, &c.Step} {
		*f = printable.String(*f)
	}
	if e.Error != nil {
		ec := *e.Error
		ec.Message, ec.Step = printable.String(ec.Message), printable.String(ec.Step)
		c.Error = &ec
	}
	return &c
}

// label is a step's id padded to line up, "undo:" before it in undo.
func (p *Printer) label(step string, phase engine.Phase) string {
	if phase == engine.PhaseUndo {
		step = "undo:" + step
	}
	return fmt.Sprintf("%-*s", p.opts.StepWidth, step)
}

// plain writes one line per state change. A step is shown running when
// its first attempt starts (or it logs), not at step.started: a step that
// then waits for an approval, is denied, or is not run by a dry run was
// never running.
func (p *Printer) plain(e *engine.Event) {
	ts := e.Time.Local().Format("15:04:05")
	out := func(status, detail string) {
		s := fmt.Sprintf("%s  %s  %-9s", ts, p.label(e.Step, e.Phase), status)
		if detail != "" {
			s += "  " + detail
		}
		fmt.Fprintln(p.w, strings.TrimRight(s, " "))
	}
	k := key(e)
	started := p.started[k]
	switch e.Type {
	case engine.StepStarted:
		p.started[k] = e
		return
	case engine.AttemptStarted, engine.StepLog, engine.AttemptFailed:
		if started != nil {
			delete(p.started, k)
			detail := started.Action
			if started.Name != "" {
				detail = started.Name + " (" + started.Action + ")"
			}
			if started.Items > 0 {
				detail += fmt.Sprintf(", %d items", started.Items)
			}
			out("running", detail)
		}
	case engine.StepWaiting, engine.StepDryRun, engine.StepFinished, engine.StepSkipped:
		delete(p.started, k)
	}
	switch e.Type {
	case engine.RunStarted:
		fmt.Fprintf(p.w, "%s  run %s started\n", ts, e.RunID)
	case engine.RunResumed:
		fmt.Fprintf(p.w, "%s  run %s resumed by %s: finished steps are not run again\n", ts, e.RunID, e.Actor)
	case engine.StepWaiting:
		what := "approval: "
		if e.Interrupted {
			what = "decision: "
		}
		if e.Nested != "" {
			// A sub-run's question, named by its path from this run.
			what = "sub-run " + what + e.Nested + ": "
		}
		out("waiting", question(what, e.Message))
	case engine.StepApproved:
		out("approved", e.Message)
	case engine.AttemptStarted:
		if e.Attempt > 1 {
			out("retrying", fmt.Sprintf("attempt %d%s", e.Attempt, item(e.Index)))
		}
	case engine.AttemptFailed:
		if e.RetryIn > 0 {
			out("error", fmt.Sprintf("attempt %d%s failed: %s; retrying in %s", e.Attempt, item(e.Index), e.Error.Message, e.RetryIn))
		} else if e.Index >= 0 {
			out("error", fmt.Sprintf("item %d failed: %s", e.Index, e.Error.Message))
		}
	case engine.StepLog:
		out("log", e.Level+": "+e.Message)
	case engine.StepDryRun:
		out("dry-run", strings.TrimPrefix(e.Message, "dry-run: ")+item(e.Index))
	case engine.StepSkipped:
		out("skipped", e.Message)
	case engine.StepFinished:
		if e.Status == engine.StatusWaiting {
			return // said by step.waiting
		}
		detail := dur(e.Duration)
		if e.Error != nil {
			detail += ": " + e.Error.Message
		}
		out(string(e.Status), detail)
	}
}

func item(i int) string {
	if i < 0 {
		return ""
	}
	return fmt.Sprintf(" (item %d)", i)
}

// dur rounds a duration for people.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// Summary prints how the run ended and its outputs.
func (p *Printer) Summary(res *engine.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	Summary(p.w, res, p.opts.Color)
}

// Summary prints how a run ended and its outputs.
func Summary(w io.Writer, res *engine.Result, color bool) {
	c := colors(color)
	sym := map[engine.Status]string{
		engine.StatusSucceeded: c.green + "✓", engine.StatusFailed: c.red + "✗",
		engine.StatusCancelled: c.red + "⊘", engine.StatusWaiting: c.yellow + "⏸",
	}[res.Status]
	mode := ""
	if res.DryRun {
		mode = " (dry-run)"
	}
	fmt.Fprintf(w, "%s run %s %s%s in %s%s\n", sym, printable.Line(res.Runbook), printable.Line(string(res.Status)), mode,
		dur(time.Duration(res.Duration)), c.reset)
	fmt.Fprintf(w, "  id: %s\n", printable.Line(res.ID))
	switch res.Status {
	case engine.StatusFailed, engine.StatusCancelled:
		if res.Error != nil {
			where := ""
			if res.Error.Step != "" {
				where = "step " + res.Error.Step + ": "
			}
			fmt.Fprintf(w, "  error: %s%s\n", printable.String(where), printable.String(res.Error.Message))
		}
	case engine.StatusWaiting:
		for _, s := range res.Steps {
			if s.Status != engine.StatusWaiting {
				continue
			}
			if len(s.Nested) == 0 {
				fmt.Fprintf(w, "  waiting: step %s needs an approval\n", printable.Line(s.ID))
			}
			// A core.runbook step whose sub-run waits: its questions, by
			// their paths.
			for _, q := range s.Nested {
				fmt.Fprintf(w, "  waiting: step %s, for %s in its sub-run\n", printable.Line(s.ID), printable.Line(q.Step))
			}
		}
	}
	if len(res.Outputs) > 0 {
		fmt.Fprintln(w, "outputs:")
		names := make([]string, 0, len(res.Outputs))
		for k := range res.Outputs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(w, "  %s:%s\n", printable.Line(k), show(res.Outputs[k], "    "))
		}
	}
}

// wideValue is the width above which a list or an object is shown as an
// indented block rather than as one line of JSON.
const wideValue = 72

// show renders an output value after its "name:": on the same line when
// it fits, else as an indented block in YAML's style, so that a reply of
// several paragraphs or an escalation record reads as it will be pasted.
// Each line of the block starts with indent. Control characters are
// escaped.
func show(v any, indent string) string {
	switch x := v.(type) {
	case string:
		x = printable.String(x)
		if strings.Contains(strings.TrimRight(x, "\n"), "\n") {
			return " |\n" + indentLines(strings.TrimRight(x, "\n"), indent)
		}
		return " " + x
	case engine.Unknown:
		return " " + printable.Line(x.String())
	case nil:
		return " null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return " " + printable.Line(fmt.Sprint(v))
	}
	if len(b) <= wideValue {
		return " " + printable.Line(string(b))
	}
	var generic any
	if json.Unmarshal(b, &generic) != nil {
		return " " + printable.Line(string(b))
	}
	var sb strings.Builder
	block(&sb, generic, indent)
	return sb.String()
}

// block writes a list or an object as YAML-style lines under its key:
// each entry on a line of its own, nested values indented further, and an
// object in a list starting on the line of its "-".
func block(sb *strings.Builder, v any, indent string) {
	blockAt(sb, v, indent, false)
}

func blockAt(sb *strings.Builder, v any, indent string, inline bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			sb.WriteString(" {}")
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 && inline {
				sb.WriteString(" " + printable.Line(k) + ":")
			} else {
				sb.WriteString("\n" + indent + printable.Line(k) + ":")
			}
			blockAt(sb, x[k], indent+"  ", false)
		}
	case []any:
		if len(x) == 0 {
			sb.WriteString(" []")
			return
		}
		for _, it := range x {
			sb.WriteString("\n" + indent + "-")
			blockAt(sb, it, indent+"  ", true)
		}
	default:
		sb.WriteString(show(x, indent))
	}
}

// indentLines prefixes each non-empty line of s with indent.
func indentLines(s, indent string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "\n")
}

// question is what a waiting step waits for: "approval: MESSAGE", or
// "approval" when the step's approval asks no message.
func question(what, message string) string {
	if message == "" {
		return strings.TrimSuffix(what, ": ")
	}
	return what + message
}
