package schema

import (
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (l *loader) steps(n *yaml.Node, path string, onFailure bool) []*Step {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "", "expected a list of steps, got %s", kindName(n))
		return nil
	}
	if len(n.Content) > MaxSteps {
		l.errorf(n, path, "split the runbook and call the parts with core.runbook", "more than %d steps", MaxSteps)
		return nil
	}
	var out []*Step
	for i, c := range n.Content {
		if st := l.step(c, idx(path, i), onFailure); st != nil {
			out = append(out, st)
		}
	}
	return out
}

func (l *loader) step(n *yaml.Node, path string, onFailure bool) *Step {
	n = deref(n)
	pairs, ok := l.mapping(n, path, stepKeys)
	if !ok {
		return nil
	}
	st := &Step{Pos: nodePos(n), OnFailure: onFailure}
	have := map[string]*yaml.Node{}
	for _, p := range pairs {
		fp := sub(path, p.key)
		have[p.key] = p.k
		switch p.key {
		case "id":
			if s, ok := l.plainStr(p.v, fp); ok {
				st.ID = s
				if !stepIDRe().MatchString(s) || len(s) > 64 {
					hint := ""
					if fixed := strings.ReplaceAll(strings.ToLower(s), "-", "_"); stepIDRe().MatchString(fixed) {
						hint = `did you mean "` + fixed + `"?`
					}
					l.errorf(p.v, fp, hint, "invalid step id %q: use lowercase letters, digits and _, starting with a letter", s)
				}
			}
		case "name":
			if _, ok := l.str(p.v, fp); ok {
				st.Name = l.value(p.v, fp)
			}
		case "action":
			st.ActionPos = nodePos(deref(p.v))
			st.Action = l.action(p.v, fp)
		case "with":
			st.WithPos = nodePos(p.k)
			st.With = l.with(p.v, fp)
		case "if":
			st.If = l.exprField(p.v, fp)
		case "needs":
			st.NeedsSet = true
			st.Needs, _ = l.strList(p.v, fp, true)
			if dn := deref(p.v); dn.Kind == yaml.SequenceNode && len(dn.Content) == len(st.Needs) {
				for _, c := range dn.Content {
					st.NeedsPos = append(st.NeedsPos, nodePos(deref(c)))
				}
			} else {
				for range st.Needs {
					st.NeedsPos = append(st.NeedsPos, nodePos(dn))
				}
			}
		case "for_each":
			st.ForEach = l.exprField(p.v, fp)
		case "max_parallel":
			if v, ok := l.integer(p.v, fp); ok {
				if v < 1 || v > MaxMaxParallel {
					l.errorf(p.v, fp, "", "max_parallel must be between 1 and %d, got %d", MaxMaxParallel, v)
				} else {
					st.MaxParallel = int(v)
				}
			}
		case "retry":
			st.Retry = l.retry(p.v, fp)
		case "timeout":
			st.Timeout, _ = l.duration(p.v, fp)
		case "continue_on_error":
			st.ContinueOnError, _ = l.boolean(p.v, fp)
		case "approval":
			st.Approval = l.approval(p.v, fp)
		case "undo":
			st.Undo = l.undo(p.v, fp)
		case "outputs":
			st.Outputs = l.outputs(p.v, fp)
		}
	}
	if have["id"] == nil && !l.suggested[sub(path, "id")] {
		l.errorf(n, path, "add: id: a_unique_id", `missing required key "id"`)
	}
	if have["action"] == nil && !l.suggested[sub(path, "action")] {
		l.errorf(n, path, "add: action: core.log (or PLUGIN.ACTION)", `missing required key "action"`)
	}
	if k := have["max_parallel"]; k != nil && have["for_each"] == nil {
		l.errorf(k, sub(path, "max_parallel"), "add for_each, or remove max_parallel", "max_parallel only applies to a step with for_each")
	}
	if onFailure {
		for _, key := range []string{"approval", "undo"} {
			if k := have[key]; k != nil {
				l.errorf(k, sub(path, key), "", "%s is not allowed in an on_failure step", key)
			}
		}
	}
	return st
}

// action reads an action name: PLUGIN.ACTION or a built-in.
func (l *loader) action(n *yaml.Node, path string) string {
	s, ok := l.plainStr(n, path)
	if !ok {
		return ""
	}
	if contains(BuiltinActions, s) {
		return s
	}
	if plugin, _, _ := strings.Cut(s, "."); actionNameRe().MatchString(s) && plugin != "core" && plugin != "http" && plugin != "exec" {
		return s
	} else if actionNameRe().MatchString(s) {
		hint := didYouMean(s, BuiltinActions)
		if hint == "" {
			hint = "built-ins: " + strings.Join(BuiltinActions, ", ")
		}
		l.errorf(n, path, hint, "unknown built-in action %q (%s is reserved for built-ins)", s, plugin)
		return ""
	}
	hint := didYouMean(s, BuiltinActions)
	if hint == "" {
		hint = "write PLUGIN.ACTION (e.g. payments.get_payment) or a built-in: " + strings.Join(BuiltinActions, ", ")
	}
	l.errorf(n, path, hint, "invalid action name %q", s)
	return ""
}

func (l *loader) with(n *yaml.Node, path string) *Value {
	dn := deref(n)
	if dn.Kind != yaml.MappingNode && !(dn.Kind == yaml.ScalarNode && dn.ShortTag() == "!!null") {
		l.errorf(dn, path, "", "expected a mapping of action inputs, got %s", kindName(dn))
		return nil
	}
	return l.value(n, path)
}

func (l *loader) retry(n *yaml.Node, path string) *Retry {
	pairs, ok := l.mapping(n, path, retryKeys)
	if !ok {
		return nil
	}
	r := &Retry{Attempts: 1, Backoff: 1}
	var maxDelay *yaml.Node
	for _, p := range pairs {
		fp := sub(path, p.key)
		switch p.key {
		case "attempts":
			if v, ok := l.integer(p.v, fp); ok {
				if v < 1 || v > MaxAttempts {
					l.errorf(p.v, fp, "attempts counts every try, including the first", "attempts must be between 1 and %d, got %d", MaxAttempts, v)
				} else {
					r.Attempts = int(v)
				}
			}
		case "delay":
			r.Delay, _ = l.duration(p.v, fp)
		case "backoff":
			if v, ok := l.number(p.v, fp); ok {
				if v < 1 || v > MaxBackoff {
					l.errorf(p.v, fp, "1.0 keeps the delay constant, 2.0 doubles it", "backoff must be between 1 and %g, got %g", MaxBackoff, v)
				} else {
					r.Backoff = v
				}
			}
		case "max_delay":
			maxDelay = p.v
			r.MaxDelay, _ = l.duration(p.v, fp)
		case "jitter":
			if v, ok := l.number(p.v, fp); ok {
				if v < 0 || v > 1 {
					l.errorf(p.v, fp, "0.1 adds up to 10% of the delay at random", "jitter must be between 0 and 1, got %g", v)
				} else {
					r.Jitter = v
				}
			}
		case "when":
			r.When = l.exprField(p.v, fp)
		}
	}
	if r.MaxDelay > 0 && r.Delay > r.MaxDelay {
		l.errorf(maxDelay, sub(path, "max_delay"), "", "max_delay (%s) is shorter than delay (%s)", r.MaxDelay, r.Delay)
	}
	return r
}

func (l *loader) approval(n *yaml.Node, path string) *Approval {
	pairs, ok := l.mapping(n, path, approvalKeys)
	if !ok {
		return nil
	}
	a := &Approval{Pos: nodePos(deref(n))}
	for _, p := range pairs {
		fp := sub(path, p.key)
		switch p.key {
		case "message":
			if _, ok := l.str(p.v, fp); ok {
				a.Message = l.value(p.v, fp)
			}
		case "approvers":
			a.Approvers, a.ApproversValue = l.approvers(p.v, fp)
		case "subjects":
			a.Subjects, a.SubjectsValue = l.subjects(p.v, fp)
		case "timeout":
			a.Timeout, _ = l.duration(p.v, fp)
		}
	}
	return a
}

// approvers reads approval.approvers: a list of names, each of which may
// be a template.
func (l *loader) approvers(n *yaml.Node, path string) ([]string, *Value) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "write a list: approvers: [payments-leads]", "expected a list of names, got %s", kindName(n))
		return nil, nil
	}
	var names []string
	for i, c := range n.Content {
		s, ok := l.str(c, idx(path, i))
		if !ok {
			return nil, nil
		}
		if strings.TrimSpace(s) == "" {
			l.errorf(c, idx(path, i), "", "an approver cannot be empty")
			return nil, nil
		}
		if g, ok := ApproverGroup(s); ok && g == "" && !HasTemplate(s) {
			l.errorf(c, idx(path, i), "write group:NAME, NAME a group of approvals.groups in steward.yaml", "group: names no group")
			return nil, nil
		}
		names = append(names, s)
	}
	return names, l.value(n, path)
}

// subjects reads approval.subjects: a list of people, each of which may
// be a template; a group is not a subject.
func (l *loader) subjects(n *yaml.Node, path string) ([]string, *Value) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, path, "write a list: subjects: ['${{ inputs.user }}']", "expected a list of names, got %s", kindName(n))
		return nil, nil
	}
	var names []string
	for i, c := range n.Content {
		s, ok := l.str(c, idx(path, i))
		if !ok {
			return nil, nil
		}
		if strings.TrimSpace(s) == "" {
			l.errorf(c, idx(path, i), "", "a subject cannot be empty")
			return nil, nil
		}
		if _, ok := ApproverGroup(s); ok {
			l.errorf(c, idx(path, i), "name the person the change is about, such as '${{ inputs.user }}'", "a subject is a person, not a group")
			return nil, nil
		}
		names = append(names, s)
	}
	return names, l.value(n, path)
}

func (l *loader) undo(n *yaml.Node, path string) *Undo {
	pairs, ok := l.mapping(n, path, undoKeys)
	if !ok {
		return nil
	}
	u := &Undo{Pos: nodePos(deref(n))}
	for _, p := range pairs {
		fp := sub(path, p.key)
		switch p.key {
		case "action":
			u.ActionPos = nodePos(deref(p.v))
			u.Action = l.action(p.v, fp)
		case "if":
			u.If = l.exprField(p.v, fp)
		case "with":
			u.WithPos = nodePos(p.k)
			u.With = l.with(p.v, fp)
		case "timeout":
			u.Timeout, _ = l.duration(p.v, fp)
		}
	}
	if u.ActionPos == (Pos{}) {
		l.errorf(n, path, "", `missing required key "action"`)
	}
	return u
}

func (l *loader) schedule(rb *Runbook, n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "schedule", `write a list: schedule: [{cron: "0 9 * * MON"}]`, "expected a list, got %s", kindName(n))
		return
	}
	for i, c := range n.Content {
		path := idx("schedule", i)
		pairs, ok := l.mapping(c, path, scheduleKeys)
		if !ok {
			continue
		}
		sc := &Schedule{Pos: nodePos(deref(c)), Timezone: "UTC", Location: time.UTC, Catchup: "latest", Overlap: "skip"}
		var cronNode *yaml.Node
		for _, p := range pairs {
			fp := sub(path, p.key)
			switch p.key {
			case "cron":
				cronNode = p.v
				sc.Cron, _ = l.plainStr(p.v, fp)
			case "timezone":
				if s, ok := l.plainStr(p.v, fp); ok {
					loc, err := time.LoadLocation(s)
					if err != nil || s == "" || s == "Local" {
						l.errorf(p.v, fp, "use an IANA name such as Europe/Lisbon or UTC", "unknown time zone %q", s)
					} else {
						sc.Timezone, sc.Location = s, loc
					}
				}
			case "catchup":
				sc.Catchup = l.policy(p.v, fp, CatchupPolicies, sc.Catchup)
			case "overlap":
				sc.Overlap = l.policy(p.v, fp, OverlapPolicies, sc.Overlap)
			case "inputs":
				sc.Inputs = l.value(p.v, fp)
				if sc.Inputs.Kind != KindMap && sc.Inputs.Kind != KindNull {
					l.errorf(p.v, fp, "", "expected a mapping of input values, got %s", kindName(deref(p.v)))
					sc.Inputs = nil
				}
			}
		}
		if cronNode == nil {
			l.errorf(c, path, `add: cron: "0 9 * * MON"`, `missing required key "cron"`)
		} else if sc.Cron != "" {
			if msg, hint := checkCron(sc.Cron); msg != "" {
				l.errorf(cronNode, sub(path, "cron"), hint, "%s", msg)
			}
		}
		rb.Schedule = append(rb.Schedule, sc)
	}
}

// policy reads one of a schedule's policy words; a word not in allowed is
// an error with a did-you-mean, and def is kept.
func (l *loader) policy(n *yaml.Node, path string, allowed []string, def string) string {
	s, ok := l.plainStr(n, path)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, s) {
		hint := didYouMean(s, allowed)
		if hint == "" {
			hint = "one of: " + strings.Join(allowed, ", ")
		}
		l.errorf(n, path, hint, "unknown policy %q", s)
		return def
	}
	return s
}
