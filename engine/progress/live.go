package progress

import (
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/printable"
)

type palette struct{ green, red, yellow, dim, reset string }

func colors(on bool) palette {
	if !on {
		return palette{}
	}
	return palette{green: "\x1b[32m", red: "\x1b[31m", yellow: "\x1b[33m", dim: "\x1b[2m", reset: "\x1b[0m"}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// live keeps one line per running step at the bottom of the screen,
// redrawn in place; a step's final line is printed above them once.
func (p *Printer) live(e *engine.Event) {
	k := key(e)
	find := func() *line {
		for _, l := range p.active {
			if l.key == k {
				return l
			}
		}
		return nil
	}
	l := find()
	switch e.Type {
	case engine.RunStarted:
		p.above(fmt.Sprintf("run %s started", e.RunID))
		return
	case engine.RunResumed:
		p.above(fmt.Sprintf("run %s resumed by %s: finished steps are not run again", e.RunID, e.Actor))
		return
	case engine.StepStarted:
		if l == nil {
			l = &line{key: k, step: e.Step, phase: e.Phase, action: e.Action, start: p.opts.Now(), status: engine.StatusRunning}
			p.active = append(p.active, l)
		}
		l.name, l.items = e.Name, e.Items
	case engine.StepWaiting:
		if l != nil {
			l.status, l.note, l.shown = engine.StatusWaiting, question("approval: ", e.Message), true
			if e.Nested != "" {
				l.note = question("sub-run approval: "+e.Nested+": ", e.Message)
			}
		}
	case engine.AttemptStarted:
		if l != nil && e.Attempt > l.attempt {
			l.attempt = e.Attempt
		}
		if l != nil {
			l.shown = true
		}
	case engine.AttemptFailed:
		if l != nil && e.RetryIn > 0 {
			l.note = fmt.Sprintf("%s; retrying in %s", e.Error.Message, e.RetryIn)
		}
	case engine.StepLog:
		p.above(fmt.Sprintf("  %s %s: %s", p.label(e.Step, e.Phase), e.Level, e.Message))
		return
	case engine.StepDryRun:
		p.finishLine(l, e, "○", strings.TrimPrefix(e.Message, "dry-run: "), colors(p.opts.Color).dim)
		return
	case engine.StepSkipped:
		p.finishLine(l, e, "○", "skipped: "+e.Message, colors(p.opts.Color).dim)
		return
	case engine.StepFinished:
		c := colors(p.opts.Color)
		sym, col, detail := "✓", c.green, dur(e.Duration)
		switch e.Status {
		case engine.StatusFailed:
			sym, col = "✗", c.red
			if e.Error != nil {
				detail += "  " + e.Error.Message
			}
		case engine.StatusCancelled:
			sym, col, detail = "⊘", c.red, "cancelled"
		case engine.StatusSkipped:
			sym, col = "○", c.dim
		case engine.StatusWaiting:
			sym, col, detail = "⏸", c.yellow, "waiting for approval"
		}
		p.finishLine(l, e, sym, detail, col)
		return
	}
	p.redraw()
}

// finishLine prints a step's final line above the live lines and stops
// tracking it.
func (p *Printer) finishLine(l *line, e *engine.Event, sym, detail, col string) {
	name := e.Name
	if name == "" && l != nil {
		name = l.name
	}
	if name == "" {
		name = e.Action
	}
	if l != nil {
		for i, a := range p.active {
			if a == l {
				p.active = append(p.active[:i], p.active[i+1:]...)
				break
			}
		}
	}
	attempt := ""
	if l != nil && l.attempt > 1 {
		attempt = fmt.Sprintf("  attempt %d", l.attempt)
	}
	p.above(fmt.Sprintf("%s%s %s  %s%s  %s%s", col, sym, p.label(e.Step, e.Phase), name, attempt, detail, colors(p.opts.Color).reset))
}

// above prints a permanent line above the live ones.
func (p *Printer) above(s string) {
	p.clear()
	fmt.Fprintln(p.w, s)
	p.redraw()
}

// clear erases the live lines.
func (p *Printer) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

func (p *Printer) redraw() {
	p.clear()
	c := colors(p.opts.Color)
	now := p.opts.Now()
	p.drawn = 0
	for _, l := range p.active {
		if !l.shown {
			continue // not running yet: it may wait, or not run
		}
		sym := c.yellow + spinner[p.frame%len(spinner)] + c.reset
		if l.status == engine.StatusWaiting {
			sym = c.yellow + "⏸" + c.reset
		}
		name := l.name
		if name == "" {
			name = l.action
		}
		s := fmt.Sprintf("%s %s  %s", sym, p.label(l.step, l.phase), printable.Line(name))
		if l.attempt > 1 {
			s += fmt.Sprintf("  attempt %d", l.attempt)
		}
		if l.items > 0 {
			s += fmt.Sprintf("  %d items", l.items)
		}
		s += "  " + c.dim + dur(now.Sub(l.start).Truncate(100*time.Millisecond)) + c.reset
		if l.note != "" {
			s += "  " + printable.Line(l.note)
		}
		fmt.Fprintln(p.w, fit(s, p.opts.Width))
		p.drawn++
	}
}

// fit cuts s to width visible characters (colour codes take none), so that
// a live line never wraps.
func fit(s string, width int) string {
	if width <= 0 {
		width = 80
	}
	width--
	var b strings.Builder
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			esc = r != 'm'
		case r == '\x1b':
			esc = true
		default:
			if n == width {
				b.WriteString("\x1b[0m")
				return b.String()
			}
			n++
		}
		b.WriteRune(r)
	}
	return b.String()
}
