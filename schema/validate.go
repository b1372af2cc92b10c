package schema

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/conf"
)

// Validate checks what needs the whole document: unique step ids, needs,
// the dependency graph, inputs given by schedules, and every expression,
// which it compiles against its scope and keeps on the model for the engine.
// It takes the runbook returned by Load, and finds nothing to check when
// Load could not parse the file. With a Catalog, it also checks that each
// action exists and that each step's with fits the action's input schema;
// a step whose plugin is not installed is a warning (its with is not
// checked), one whose plugin cannot be used is an error.
func Validate(rb *Runbook, cat Catalog) Diagnostics {
	if rb.src == nil {
		return nil
	}
	v := &validator{rb: rb, src: rb.src, ids: map[string]*Step{}, cat: cat}
	v.stepIDs()
	v.graph(rb.Steps)
	v.graph(rb.OnFailure)
	v.inputs()
	v.outputShapes()
	v.compileAll()
	v.order()
	if cat != nil {
		v.checkActions(cat)
	}
	v.diags.Sort()
	return v.diags
}

// Check loads and validates one runbook file: the usual entry point. cat
// may be nil to skip checking actions.
func Check(file string, src []byte, cat Catalog) (*Runbook, Diagnostics) {
	rb, diags := Load(file, src)
	all := append(diags, Validate(rb, cat)...)
	all.Sort()
	return rb, all
}

type validator struct {
	rb    *Runbook
	src   *source
	ids   map[string]*Step
	diags Diagnostics
	envs  map[string]*conf.Config // by scope, see compileProgram
	// dynamic is set when an expression reads steps other than as
	// steps.ID (steps[x], or steps as a whole).
	dynamic bool
	// withPos is the position of the key of the with being checked.
	withPos Pos
	// unusable is where each plugin that cannot be used was first named.
	unusable map[string]Pos
	cat      Catalog // nil: actions are not checked
	// shapes are the known outputs of steps, by id (see outputShapes).
	shapes map[string]*outShape
}

func (v *validator) errorAt(p Pos, path, hint, format string, args ...any) {
	v.diags = append(v.diags, v.src.diag(p, path, hint, format, args...))
}

func (v *validator) warnAt(p Pos, path, hint, format string, args ...any) {
	d := v.src.diag(p, path, hint, format, args...)
	d.Severity = SeverityWarning
	v.diags = append(v.diags, d)
}

func stepPath(st *Step, i int) string {
	if st.OnFailure {
		return idx("on_failure", i)
	}
	return idx("steps", i)
}

func (v *validator) stepIDs() {
	for _, list := range [][]*Step{v.rb.Steps, v.rb.OnFailure} {
		for i, st := range list {
			if st.ID == "" {
				continue
			}
			if first, dup := v.ids[st.ID]; dup {
				v.errorAt(st.Pos, sub(stepPath(st, i), "id"), "step ids must be unique across steps and on_failure",
					"duplicate step id %q (first used at line %d)", st.ID, first.Pos.Line)
				continue
			}
			v.ids[st.ID] = st
		}
	}
}

// graph resolves each step's dependencies (its needs, or the step before
// it) and reports unknown ids and cycles.
func (v *validator) graph(steps []*Step) {
	var prev *Step
	local := map[string]*Step{}
	var all []string
	for _, st := range steps {
		if st.ID != "" && local[st.ID] == nil {
			local[st.ID] = st
			all = append(all, st.ID)
		}
	}
	for i, st := range steps {
		path := sub(stepPath(st, i), "needs")
		st.Deps = nil
		if local[st.ID] != st {
			prev = st // a duplicate id, already reported: leave it out of the graph
			continue
		}
		if !st.NeedsSet {
			if prev != nil && prev.ID != "" && prev.ID != st.ID {
				st.Deps = []string{prev.ID}
			}
			prev = st
			continue
		}
		prev = st
		seen := map[string]bool{}
		for j, id := range st.Needs {
			p := st.NeedsPos[j]
			switch {
			case id == st.ID:
				v.errorAt(p, path, "", "step %q cannot need itself", id)
			case seen[id]:
				v.errorAt(p, path, "", "%q is listed twice in needs", id)
			case local[id] != nil:
				st.Deps = append(st.Deps, id)
			case st.OnFailure && v.ids[id] != nil:
				v.errorAt(p, path, "on_failure steps run after the run failed; read the step's status instead: steps."+id+".status",
					"on_failure steps can only need other on_failure steps, not %q", id)
			case !st.OnFailure && v.ids[id] != nil:
				v.errorAt(p, path, "", "steps cannot need on_failure step %q", id)
			default:
				v.errorAt(p, path, didYouMean(id, all), "unknown step %q in needs", id)
			}
			seen[id] = true
		}
	}
	v.cycles(steps, local)
}

func (v *validator) cycles(steps []*Step, local map[string]*Step) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, d := range local[id].Deps {
			switch color[d] {
			case white:
				visit(d)
			case grey:
				// The cycle is the stack from d to the top, back to d.
				k := len(stack) - 1
				for stack[k] != d {
					k--
				}
				cyc := append([]string(nil), stack[k:]...)
				key := cycleKey(cyc)
				if reported[key] {
					continue
				}
				reported[key] = true
				// Report it on the step of the cycle listed first in the file.
				first := local[cyc[0]]
				for _, id := range cyc {
					if local[id].Pos.Line < first.Pos.Line {
						first = local[id]
					}
				}
				path := rotateCycle(cyc, first.ID)
				where := ""
				for i, st := range steps {
					if st == first {
						where = stepPath(st, i)
					}
				}
				v.errorAt(first.Pos, where, "remove one of these needs to break the cycle",
					"dependency cycle: %s (each step needs the next)", strings.Join(path, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, st := range steps {
		if st.ID != "" && color[st.ID] == white && local[st.ID] == st {
			visit(st.ID)
		}
	}
}

func cycleKey(c []string) string {
	s := append([]string(nil), c...)
	sort.Strings(s)
	return strings.Join(s, ",")
}

// rotateCycle renders a cycle found along dependency edges (a needs b, b
// needs c, c needs a) starting and ending at start.
func rotateCycle(cyc []string, start string) []string {
	k := 0
	for i, id := range cyc {
		if id == start {
			k = i
		}
	}
	out := append(append([]string(nil), cyc[k:]...), cyc[:k]...)
	return append(out, start)
}

// inputs checks declarations against each other and the inputs given by
// schedules.
func (v *validator) inputs() {
	byName := map[string]*Input{}
	var names []string
	for _, in := range v.rb.Inputs {
		byName[in.Name] = in
		names = append(names, in.Name)
		if in.Secret && in.HasDefault {
			v.errorAt(in.DefaultPos, sub(sub("inputs", in.Name), "default"), "pass it at run time, or read it with secret(NAME)",
				"a secret input cannot have a default: it would be stored in the runbook")
		}
	}
	for i, sc := range v.rb.Schedule {
		path := sub(idx("schedule", i), "inputs")
		given := map[string]bool{}
		if sc.Inputs != nil {
			for _, f := range sc.Inputs.Fields {
				given[f.Key] = true
				in := byName[f.Key]
				if in == nil {
					v.errorAt(f.KeyPos, sub(path, f.Key), didYouMean(f.Key, names), "unknown input %q", f.Key)
					continue
				}
				if f.Value.HasTemplates() {
					v.errorAt(f.Value.Pos, sub(path, f.Key), "", "schedule inputs are literal values; templates are not allowed")
					continue
				}
				if err := in.Check(f.Value.Go()); err != nil {
					v.errorAt(f.Value.Pos, sub(path, f.Key), "", "input %s: %s", f.Key, err)
				}
			}
		}
		for _, in := range v.rb.Inputs {
			if in.Required && !in.HasDefault && !given[in.Name] {
				v.errorAt(sc.Pos, path, fmt.Sprintf("add inputs: {%s: ...}", in.Name), "schedule does not give required input %q", in.Name)
			}
		}
	}
}
