package execaction

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stewardhq/steward/actions"
)

func TestSpec(t *testing.T) {
	t.Parallel()
	s := New().Spec()
	if s.Name != "exec" || !s.Mutates || s.Idempotent {
		t.Errorf("spec = %s mutates=%v idempotent=%v", s.Name, s.Mutates, s.Idempotent)
	}
	if !strings.Contains(s.Description, "not inherited") || !strings.Contains(s.Description, defaultPath) {
		t.Errorf("the description does not document the environment: %q", s.Description)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	full := map[string]any{"command": cmd("ls", "-l"), "env": map[string]any{"A": "b"}, "dir": "/tmp",
		"stdin": "x", "timeout": "5m", "max_output": 4096}
	if err := s.Input.Check(full); err != nil {
		t.Errorf("a full with does not fit: %v", err)
	}
	if _, ok := New().(actions.RequestMutator); ok {
		t.Error("exec mutates whatever its input: it needs no RequestMutator")
	}
	reg := actions.NewRegistry()
	if err := reg.Register(New()); err != nil || !reg.Covers("exec") {
		t.Errorf("register: %v", err)
	}
}

func TestInvalidInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		with map[string]any
		msg  string
	}{
		{nil, `missing required field "command"`},
		{map[string]any{"command": cmd()}, "must name a program"},
		{map[string]any{"command": cmd("")}, "must name a program"},
		{map[string]any{"command": "ls -l"}, "must be a list"},
		{map[string]any{"command": []any{"ls", 1}}, "with.command[1] must be a string"},
		{map[string]any{"command": cmd("ls", "a\x00b")}, "NUL"},
		{map[string]any{"command": cmd("ls"), "env": map[string]any{"A=B": "x"}}, "not a valid variable name"},
		// Of several bad names, the first by name, every time (not in the map's order).
		{map[string]any{"command": cmd("ls"), "env": map[string]any{"F=": "x", "E=": "x", "D=": "x", "C=": "x", "B=": "x", "A=": "x"}}, `"A=" is not a valid variable name`},
		{map[string]any{"command": cmd("ls"), "env": map[string]any{"A": 1}}, "must be a string"},
		{map[string]any{"command": cmd("ls"), "timeout": "0s"}, "positive duration"},
		{map[string]any{"command": cmd("ls"), "timeout": "later"}, "invalid duration"},
		{map[string]any{"command": cmd("ls"), "max_output": -1}, "at least 0"},
		{map[string]any{"command": cmd("ls"), "max_output": 1 << 40}, "at most"},
		{map[string]any{"command": cmd("ls"), "shell": true}, `unknown field "shell"`},
	} {
		_, err := run(t, context.Background(), tc.with)
		ae := wantCode(t, err, actions.CodeInvalidInput, false)
		if !strings.Contains(ae.Message, tc.msg) {
			t.Errorf("with %v: message %q, want it to hold %q", tc.with, ae.Message, tc.msg)
		}
	}
	_, err := New().Execute(context.Background(), nil)
	wantCode(t, err, actions.CodeInvalidInput, false)
}

func TestCapped(t *testing.T) {
	t.Parallel()
	c := newCapped(10)
	for _, p := range []string{"hello ", "wor", "ld and more\nlast line  \n\n"} {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.String(nil) != "hello worl" || !c.truncated || cap(c.buf) > 10 {
		t.Errorf("kept %q (cap %d), truncated=%v", c.String(nil), cap(c.buf), c.truncated)
	}
	if got := c.lastLine(nil); got != "last line" {
		t.Errorf("lastLine = %q", got)
	}
	// The tail stays bounded however much is written.
	big := newCapped(0)
	for range 100 {
		big.Write([]byte(strings.Repeat("x", 1000) + "\n"))
	}
	if len(big.tail) != tailLen || len(big.buf) != 0 {
		t.Errorf("tail %d bytes, buf %d bytes", len(big.tail), len(big.buf))
	}
}
