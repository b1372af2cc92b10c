package runtest

import (
	"fmt"
	"maps"
	"os"
	"sort"
	"strings"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/schema"
)

// Suite is a test file bound to the runbook it tests, ready to run.
type Suite struct {
	File        *File
	Runbook     *schema.Runbook
	RunbookFile string
	// Policy decides who may approve, as for steward approve: steward.yaml's
	// groups and allow_self_approval, with the test file's groups (see
	// Options.Policy and File.Groups).
	Policy journal.Policy
	reg    *actions.Registry
}

// WithGroups returns pol with the test file's groups added, replacing a
// group of the same name.
func (f *File) WithGroups(pol journal.Policy) journal.Policy {
	if len(f.Groups) == 0 {
		return pol
	}
	groups := make(map[string][]string, len(pol.Groups)+len(f.Groups))
	maps.Copy(groups, pol.Groups)
	maps.Copy(groups, f.Groups)
	pol.Groups = groups
	return pol
}

// Load reads a test file and the runbook it tests, validates the runbook
// against reg (the real actions: built-ins and installed plugins; actions
// of plugins not installed are allowed, and must be mocked), and checks
// that the steps, actions and outputs the cases name exist in it. The
// diagnostics are the test file's, or the runbook's when it is invalid.
func Load(path string, reg *actions.Registry) (*Suite, schema.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, schema.Diagnostics{{File: path, Message: err.Error()}}
	}
	f, diags := Parse(path, src)
	if len(diags) > 0 {
		return nil, diags
	}
	return Bind(f, reg)
}

// Bind loads the runbook a parsed test file tests; see Load. A nil reg
// means the core.* actions only.
func Bind(f *File, reg *actions.Registry) (*Suite, schema.Diagnostics) {
	if reg == nil {
		reg = actions.NewRegistry()
		if err := reg.Register(core.Actions(clockwork.NewRealClock(), nil)...); err != nil {
			panic(err)
		}
	}
	paths := f.runbookPaths()
	var rbFile string
	var rbSrc []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil {
			rbFile, rbSrc = p, b
			break
		}
		if !os.IsNotExist(err) || f.Runbook != "" {
			return nil, schema.Diagnostics{f.diag(orStart(f.RunbookPos), "runbook", "", "cannot read the runbook: %v", err)}
		}
	}
	if rbFile == "" {
		return nil, schema.Diagnostics{f.diag(schema.Pos{Line: 1, Column: 1}, "runbook",
			"name it with runbook: FILE (relative to the test file)", "no runbook %s beside the test file", strings.Join(paths, " or "))}
	}
	rb, diags := schema.Check(rbFile, rbSrc, reg)
	// Warnings are steps of plugins not installed here: tests mock them.
	if errs := diags.Errors(); len(errs) > 0 {
		return nil, errs
	}
	s := &Suite{File: f, Runbook: rb, RunbookFile: rbFile, reg: reg, Policy: f.WithGroups(journal.Policy{})}
	if diags := s.check(); len(diags) > 0 {
		return nil, diags
	}
	return s, nil
}

func orStart(p schema.Pos) schema.Pos {
	if p.Line == 0 {
		return schema.Pos{Line: 1, Column: 1}
	}
	return p
}

// names is what a runbook defines, for checking what cases refer to.
type names struct {
	steps    map[string]*schema.Step // main and on_failure
	actions  map[string]bool         // of steps, on_failure and undo
	undo     []string                // ids of steps with an undo
	outputs  []string
	subRuns  bool // a step runs core.runbook: its steps and actions are not known here
	stepIDs  []string
	approved []string // ids of steps with an approval
}

func runbookNames(rb *schema.Runbook) *names {
	n := &names{steps: map[string]*schema.Step{}, actions: map[string]bool{}}
	for _, st := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		n.steps[st.ID] = st
		n.stepIDs = append(n.stepIDs, st.ID)
		n.actions[st.Action] = true
		if st.Action == "core.runbook" {
			n.subRuns = true
		}
		if st.Undo != nil {
			n.actions[st.Undo.Action] = true
			n.undo = append(n.undo, UndoPrefix+st.ID)
		}
		if st.Approval != nil {
			n.approved = append(n.approved, st.ID)
		}
	}
	for _, o := range rb.Outputs {
		n.outputs = append(n.outputs, o.Name)
	}
	return n
}

// actionNames lists the actions a runbook uses, sorted.
func (n *names) actionNames() []string {
	out := make([]string, 0, len(n.actions))
	for a := range n.actions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// subStep reports whether key is STEP/... under a core.runbook step.
func (n *names) subStep(key string) bool {
	first, _, ok := strings.Cut(key, "/")
	return ok && n.steps[first] != nil && n.steps[first].Action == "core.runbook"
}

func suggest(word string, candidates []string, what string) string {
	if s := schema.Suggest(word, candidates); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	if len(candidates) == 0 {
		return "the runbook has no " + strings.TrimSuffix(what, " of")
	}
	return what + ": " + strings.Join(candidates, ", ")
}

// check reports what the cases name that the runbook does not have.
func (s *Suite) check() schema.Diagnostics {
	n := runbookNames(s.Runbook)
	var diags schema.Diagnostics
	add := func(p schema.Pos, path, hint, format string, args ...any) {
		diags = append(diags, s.File.diag(p, path, hint, format, args...))
	}
	for i, c := range s.File.Cases {
		path := fmt.Sprintf("cases[%d]", i)
		for _, key := range sortedKeys(c.Mocks) {
			m := c.Mocks[key]
			mp := path + ".mocks." + key
			st := n.steps[key]
			switch {
			case st != nil:
				if len(m.Items) > 0 && st.ForEach == nil {
					add(m.Pos, mp+".items", "use outputs, error or attempts", "step %s has no for_each", key)
				}
			case n.actions[key], n.subStep(key), n.subRuns && strings.Contains(key, "."):
			default:
				add(m.Pos, mp, suggest(key, append(append([]string(nil), n.stepIDs...), n.actionNames()...), "steps and actions"),
					"no step or action %q in %s", key, s.Runbook.Name)
			}
		}
		for _, key := range sortedKeys(c.Approvals) {
			if contains(n.approved, key) || n.subStep(key) {
				continue
			}
			hint := suggest(key, n.approved, "steps with an approval")
			if n.steps[key] != nil {
				add(c.Approvals[key].Pos, path+".approvals."+key, hint, "step %s has no approval", key)
			} else {
				add(c.Approvals[key].Pos, path+".approvals."+key, hint, "no step %q in %s", key, s.Runbook.Name)
			}
		}
		for _, w := range c.Expect.Outputs {
			if !contains(n.outputs, w.Name) {
				add(w.Pos, path+"."+w.Path, suggest(w.Name, n.outputs, "outputs"), "no output %q in %s", w.Name, s.Runbook.Name)
			}
		}
		for _, se := range c.Expect.Steps {
			sp := path + ".expect.steps." + se.Key
			switch {
			case n.steps[se.Key] != nil:
				if se.Status != nil && se.Status.Value == NotRun {
					add(se.Status.Pos, sp+".status", "a step that did not start is pending or skipped", "not_run is only for undo:ID")
				}
			case contains(n.undo, se.Key):
			case strings.HasPrefix(se.Key, UndoPrefix) && n.steps[strings.TrimPrefix(se.Key, UndoPrefix)] != nil:
				add(se.Pos, sp, suggest(se.Key, n.undo, "undo of"), "step %s has no undo", strings.TrimPrefix(se.Key, UndoPrefix))
			default:
				add(se.Pos, sp, suggest(se.Key, append(append([]string(nil), n.stepIDs...), n.undo...), "steps"),
					"no step %q in %s", se.Key, s.Runbook.Name)
			}
		}
	}
	diags.Sort()
	return diags
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
