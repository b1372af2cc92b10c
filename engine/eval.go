package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"
	"github.com/stewardhq/steward/schema"
)

// MemoryBudget bounds the memory one expression evaluation may allocate,
// in expr's units (roughly, elements of collections it builds).
const MemoryBudget = 100_000

var vms = sync.Pool{New: func() any { return &vm.VM{MemoryBudget: MemoryBudget} }}

// evalError is a failed expression, placed in the runbook file.
type evalError struct {
	diag schema.Diagnostic
}

func (e *evalError) Error() string { return e.diag.Header() }

// scope is the environment of one evaluation: the run's base values plus
// what the step may read.
type scope struct {
	r   *runner
	env map[string]any
	// unknown holds the steps whose outputs a dry run does not know.
	unknown map[string]string
}

// with returns a copy of the scope with extra names bound.
func (s *scope) with(kv ...any) *scope {
	env := make(map[string]any, len(s.env)+len(kv)/2)
	for k, v := range s.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i].(string)] = kv[i+1]
	}
	return &scope{r: s.r, env: env, unknown: s.unknown}
}

// expr evaluates one expression.
func (s *scope) expr(e *schema.Expr) (any, error) {
	if u, ok := s.unknownOf(e); ok {
		return u, nil
	}
	m := vms.Get().(*vm.VM)
	out, err := m.Run(e.Program, s.env)
	vms.Put(m)
	if err != nil {
		return nil, &evalError{s.r.rb.EvalError(e, err)}
	}
	return out, nil
}

// unknownOf reports whether e reads a step a dry run did not run.
func (s *scope) unknownOf(e *schema.Expr) (Unknown, bool) {
	if len(s.unknown) == 0 {
		return Unknown{}, false
	}
	for _, id := range e.Steps {
		if _, ok := s.unknown[id]; ok {
			return Unknown{Step: id}, true
		}
	}
	return Unknown{}, false
}

// value resolves a Value: literals as they are, templates evaluated. A
// string that is exactly one ${{ }} yields the expression's typed value;
// otherwise each ${{ }} is interpolated as text.
func (s *scope) value(v *schema.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t := v.Template; t != nil {
		if e := t.Single(); e != nil {
			return s.expr(e)
		}
		var b strings.Builder
		for _, p := range t.Parts {
			if p.Expr == nil {
				b.WriteString(p.Text)
				continue
			}
			x, err := s.expr(p.Expr)
			if err != nil {
				return nil, err
			}
			if u, ok := x.(Unknown); ok {
				return u, nil
			}
			b.WriteString(text(x))
		}
		return b.String(), nil
	}
	switch v.Kind {
	case schema.KindList:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			x, err := s.value(it)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case schema.KindMap:
		return s.mapping(v)
	}
	return v.Go(), nil
}

// mapping resolves a mapping Value (a with).
func (s *scope) mapping(v *schema.Value) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	out := make(map[string]any, len(v.Fields))
	for _, f := range v.Fields {
		x, err := s.value(f.Value)
		if err != nil {
			return nil, err
		}
		out[f.Key] = x
	}
	return out, nil
}

// text renders a value interpolated into a string: strings as they are,
// null as nothing, numbers and booleans as written, lists and maps as JSON.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case fmt.Stringer:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// findUnknown returns the first Unknown inside a resolved value.
func findUnknown(v any) (Unknown, bool) {
	switch x := v.(type) {
	case Unknown:
		return x, true
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if u, ok := findUnknown(x[k]); ok {
				return u, true
			}
		}
	case []any:
		for _, it := range x {
			if u, ok := findUnknown(it); ok {
				return u, true
			}
		}
	}
	return Unknown{}, false
}
