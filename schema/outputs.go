package schema

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
)

// What steps.ID.outputs holds is known, for validation, when the step
// reshapes its outputs (the keys of its outputs:), when it is core.set
// (its with, returned as it is: SPEC section 3) or when the catalog knows
// the action's output schema as an object with properties (closed: an
// installed plugin's action, or a built-in). Expressions that read such
// outputs are checked a second time against these types: an unknown
// field is an error with a did-you-mean, and so is an operation on a
// field of the wrong type (a number compared with a string). The program
// kept for the engine is compiled with outputs typed any, as before: a
// value the engine gives may be missing (a skipped step) or a float64
// where the schema says integer (JSON), which typed opcodes would not
// take.

// outShape is what validation knows of one step's outputs.
type outShape struct {
	typ    types.Type // steps.ID.outputs; a list of items for for_each
	from   string     // what declares it, for hints
	fields []string   // the names it declares (of one item), sorted
	// result is the type of result in the step's own outputs: (what the
	// action returned), nil when unknown; resultFrom declares it.
	result     types.Type
	resultFrom string
}

// outputShapes works out the shape of every step's outputs, before
// expressions are compiled.
func (v *validator) outputShapes() {
	v.shapes = map[string]*outShape{}
	for _, list := range [][]*Step{v.rb.Steps, v.rb.OnFailure} {
		for _, st := range list {
			if st.ID == "" || v.ids[st.ID] != st {
				continue
			}
			sh := &outShape{}
			sh.result, sh.resultFrom = v.actionOutputs(st.Action, st.With)
			item, from := sh.result, sh.resultFrom
			if len(st.Outputs) > 0 {
				m := types.Map{}
				for _, o := range st.Outputs {
					m[o.Name] = literalType(o.Value)
				}
				item, from = m, "its outputs:"
			}
			if item == nil {
				if sh.result != nil {
					v.shapes[st.ID] = sh
				}
				continue
			}
			sh.typ, sh.from = item, from
			if m, ok := item.(types.Map); ok {
				for k := range m {
					sh.fields = append(sh.fields, k)
				}
				sort.Strings(sh.fields)
			}
			if st.ForEach != nil {
				sh.typ = types.Array(item)
			}
			v.shapes[st.ID] = sh
		}
	}
}

// actionOutputs is the type of what an action returns, when known, and
// what declares it.
func (v *validator) actionOutputs(action string, with *Value) (types.Type, string) {
	if action == "core.set" {
		m := types.Map{}
		if with != nil {
			for _, f := range with.Fields {
				m[f.Key] = literalType(f.Value)
			}
		}
		return m, "core.set"
	}
	if v.cat == nil || action == "" {
		return nil, ""
	}
	out, ok := v.cat.ActionOutput(action)
	if !ok || out == nil || !out.Type.Has("object") || len(out.Properties) == 0 || out.AdditionalProperties != nil {
		return nil, ""
	}
	return dataType(out), action
}

// dataType is the expression type of values that fit a data schema: an
// object with properties is a map of those fields only.
func dataType(s *DataSchema) types.Type {
	if s == nil || len(s.Type) != 1 {
		return types.Any // anything, or several types (null among them)
	}
	switch s.Type[0] {
	case "string":
		return types.String
	case "integer":
		return types.Int
	case "number":
		return types.Float64
	case "boolean":
		return types.Bool
	case "array":
		return types.Array(dataType(s.Items))
	case "object":
		switch {
		case len(s.Properties) > 0 && s.AdditionalProperties == nil:
			m := types.Map{}
			for k, p := range s.Properties {
				m[k] = dataType(p)
			}
			return m
		case s.AdditionalProperties != nil:
			return types.Map{types.Extra: dataType(s.AdditionalProperties)}
		}
		return types.TypeOf(map[string]any{})
	}
	return types.Any
}

// literalType is the type of what a with or outputs value gives: literals
// by their kind, a string with text around ${{ }} a string, a single ${{ }}
// anything.
func literalType(val *Value) types.Type {
	if val == nil {
		return types.Any
	}
	switch val.Kind {
	case KindString:
		if val.Template != nil && val.Template.Single() != nil {
			return types.Any
		}
		return types.String
	case KindBool:
		return types.Bool
	case KindInt:
		return types.Int
	case KindFloat:
		return types.Float64
	case KindList:
		return types.TypeOf([]any{})
	case KindMap:
		m := types.Map{}
		for _, f := range val.Fields {
			m[f.Key] = literalType(f.Value)
		}
		return m
	}
	return types.Any
}

// readsShaped says whether e reads steps whose outputs are known, or result
// where it is known: then it is type-checked against them.
func (v *validator) readsShaped(e *Expr, sc scope) bool {
	if sc.result && sc.resultOf != "" && v.shapes[sc.resultOf] != nil && v.shapes[sc.resultOf].result != nil {
		return true
	}
	for _, id := range e.Steps {
		if sh := v.shapes[id]; sh != nil && sh.typ != nil {
			return true
		}
	}
	return false
}

// typedConfig is the configuration of the second check: the scope's
// environment with steps.ID.outputs and result typed where known.
func (v *validator) typedConfig(sc scope) *conf.Config {
	key := fmt.Sprintf("typed/%d/%t/%d/%t/%t/%t/%s", sc.vars, sc.stepsOK, len(sc.steps), sc.item, sc.result, sc.err, sc.resultOf)
	if c := v.envs[key]; c != nil {
		return c
	}
	env := v.env(sc)
	if sc.stepsOK {
		steps := types.Map{}
		for _, id := range sc.steps {
			steps[id] = stepType
			if sh := v.shapes[id]; sh != nil && sh.typ != nil {
				steps[id] = types.Map{"outputs": sh.typ, "status": types.String, "error": stepType["error"]}
			}
		}
		env["steps"] = steps
	}
	if sc.result && sc.resultOf != "" {
		if sh := v.shapes[sc.resultOf]; sh != nil && sh.result != nil {
			env["result"] = sh.result
		}
	}
	c := newConfig(env)
	v.envs[key] = c
	return c
}

// typeCheck checks e against the known outputs; it reports what it finds
// and says whether e passed.
func (v *validator) typeCheck(e *Expr, sc scope, w want) bool {
	tree, err := checker.ParseCheck(e.Source, v.typedConfig(sc))
	if err != nil {
		v.exprError(e, sc, err, &checked{tree: tree, typed: true})
		return false
	}
	if !v.wantType(e, sc, w, tree.Node.Type()) {
		return false
	}
	e.typed = tree.Node.Type()
	return true
}

// checked is the tree expr's checker annotated while failing, and whether
// it was the check against the known outputs.
type checked struct {
	tree  *parser.Tree
	typed bool
}

// outputFieldError phrases an unknown field that expr's checker found at
// the rune offset fe.From, reading the field's parent in the checked tree:
// an output of a step, a field of result or one inside them. ok is false
// for other fields, which exprError phrases.
func (v *validator) outputFieldError(ck *checked, fe *file.Error, sc scope) (msg, hint string, ok bool) {
	if ck == nil || ck.tree == nil || ck.tree.Node == nil {
		return "", "", false
	}
	tree := ck.tree
	m := memberAt(tree, fe.From)
	if m == nil {
		return "", "", false
	}
	prop, isStr := m.Property.(*ast.StringNode)
	if !isStr {
		return "", "", false
	}
	field := prop.Value
	path := memberPath(m.Node, lets(tree), 0)
	base := m.Node.Nature()
	if base.TypeData == nil {
		// A nature with no type data (an unknown or nil value) has no
		// fields to name.
		return "", "", false
	}
	var names []string
	for k := range base.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if base.Kind == reflect.Slice || base.Kind == reflect.Array {
		if len(path) == 3 && path[0] == "steps" && path[2] == "outputs" {
			return fmt.Sprintf("steps.%s.outputs is a list, one entry per for_each item: it has no field %q", path[1], field),
				fmt.Sprintf("read one item, steps.%s.outputs[0].%s, or all: map(steps.%s.outputs, .%s)", path[1], field, path[1], field), true
		}
		return "", "", false
	}
	inOutputs := len(path) >= 3 && path[0] == "steps" && path[2] == "outputs" || len(path) >= 1 && path[0] == "result"
	if base.Kind != reflect.Map || base.Fields == nil || !inOutputs && !ck.typed {
		return "", "", false
	}
	hint = didYouMean(field, names)
	switch {
	case len(path) >= 3 && path[0] == "steps" && path[2] == "outputs" && (len(path) == 3 || len(path) == 4 && path[3] == "[]"):
		id := path[1]
		sh := v.shapes[id]
		if sh == nil {
			return "", "", false
		}
		if hint == "" {
			hint = declares(sh.from, names)
		}
		return fmt.Sprintf("unknown output %q of step %q", field, id), hint, true
	case len(path) == 1 && path[0] == "result":
		if hint == "" {
			from := ""
			if sh := v.shapes[sc.resultOf]; sh != nil {
				from = sh.resultFrom
			}
			hint = declares(from, names)
		}
		return fmt.Sprintf("unknown field %q in result", field), hint, true
	}
	if hint == "" {
		hint = "fields: " + shortList(names)
		if len(names) == 0 {
			hint = "it has no fields"
		}
	}
	if len(path) > 0 {
		return fmt.Sprintf("unknown field %q in %s", field, strings.Join(path, ".")), hint, true
	}
	return fmt.Sprintf("unknown field %q", field), hint, true
}

// declares says what a step's outputs are, for a hint.
func declares(from string, names []string) string {
	list := shortList(names)
	switch {
	case from == "core.set" && len(names) == 0:
		return "core.set returns its with, and this step's has none"
	case from == "core.set":
		return "core.set returns its with: " + list
	case len(names) == 0 && from == "":
		return "there are none"
	case len(names) == 0:
		return from + " returns none"
	case from == "":
		return "known: " + list
	case from == "its outputs:":
		return "the step's outputs: are " + list
	}
	return from + " returns: " + list
}

func shortList(names []string) string {
	const most = 12
	if len(names) > most {
		return strings.Join(names[:most], ", ") + fmt.Sprintf(", … (%d more)", len(names)-most)
	}
	return strings.Join(names, ", ")
}

// memberAt finds the member access whose property starts at the rune
// offset from.
func memberAt(tree *parser.Tree, from int) *ast.MemberNode {
	f := &memberFinder{from: from}
	ast.Walk(&tree.Node, f)
	return f.found
}

type memberFinder struct {
	from  int
	found *ast.MemberNode
}

func (f *memberFinder) Visit(n *ast.Node) {
	if m, ok := (*n).(*ast.MemberNode); ok && f.found == nil && m.Property.Location().From == f.from {
		f.found = m
	}
}

// lets maps the names bound by let in the tree to their values.
func lets(tree *parser.Tree) map[string]ast.Node {
	c := letCollector{}
	ast.Walk(&tree.Node, c)
	return c
}

type letCollector map[string]ast.Node

func (c letCollector) Visit(n *ast.Node) {
	if d, ok := (*n).(*ast.VariableDeclaratorNode); ok {
		if _, seen := c[d.Name]; !seen {
			c[d.Name] = d.Value
		}
	}
}

// memberPath is the path a member access reads: steps, ID, outputs, and
// "[]" for an index; let names are followed to their values. Nil when it
// does not start at a name.
func memberPath(n ast.Node, letv map[string]ast.Node, depth int) []string {
	if depth > 16 {
		return nil
	}
	switch x := n.(type) {
	case *ast.IdentifierNode:
		if val, ok := letv[x.Value]; ok {
			return memberPath(val, letv, depth+1)
		}
		return []string{x.Value}
	case *ast.ChainNode:
		return memberPath(x.Node, letv, depth+1)
	case *ast.MemberNode:
		base := memberPath(x.Node, letv, depth+1)
		if base == nil {
			return nil
		}
		if p, ok := x.Property.(*ast.StringNode); ok {
			return append(base, p.Value)
		}
		return append(base, "[]")
	}
	return nil
}

// typeHint names the declared type of the outputs an operation at the
// rune offset from works on, for a type error: "steps.a.outputs.amount is
// an integer (payments.get declares it)". "" when it finds none.
func (v *validator) typeHint(ck *checked, from int, sc scope) string {
	if ck == nil || ck.tree == nil || ck.tree.Node == nil {
		return ""
	}
	f := &binaryFinder{from: from}
	ast.Walk(&ck.tree.Node, f)
	if f.found == nil {
		return ""
	}
	letv := lets(ck.tree)
	var parts []string
	for _, side := range []ast.Node{f.found.Left, f.found.Right} {
		m, ok := side.(*ast.MemberNode)
		if c, isChain := side.(*ast.ChainNode); isChain {
			m, ok = c.Node.(*ast.MemberNode)
		}
		if !ok {
			continue
		}
		path := memberPath(m, letv, 0)
		t := m.Nature().Type
		if t == nil || len(path) < 2 {
			continue
		}
		from := ""
		switch {
		case len(path) >= 4 && path[0] == "steps" && path[2] == "outputs":
			if sh := v.shapes[path[1]]; sh != nil {
				from = sh.from
			}
		case path[0] == "result":
			if sh := v.shapes[sc.resultOf]; sh != nil {
				from = sh.resultFrom
			}
		}
		if from == "" {
			continue
		}
		what := typeName(t)
		if from == "its outputs:" || from == "core.set" {
			parts = append(parts, fmt.Sprintf("%s is %s", strings.Join(path, "."), what))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s is %s (%s declares it)", strings.Join(path, "."), what, from))
	}
	return strings.Join(parts, "; ")
}

type binaryFinder struct {
	from  int
	found *ast.BinaryNode
}

func (f *binaryFinder) Visit(n *ast.Node) {
	if b, ok := (*n).(*ast.BinaryNode); ok && f.found == nil && b.Location().From == f.from {
		f.found = b
	}
}

// typeWords turns the Go type names of expr's messages into the words of
// runbooks.
func typeWords(msg string) string {
	msg = strings.NewReplacer("map[string]interface {}", "mapping", "[]interface {}", "list", "interface {}", "any").Replace(msg)
	return goTypeRe().ReplaceAllStringFunc(msg, func(w string) string {
		switch w {
		case "int":
			return "integer"
		case "float64":
			return "number"
		}
		return "boolean"
	})
}

var goTypeRe = lazyRegexp(`\b(int|float64|bool)\b`)
