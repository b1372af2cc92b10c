package schema

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// MaxExprNodes bounds the size of one compiled expression.
const MaxExprNodes = 1000

// SecretFunc is the Go type of the secret(NAME) function the engine puts in
// the environment under "secret".
type SecretFunc = func(name string) string

// The shapes of the values in scope (SPEC section 1, "Expressions").
var (
	RunFields   = []string{"id", "runbook", "version", "actor", "started_at", "dry_run"}
	ErrorFields = []string{"message", "code", "retryable", "step"}
	StepFields  = []string{"outputs", "status", "error"}

	runType = types.Map{
		"id": types.String, "runbook": types.String, "version": types.String, "actor": types.String,
		"started_at": types.TypeOf(time.Time{}), "dry_run": types.Bool,
	}
	errorType = types.Map{
		"message": types.String, "code": types.String, "retryable": types.Bool, "step": types.String,
	}
	// A step's error is nil unless it failed, so its fields are typed
	// any: typed as strings, steps.a.error?.code == "x" would compile to
	// a string comparison that panics on nil when a succeeded.
	stepType = types.Map{"outputs": types.Any, "status": types.String, "error": types.Map{
		"message": types.Any, "code": types.Any, "retryable": types.Any, "step": types.Any,
	}}
)

// scope says what an expression may read.
type scope struct {
	vars    int      // vars visible: the first n
	steps   []string // step ids visible
	item    bool     // inside for_each
	result  bool     // inside step outputs
	err     bool     // retry.when and on_failure
	where   string   // what the expression is, for messages
	stepsOK bool     // steps is defined at all
	// resultOf is the id of the step whose action result is (in its
	// outputs:), to type result when the action's outputs are known.
	resultOf string
}

func inputType(t InputType) types.Type {
	switch t {
	case TypeString:
		return types.String
	case TypeInteger:
		return types.Int
	case TypeNumber:
		return types.Float64
	case TypeBoolean:
		return types.Bool
	case TypeArray:
		return types.TypeOf([]any{})
	case TypeObject:
		return types.TypeOf(map[string]any{})
	}
	return types.Any
}

// compileProgram does what expr.Compile does, with a configuration built
// once per scope: creating a configuration and describing the environment
// cost more than compiling a typical expression, and a runbook has only a
// handful of distinct scopes. A configuration is used by one validator, on
// one goroutine.
// On an error, it also returns the checked tree, when there is one, for
// the message.
func (v *validator) compileProgram(src string, sc scope) (*vm.Program, *checked, error) {
	c := v.config(sc)
	tree, err := checker.ParseCheck(src, c)
	if err != nil {
		return nil, &checked{tree: tree}, err
	}
	if c.Optimize {
		if err := optimizer.Optimize(&tree.Node, c); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, nil, fe.Bind(tree.Source)
			}
			return nil, nil, err
		}
	}
	prog, err := compiler.Compile(tree, c)
	return prog, nil, err
}

func (v *validator) config(sc scope) *conf.Config {
	key := fmt.Sprintf("%d/%t/%d/%t/%t/%t", sc.vars, sc.stepsOK, len(sc.steps), sc.item, sc.result, sc.err)
	if v.envs == nil {
		v.envs = map[string]*conf.Config{}
	}
	c := v.envs[key]
	if c == nil {
		c = newConfig(v.env(sc))
		v.envs[key] = c
	}
	return c
}

func newConfig(env types.Map) *conf.Config {
	c := conf.CreateNew()
	for _, opt := range []expr.Option{expr.Env(env), expr.MaxNodes(MaxExprNodes)} {
		opt(c)
	}
	c.Check()
	return c
}

func (v *validator) env(sc scope) types.Map {
	inputs := types.Map{}
	for _, in := range v.rb.Inputs {
		t := inputType(in.Type)
		if !in.Required && !in.HasDefault {
			t = types.Any // may be absent (nil) at run time
		}
		inputs[in.Name] = t
	}
	vars := types.Map{}
	for i, vr := range v.rb.Vars {
		if i >= sc.vars {
			break
		}
		vars[vr.Name] = types.Any
	}
	env := types.Map{
		"inputs": inputs,
		"vars":   vars,
		"run":    runType,
		"secret": types.TypeOf(SecretFunc(nil)),
	}
	if sc.stepsOK {
		steps := types.Map{}
		for _, id := range sc.steps {
			steps[id] = stepType
		}
		env["steps"] = steps
	}
	if sc.item {
		env["item"] = types.Any
		env["index"] = types.Int
	}
	if sc.result {
		env["result"] = types.Any
	}
	if sc.err {
		env["error"] = errorType
	}
	return env
}

// want is the result an expression must produce.
type want int

const (
	wantAny want = iota
	wantBool
	wantList
)

// compile compiles e against sc, reporting errors at their place in the file.
// It returns the step ids the expression reads.
func (v *validator) compile(e *Expr, sc scope, w want) []StepRef {
	if e == nil {
		return nil
	}
	prog, tree, err := v.compileProgram(e.Source, sc)
	if err != nil {
		v.exprError(e, sc, err, tree)
		return nil
	}
	if !v.wantType(e, sc, w, prog.Node().Type()) {
		return nil
	}
	e.Program = prog
	e.typed = prog.Node().Type()
	var refs []StepRef
	collect := &refCollector{}
	node := prog.Node()
	ast.Walk(&node, collect)
	e.Steps = nil
	for _, r := range collect.refs {
		refs = append(refs, StepRef{ID: r.id, Pos: v.exprPos(e, r.from)})
		if !contains(e.Steps, r.id) {
			e.Steps = append(e.Steps, r.id)
		}
	}
	dynamic := collect.idents > len(collect.refs)
	if dynamic {
		v.dynamic = true
	}
	if v.readsShaped(e, sc) || dynamic {
		v.typeCheck(e, sc, w)
	}
	return refs
}

// wantType checks the type of what e gives against what its field needs:
// a boolean for a condition, a list for for_each. It says whether e
// passed.
func (v *validator) wantType(e *Expr, sc scope, w want, t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	switch {
	case w == wantBool && t.Kind() != reflect.Bool:
		v.errorAt(e.Pos, e.node.path, "compare it with something, e.g. x == \"value\"", "%s must be a boolean expression, got %s", sc.where, typeName(t))
		return false
	case w == wantList && t.Kind() != reflect.Slice && t.Kind() != reflect.Array:
		v.errorAt(e.Pos, e.node.path, "", "for_each must be a list, got %s", typeName(t))
		return false
	}
	return true
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "a mapping"
	}
	return t.String()
}

type refCollector struct {
	refs []struct {
		id   string
		from int
	}
	idents int // uses of the name steps, constant member or not
}

func (c *refCollector) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == "steps" {
		c.idents++
	}
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	base, ok := m.Node.(*ast.IdentifierNode)
	if !ok || base.Value != "steps" {
		return
	}
	if prop, ok := m.Property.(*ast.StringNode); ok {
		c.refs = append(c.refs, struct {
			id   string
			from int
		}{prop.Value, prop.Location().From})
	}
}

// exprPos converts a rune offset inside e.Source to a file position.
func (v *validator) exprPos(e *Expr, runeOff int) Pos {
	return v.src.locate(e.node, e.node.offset+runeToByte(e.Source, runeOff))
}

// runeToByte converts a rune offset inside s (as expr reports it) to a
// byte offset.
func runeToByte(s string, runeOff int) int {
	for i := range s {
		if runeOff == 0 {
			return i
		}
		runeOff--
	}
	return len(s)
}

var (
	unknownNameRe  = lazyRegexp(`^unknown name (\S+)`)
	unknownFieldRe = lazyRegexp(`^unknown field (\S+)`)
	arrayFieldRe   = lazyRegexp(`^array elements can only be selected using an integer`)
	trailingBaseRe = lazyRegexp(`([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*(?:\?\.|\.|\[)\s*$`)
)

// exprError reports a compile error with a message in the runbook's terms.
// ck is the checked tree when there is one, to name the parent of an
// unknown field.
func (v *validator) exprError(e *Expr, sc scope, err error, ck *checked) {
	var fe *file.Error
	if !errors.As(err, &fe) {
		v.errorAt(e.Pos, e.node.path, "", "invalid expression: %v", err)
		return
	}
	pos := v.exprPos(e, fe.From)
	msg, hint := fe.Message, ""
	if m, h, ok := v.outputFieldError(ck, fe, sc); ok && (unknownFieldRe().MatchString(msg) || arrayFieldRe().MatchString(msg)) {
		msg, hint = m, h
	} else if m := unknownNameRe().FindStringSubmatch(msg); m != nil {
		msg, hint = v.unknownName(m[1], sc)
	} else if m := unknownFieldRe().FindStringSubmatch(msg); m != nil {
		prefix := string([]rune(e.Source)[:min(fe.From, len([]rune(e.Source)))])
		msg, hint = v.unknownField(m[1], prefix, sc)
	} else if ck != nil && ck.typed {
		msg = "invalid expression: " + typeWords(msg)
		if hint = v.typeHint(ck, fe.From, sc); hint == "" {
			hint = "the types of steps.ID.outputs and result are those their actions declare (steward plugins describe PLUGIN)"
		}
	} else {
		msg = "invalid expression: " + msg
	}
	v.errorAt(pos, e.node.path, hint, "%s", msg)
}

func (v *validator) unknownName(name string, sc scope) (string, string) {
	switch name {
	case "item", "index":
		return name + " is only defined in a step with for_each", "add for_each to this step, or read the list from steps.ID.outputs"
	case "result":
		return "result is only defined in a step's outputs", ""
	case "error":
		return "error is only defined in retry.when and on_failure steps", "read a step's error as steps.ID.error"
	case "steps":
		if !sc.stepsOK {
			return "steps are not defined in " + sc.where + ": it is evaluated before any step runs", ""
		}
	}
	roots := []string{"inputs", "vars", "run"}
	if sc.stepsOK {
		roots = append(roots, "steps")
	}
	if sc.item {
		roots = append(roots, "item", "index")
	}
	if sc.result {
		roots = append(roots, "result")
	}
	if sc.err {
		roots = append(roots, "error")
	}
	hint := didYouMean(name, append(roots, "secret", "now", "duration"))
	if hint == "" {
		hint = "in scope: " + strings.Join(roots, ", ") + ", and the functions secret(), now(), duration()"
	}
	return fmt.Sprintf("unknown name %q", name), hint
}

func (v *validator) unknownField(field, prefix string, sc scope) (string, string) {
	m := trailingBaseRe().FindStringSubmatch(prefix)
	base, second := "", ""
	if m != nil {
		base, second = m[1], m[2]
		if second != "" {
			base, second = m[2], m[1] // nearest member first: steps.ID. → base ID, second steps
		}
	}
	list := func(kind string, names []string) (string, string) {
		hint := didYouMean(field, names)
		if hint == "" && len(names) > 0 {
			hint = "defined: " + strings.Join(names, ", ")
		}
		if hint == "" {
			hint = "there are none in scope here"
			if kind == "input" {
				hint = "the runbook declares no inputs"
			}
		}
		return fmt.Sprintf("unknown %s %q", kind, field), hint
	}
	switch {
	case second == "steps":
		return list("step field", StepFields)
	case base == "inputs":
		var names []string
		for _, in := range v.rb.Inputs {
			names = append(names, in.Name)
		}
		return list("input", names)
	case base == "vars":
		var names []string
		for i, vr := range v.rb.Vars {
			if vr.Name == field && i >= sc.vars {
				return fmt.Sprintf("var %q is not defined yet here", field), "vars are evaluated in order; a var can only read the vars above it"
			}
			if i < sc.vars {
				names = append(names, vr.Name)
			}
		}
		return list("var", names)
	case base == "steps":
		if st := v.ids[field]; st != nil && st.OnFailure {
			return fmt.Sprintf("on_failure step %q cannot be read here", field), ""
		}
		return list("step", sc.steps)
	case base == "run":
		return list("run field", RunFields)
	case base == "error":
		return list("error field", ErrorFields)
	}
	return fmt.Sprintf("unknown field %q", field), ""
}
