package plugins

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/protocol"
)

// TestOutputStreams: each stream keeps its own unfinished line, so lines
// written in pieces on two streams at once do not mix; a call's marks are
// taken out of the output, and its wait ends only once all three streams
// carried its mark.
func TestOutputStreams(t *testing.T) {
	var outside []string
	s := &stderrLines{plugin: "p", host: &Host{opts: Options{Stderr: func(_, line string) { outside = append(outside, line) }}}}
	own, out, relayed := s.streams()
	var got []string
	req := &actions.Request{Log: func(_, msg string) { got = append(got, msg) }}
	untrack := s.track(req)
	wait, forget := s.expectMarks(7)
	defer forget()

	write := func(w io.Writer, text string) {
		t.Helper()
		if n, err := io.WriteString(w, text); err != nil || n != len(text) {
			t.Fatalf("write %q: %d, %v", text, n, err)
		}
	}
	write(own, "half of a ")
	write(relayed, "another ")
	write(own, "line\n")
	write(relayed, "line\n")
	write(out, "unfinished")
	write(own, protocol.OutputMark(7))
	write(relayed, protocol.OutputMark(7))
	write(own, protocol.OutputMark(8)) // a call that does not wait
	if wait(context.Background(), 10*time.Millisecond) {
		t.Fatal("the wait ended with the mark on two streams of three")
	}
	write(out, protocol.OutputMark(7))
	if !wait(context.Background(), time.Minute) {
		t.Fatal("the wait did not end with the mark on every stream")
	}
	untrack()

	want := []string{"stderr: half of a line", "stderr: another line", "stderr: unfinished"}
	if !slices.Equal(got, want) {
		t.Errorf("the call's log: %q, want %q", got, want)
	}
	if len(outside) != 0 {
		t.Errorf("outside the call: %q", outside)
	}
	if tail := s.tail(); tail != "; its last words on stderr: half of a line | another line | unfinished" {
		t.Errorf("tail: %q", tail)
	}
}

// TestOutputWaitEnds: a call whose marks never come waits until its
// context ends.
func TestOutputWaitEnds(t *testing.T) {
	s := &stderrLines{plugin: "p", host: &Host{}}
	wait, forget := s.expectMarks(1)
	defer forget()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if wait(ctx, time.Minute) {
		t.Fatal("a wait without marks ended as if they came")
	}
}

func TestParseOutputMark(t *testing.T) {
	mark := protocol.OutputMark(42)
	if mark[0] != '\n' || mark[len(mark)-1] != '\n' {
		t.Fatalf("a mark is a line of its own: %q", mark)
	}
	if id, ok := protocol.ParseOutputMark(mark[1 : len(mark)-1]); !ok || id != 42 {
		t.Errorf("parse: %d %v", id, ok)
	}
	for _, line := range []string{"steward-call-end 42", "\x00steward-call-end x", "", "42"} {
		if _, ok := protocol.ParseOutputMark(line); ok {
			t.Errorf("%q parsed as a mark", line)
		}
	}
}
