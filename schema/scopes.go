package schema

import "fmt"

// compileAll compiles every expression of the runbook in its scope.
func (v *validator) compileAll() {
	rb := v.rb
	for i, vr := range rb.Vars {
		v.compileValue(vr.Value, scope{vars: i, where: "vars"})
	}
	all := len(rb.Vars)
	if rb.Concurrency != nil {
		v.compile(rb.Concurrency.Key, scope{vars: all, where: "concurrency.key"}, wantAny)
	}
	mainIDs := ids(rb.Steps)
	for _, st := range rb.Steps {
		v.compileStep(st, scope{vars: all, steps: mainIDs, stepsOK: true})
	}
	failIDs := append(append([]string(nil), mainIDs...), ids(rb.OnFailure)...)
	for _, st := range rb.OnFailure {
		v.compileStep(st, scope{vars: all, steps: failIDs, stepsOK: true, err: true})
	}
	for _, o := range rb.Outputs {
		v.compileValue(o.Value, scope{vars: all, steps: mainIDs, stepsOK: true, where: "outputs"})
	}
}

func ids(steps []*Step) []string {
	out := make([]string, 0, len(steps))
	for _, st := range steps {
		if st.ID != "" {
			out = append(out, st.ID)
		}
	}
	return out
}

func (v *validator) compileStep(st *Step, base scope) {
	v.dynamic = false
	var refs []StepRef
	add := func(r []StepRef) { refs = append(refs, r...) }
	inner := base
	inner.item = st.ForEach != nil
	base.where, inner.where = "if", "with"

	add(v.compile(st.If, base, wantBool))
	base.where = "for_each"
	add(v.compile(st.ForEach, base, wantList))
	base.where = "name"
	add(v.compileValue(st.Name, base))
	add(v.compileValue(st.With, inner))
	if st.Approval != nil {
		base.where = "approval.message"
		add(v.compileValue(st.Approval.Message, base))
		base.where = "approval.approvers"
		add(v.compileValue(st.Approval.ApproversValue, base))
		base.where = "approval.subjects"
		add(v.compileValue(st.Approval.SubjectsValue, base))
	}
	if st.Retry != nil {
		when := inner
		when.err, when.where = true, "retry.when"
		add(v.compile(st.Retry.When, when, wantBool))
	}
	out := inner
	out.result, out.where, out.resultOf = true, "outputs", st.ID
	for _, o := range st.Outputs {
		add(v.compileValue(o.Value, out))
	}
	st.Refs = refs
	st.ReadsAllSteps = v.dynamic
	if st.Undo != nil {
		// The undo may read the step's own outputs: it runs after the
		// step; a for_each step's undo runs once per item.
		u := inner
		u.where = "undo.if"
		v.compile(st.Undo.If, u, wantBool)
		u.where = "undo"
		v.compileValue(st.Undo.With, u)
	}
}

// compileValue compiles every template inside a Value.
func (v *validator) compileValue(val *Value, sc scope) []StepRef {
	if val == nil {
		return nil
	}
	var refs []StepRef
	if val.Template != nil {
		for _, p := range val.Template.Parts {
			if p.Expr != nil {
				refs = append(refs, v.compile(p.Expr, sc, wantAny)...)
			}
		}
	}
	for _, it := range val.Items {
		refs = append(refs, v.compileValue(it, sc)...)
	}
	for _, f := range val.Fields {
		refs = append(refs, v.compileValue(f.Value, sc)...)
	}
	return refs
}

// order checks that a step reads only steps that finish before it starts:
// the steps it needs, directly or through other steps.
func (v *validator) order() {
	for _, list := range [][]*Step{v.rb.Steps, v.rb.OnFailure} {
		local := map[string]*Step{}
		for _, st := range list {
			local[st.ID] = st
		}
		for i, st := range list {
			if len(st.Refs) == 0 {
				continue
			}
			anc := ancestors(st, local)
			for _, r := range st.Refs {
				switch {
				case r.ID == st.ID:
					v.errorAt(r.Pos, stepPath(st, i), "reshape what the action returned with result, in the step's outputs",
						"step %q cannot read its own outputs here", st.ID)
				case local[r.ID] != nil && !anc[r.ID]:
					hint := fmt.Sprintf("add %q to needs", r.ID)
					v.errorAt(r.Pos, stepPath(st, i), hint,
						"step %q reads steps.%s, which may not have finished when it starts", st.ID, r.ID)
				}
			}
		}
	}
}

func ancestors(st *Step, local map[string]*Step) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), st.Deps...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] || local[id] == nil {
			continue
		}
		seen[id] = true
		stack = append(stack, local[id].Deps...)
	}
	return seen
}
