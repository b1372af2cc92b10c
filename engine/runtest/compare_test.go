package runtest

import (
	"reflect"
	"testing"

	"github.com/stewardhq/steward/engine"
)

func expression(t *testing.T, s string) *Expression {
	t.Helper()
	e, err := compileExpression(s)
	if err != nil || e == nil {
		t.Fatalf("compile %q: %v", s, err)
	}
	return e
}

func TestMatch(t *testing.T) {
	cases := []struct {
		name      string
		want, got any
		scope     any
		msgs      []string
	}{
		{"equal text", "a", "a", nil, nil},
		{"numbers by value", 2, 2.0, nil, nil},
		{"int64 and int", int64(3), 3, nil, nil},
		{"number and text", 2, "2", nil, []string{`p: got "2", want 2`}},
		{"null", nil, nil, nil, nil},
		{"null and value", nil, 0, nil, []string{`p: got 0, want null`}},
		{"typed slices compare as lists", []any{"a", "b"}, []string{"a", "b"}, nil, nil},
		{"list length", []any{1}, []any{1, 2}, nil, []string{`p: got [1,2], want [1]`}},
		{"list item", []any{1, 2}, []any{1, 3}, nil, []string{`p[1]: got 3, want 2`}},
		{"nested mapping", map[string]any{"a": map[string]any{"b": 1, "c": 2}}, map[string]any{"a": map[string]any{"b": 2, "d": 4}}, nil,
			[]string{`p.a.b: got 2, want 1`, `p.a.c: missing, want 2`, `p.a.d: got 4, not expected`}},
		{"mapping and text", map[string]any{"a": 1}, "x", nil, []string{`p: got "x", want {"a":1}`}},
		{"expression true", expression(t, `${{ value contains "bal" }}`), "low balance", nil, nil},
		{"expression false", expression(t, `${{ value contains "x" }}`), "the value", nil,
			[]string{`p: ${{ value contains "x" }} was false for "the value"`}},
		{"expression reads outputs", expression(t, `${{ value == outputs.n * 2 }}`), 4, map[string]any{"n": 2}, nil},
		{"expression not boolean", expression(t, `${{ value + 1 }}`), 1, nil, []string{`p: ${{ value + 1 }} yielded 2 for 1, not true or false`}},
		{"expression fails", expression(t, `${{ value[3] == 1 }}`), []any{1}, nil,
			[]string{`p: ${{ value[3] == 1 }} failed for [1]: index out of range: 3 (array length is 1) (1:6)`}},
		{"expression inside a list", []any{expression(t, `${{ value > 1 }}`)}, []any{0}, nil, []string{`p[0]: ${{ value > 1 }} was false for 0`}},
		{"unknown is never equal", "x", engine.Unknown{Step: "a"}, nil, []string{`p: got {"unknown":"steps.a did not run (dry-run)"}, want "x"`}},
		{"html is not escaped", "<a>", "<b>", nil, []string{`p: got "<b>", want "<a>"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := match("p", c.want, c.got, c.scope); !reflect.DeepEqual(got, c.msgs) {
				t.Errorf("got  %q\nwant %q", got, c.msgs)
			}
		})
	}
}

func TestCompileExpression(t *testing.T) {
	if e, err := compileExpression("plain"); e != nil || err != nil {
		t.Errorf("plain text: %v %v", e, err)
	}
	e := expression(t, "  ${{ value }}  ")
	if e.String() != "${{ value }}" {
		t.Errorf("source %q", e.String())
	}
	for _, bad := range []string{"${{ value }} and ${{ value }}", "${{ value", "${{ nope }}"} {
		if _, err := compileExpression(bad); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
}
