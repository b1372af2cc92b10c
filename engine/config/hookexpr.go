package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/stewardhq/steward/schema"
	"gopkg.in/yaml.v3"
)

// HookTemplate is a value of webhooks.*.inputs or dedupe: text with
// ${{ expr }} templates over the webhook's request, compiled when
// steward.yaml is read. A template that is exactly one ${{ expr }} gives
// the expression's typed value; otherwise each expression is written into
// the text.
type HookTemplate struct {
	// Source is the text as written.
	Source string
	parts  []templatePart
}

type templatePart struct {
	text string
	prog *vm.Program
}

// HookScope is what a webhook's templates read:
//
//	payload  the request's JSON body (objects, lists, strings, numbers)
//	headers  the request's headers, by lower-case name (the first value)
//	alert    for verify: alertmanager or grafana, the alert the run is for
var HookScope = []string{"payload", "headers", "alert"}

// hookEnv declares the scope's names for the compiler: any value, so
// that payload.ticket.id compiles whatever the payload holds, and a
// misspelt name (paylod) is an error at load.
var hookEnv = map[string]any{"payload": map[string]any{}, "headers": map[string]any{}, "alert": map[string]any{}}

// maxTemplateNodes bounds an expression: there is no timeout inside the
// expression VM, so its size is bounded instead.
const maxTemplateNodes = 2000

// template compiles the template of scalar node n, reporting problems at
// their line and column.
func (l *loader) template(n *yaml.Node, path string) *HookTemplate {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		l.errorf(n, path, "write a template such as '${{ payload.ticket.id }}'", "expected text, got %s", kindName(n))
		return nil
	}
	t := &HookTemplate{Source: n.Value}
	segs, err := schema.ScanTemplate(n.Value)
	if err != nil {
		var se *schema.ScanError
		off := 0
		if errors.As(err, &se) {
			off = se.Offset
		}
		l.errorAt(n, off, path, "", "%s", err.Error())
		return nil
	}
	ok := true
	for _, s := range segs {
		if !s.Expr {
			t.parts = append(t.parts, templatePart{text: s.Text})
			continue
		}
		prog, err := expr.Compile(s.Text, expr.Env(hookEnv), expr.MaxNodes(maxTemplateNodes))
		if err != nil {
			off, msg := s.Offset, err.Error()
			var fe *file.Error
			if errors.As(err, &fe) {
				off += fe.Column
				msg = fe.Message
			}
			l.errorAt(n, off, path, "the scope is "+strings.Join(HookScope, ", "), "%s", msg)
			ok = false
			continue
		}
		t.parts = append(t.parts, templatePart{prog: prog})
	}
	if !ok {
		return nil
	}
	return t
}

// errorAt reports a problem at byte offset off inside the scalar n: its
// column when n is on one line.
func (l *loader) errorAt(n *yaml.Node, off int, path, hint, format string, args ...any) {
	d := diag(l.file, l.lines, n, path, hint, fmt.Sprintf(format, args...))
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && !strings.Contains(n.Value, "\n") {
		if quoted(n) {
			off++
		}
		d.Column += off
	}
	l.diags = append(l.diags, d)
}

// Eval evaluates the template over env (see HookScope).
func (t *HookTemplate) Eval(env map[string]any) (any, error) {
	if len(t.parts) == 1 && t.parts[0].prog != nil {
		return (&vm.VM{}).Run(t.parts[0].prog, env)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := (&vm.VM{}).Run(p.prog, env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Text(v))
	}
	return b.String(), nil
}

// Text writes a value into text: nothing for nil, a whole number without
// an exponent (JSON numbers are float64: a ticket id 12345678 is
// "12345678", not "1.2345678e+07"), anything else as fmt prints it.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
