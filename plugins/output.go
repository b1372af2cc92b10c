package plugins

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/protocol"
)

// stderrLines receives what a plugin writes on its output streams (its own
// stderr, and the stdout and stderr go-plugin relays once it serves) line
// by line: it keeps the last lines for error messages and hands each to the
// calls in flight, or to the host's Stderr when none is. A call's output
// marks (protocol.OutputMark) are taken out and tell waitMarks that the
// call's lines have all arrived.
type stderrLines struct {
	plugin string
	host   *Host
	mu     sync.Mutex
	last   []string
	panic  string // the first line of a Go panic or fatal error, kept past the tail
	calls  map[*actions.Request]struct{}
	marks  map[uint64]*callMarks // calls waiting for their marks, by call id
}

// The output streams of a plugin, as bits of callMarks.seen.
const (
	ownStderr = 1 << iota
	relayedStdout
	relayedStderr

	allStreams = ownStderr | relayedStdout | relayedStderr
)

// callMarks is what a call waits for: its mark on each stream.
type callMarks struct {
	seen int
	done chan struct{} // closed once seen is allStreams
}

// outputStream is one output stream of a plugin: it keeps its own
// unfinished line, so that writes of two streams never mix in a line.
type outputStream struct {
	lines *stderrLines
	bit   int
	buf   bytes.Buffer
}

// streams returns the writers of the plugin's own stderr and of its
// relayed stdout and stderr, in go-plugin's ClientConfig order (Stderr,
// SyncStdout, SyncStderr).
func (s *stderrLines) streams() (own, stdout, stderr io.Writer) {
	return &outputStream{lines: s, bit: ownStderr}, &outputStream{lines: s, bit: relayedStdout}, &outputStream{lines: s, bit: relayedStderr}
}

const keepLines = 5

func (o *outputStream) Write(b []byte) (int, error) {
	s := o.lines
	s.mu.Lock()
	o.buf.Write(b)
	var lines []string
	for {
		i := bytes.IndexByte(o.buf.Bytes(), '\n')
		if i < 0 {
			if o.buf.Len() > MaxLogLine {
				lines = append(lines, cut(o.buf.String(), MaxLogLine))
				o.buf.Reset()
			}
			break
		}
		line := strings.TrimRight(string(o.buf.Next(i+1)), "\r\n")
		if id, ok := protocol.ParseOutputMark(line); ok {
			s.marked(id, o.bit)
			continue
		}
		if line != "" {
			lines = append(lines, cut(line, MaxLogLine))
		}
	}
	for _, l := range lines {
		if s.panic == "" && (strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ")) {
			s.panic = l
		}
	}
	s.last = append(s.last, lines...)
	if len(s.last) > keepLines {
		s.last = s.last[len(s.last)-keepLines:]
	}
	calls := make([]*actions.Request, 0, len(s.calls))
	for r := range s.calls {
		calls = append(calls, r)
	}
	s.mu.Unlock()
	for _, line := range lines {
		if len(calls) == 0 {
			s.host.stderr(s.plugin, line)
		}
		for _, r := range calls {
			if r.Log != nil {
				r.Log("info", "stderr: "+line)
			}
		}
	}
	return len(b), nil
}

// marked records the mark of call id on a stream; s.mu is held.
func (s *stderrLines) marked(id uint64, bit int) {
	m := s.marks[id]
	if m == nil {
		return // a call that no longer waits (cancelled)
	}
	if m.seen |= bit; m.seen == allStreams {
		close(m.done)
		delete(s.marks, id)
	}
}

// expectMarks registers call id, before it is sent, as waiting for its
// marks; the returned func waits for them (true), for ctx or for d
// (false). Calling it is optional: forget removes the call either way.
func (s *stderrLines) expectMarks(id uint64) (wait func(ctx context.Context, d time.Duration) bool, forget func()) {
	m := &callMarks{done: make(chan struct{})}
	s.mu.Lock()
	if s.marks == nil {
		s.marks = map[uint64]*callMarks{}
	}
	s.marks[id] = m
	s.mu.Unlock()
	wait = func(ctx context.Context, d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-m.done:
			return true
		case <-ctx.Done():
		case <-t.C:
		}
		return false
	}
	forget = func() {
		s.mu.Lock()
		if s.marks[id] == m {
			delete(s.marks, id)
		}
		s.mu.Unlock()
	}
	return wait, forget
}

// track adds a call in flight; the returned func removes it.
func (s *stderrLines) track(r *actions.Request) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[*actions.Request]struct{}{}
	}
	s.calls[r] = struct{}{}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.calls, r)
	}
}

// tail is the last lines of stderr, for an error message; empty when there
// are none.
func (s *stderrLines) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.last) == 0 {
		return ""
	}
	last := s.last
	if s.panic != "" && !slices.Contains(last, s.panic) {
		last = append([]string{s.panic, "…"}, last...)
	}
	return "; its last words on stderr: " + strings.Join(last, " | ")
}
