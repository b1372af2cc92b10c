package schema

// SelfCalls warns of each step that runs, with core.runbook, the runbook
// it is in, by a literal name equal to the runbook's own: every call
// starts a sub-run that calls again, until the depth or the number of
// sub-runs a run may start stops it, unless an if stops it first. A
// runbook may mean it, so this is a warning, and only steward validate
// reports it (a run does not refuse it).
func SelfCalls(rb *Runbook) Diagnostics {
	if rb == nil || rb.src == nil || rb.Name == "" {
		return nil
	}
	var out Diagnostics
	check := func(action string, with *Value, path string) {
		if action != "core.runbook" {
			return
		}
		name := with.Get("name")
		if name == nil || name.Kind != KindString || name.Template != nil || name.Str != rb.Name {
			return
		}
		d := rb.src.diag(name.Pos, sub(path, "with.name"),
			"make sure an if stops it, or call another runbook",
			"runbook %q calls itself: each call is a sub-run that calls again, until the run reaches 8 levels or the most sub-runs it may start (runs.max_sub_runs, default 100)", rb.Name)
		d.Severity = SeverityWarning
		out = append(out, d)
	}
	for _, list := range [][]*Step{rb.Steps, rb.OnFailure} {
		for i, st := range list {
			path := stepPath(st, i)
			check(st.Action, st.With, path)
			if st.Undo != nil {
				check(st.Undo.Action, st.Undo.With, sub(path, "undo"))
			}
		}
	}
	return out
}
