package runtest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// CodeNotMocked is the error code of a step whose action is not core.*
// and has no mock.
const CodeNotMocked actions.Code = "not_mocked"

// RunID is the id of every test run. A sub-run started by step S has the
// id RunID.S, as in a real run.
const RunID = "test"

// caseRun is one case being run: its clock, its mocks, and what happened
// that the run's result does not say.
type caseRun struct {
	s     *Suite
	c     *Case
	clock *Clock

	mu       sync.Mutex
	unmocked []string                          // one message per unmocked step
	refused  map[string]Failure                // decisions refused, by step path
	withs    map[string]map[int]map[string]any // expectation key → item index → with of its last attempt
}

// stepPath names the step of a request for mocks and approvals: its id,
// or PARENT/ID in a sub-run started by step PARENT.
func stepPath(runID, step string) string {
	rest, ok := strings.CutPrefix(runID, RunID+".")
	if !ok {
		return step
	}
	return strings.ReplaceAll(rest, ".", "/") + "/" + step
}

// isUndo reports whether a request runs an undo.
func isUndo(req *actions.Request) bool { return req.Undo }

// mocked is an action as a test run sees it: its mock when it has one,
// otherwise the real action for core.*, otherwise a failure.
type mocked struct {
	cr    *caseRun
	inner actions.Action // nil for an action not installed
	spec  actions.Spec
}

func (a *mocked) Spec() actions.Spec { return a.spec }

// Mutates implements actions.RequestMutator as the real action does.
func (a *mocked) Mutates(with map[string]any) bool {
	if a.inner == nil {
		return true
	}
	return actions.Mutates(a.inner, with)
}

func (a *mocked) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	path := stepPath(req.RunID, req.StepID)
	undo := isUndo(req)
	var m *Mock
	if !undo {
		m = a.cr.c.Mocks[path]
	}
	if m == nil {
		m = a.cr.c.Mocks[req.Action]
	}
	if m != nil {
		return m.reply(req.Index, req.Attempt).result()
	}
	if a.inner != nil && strings.HasPrefix(req.Action, "core.") {
		return a.inner.Execute(ctx, req)
	}
	msg := fmt.Sprintf("action %s is not mocked: add it under mocks (by step id %q or action %q)", req.Action, path, req.Action)
	where := "step " + path
	if undo {
		msg = fmt.Sprintf("action %s is not mocked: add it under mocks (by action %q)", req.Action, req.Action)
		where = "undo of step " + path
	}
	a.cr.notMocked(where + ": " + msg)
	return nil, &actions.Error{Code: CodeNotMocked, Message: msg}
}

func (cr *caseRun) notMocked(msg string) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for _, m := range cr.unmocked {
		if m == msg {
			return
		}
	}
	cr.unmocked = append(cr.unmocked, msg)
	sort.Strings(cr.unmocked) // steps run in parallel: keep the report stable
}

// result is what the action returns: a copy of the outputs, or the error.
func (r *Reply) result() (map[string]any, error) {
	if r.Error != nil {
		code := actions.Code(r.Error.Code)
		if code == "" {
			code = actions.CodeFailed
		}
		return nil, &actions.Error{Code: code, Message: r.Error.Message, Retryable: r.Error.Retryable}
	}
	out, _ := deepCopy(r.Outputs).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

// registry returns the actions of a test run of rb: every real action
// wrapped by its mocks, core.sleep on the virtual clock, core.runbook
// running sub-runs with the same mocks, and a stand-in for each action rb
// uses that is not installed.
func (cr *caseRun) registry(rb *schema.Runbook) *actions.Registry {
	own := map[string]actions.Action{}
	for _, a := range core.Actions(cr.clock, cr.subRun) {
		own[a.Spec().Name] = a
	}
	reg := actions.NewRegistry()
	have := map[string]bool{}
	var all []actions.Action
	for _, spec := range cr.s.reg.Specs() {
		a, _ := cr.s.reg.Lookup(spec.Name)
		if o, ok := own[spec.Name]; ok {
			a = o
		}
		all = append(all, &mocked{cr: cr, inner: a, spec: spec})
		have[spec.Name] = true
	}
	for _, name := range runbookNames(rb).actionNames() {
		if !have[name] {
			all = append(all, &mocked{cr: cr, spec: actions.Spec{Name: name, Mutates: true,
				Description: "an action of a plugin not installed: mocked by runbook tests",
				Input:       &schema.DataSchema{Description: "anything"}}})
		}
	}
	if err := reg.Register(all...); err != nil {
		panic(err) // names come from one registry and a set: never twice
	}
	return reg
}

// options are the engine options of a run (or sub-run) of the case.
// core.read_file reads the files beside the runbook, as in a real run.
func (cr *caseRun) options(rb *schema.Runbook, runID string, dryRun bool, sink engine.Sink) engine.Options {
	files, _ := runbooks.FilesOf(rb.File)
	return engine.Options{Registry: cr.registry(rb), Sink: sink, Clock: cr.clock, DryRun: dryRun, Actor: cr.c.Actor,
		RunID: runID, Secret: cr.secret, Approver: cr, Jitter: func() float64 { return 0 }, Files: files}
}

func (cr *caseRun) secret(name string) (string, bool) {
	v, ok := cr.c.Secrets[name]
	return v, ok
}

// Decide implements engine.Approver from the case's approvals; an
// approval not listed waits.
//
// The rules are the CLI's (journal.Policy): approvers naming a group that
// neither steward.yaml nor the test file defines fail the step; a
// decision by someone the approvers do not allow, or by the run's own
// actor, is refused, and the step keeps waiting, as after a refused
// steward approve. A decision without by is made by the first person the
// approvers allow who is not the actor ("approver" when they name none).
func (cr *caseRun) Decide(_ context.Context, req engine.ApprovalRequest) (engine.Decision, error) {
	pol := cr.s.Policy
	key := stepPath(req.RunID, req.Step)
	if !req.Interrupted {
		if err := pol.CheckApprovers(req.Approvers); err != nil {
			var ug *schema.UndefinedGroupError
			msg := err.Error()
			if errors.As(err, &ug) {
				msg = fmt.Sprintf("approval group %q is not defined: add it to the test file's groups, or %s: [NAME, ...] to steward.yaml", ug.Group, schema.GroupKey(ug.Group))
			}
			return engine.Decision{}, &actions.Error{Code: engine.CodeInvalidApprovers, Message: msg, Err: err}
		}
	}
	a := cr.c.Approvals[key]
	if a == nil {
		return engine.Decision{}, engine.ErrPending
	}
	if a.Expire {
		return engine.Decision{}, engine.ErrApprovalExpired
	}
	by := a.By
	if by == "" {
		by = "approver"
		if len(req.Approvers) > 0 {
			by = pol.FirstAllowed(req.Actor, req.Approvers, req.Subjects)
		}
	}
	if err := pol.Allows(req.Actor, by, "", req.Step, req.Approvers, req.Subjects); err != nil {
		cr.mu.Lock()
		defer cr.mu.Unlock()
		if cr.refused == nil {
			cr.refused = map[string]Failure{}
		}
		cr.refused[key] = Failure{Line: a.Pos.Line, Message: "approvals." + key + ": refused: " + refusal(err)}
		return engine.Decision{}, engine.ErrPending
	}
	return engine.Decision{Approved: a.Approve, By: by, Comment: a.Comment}, nil
}

// refusal is why a decision was refused.
func refusal(err error) string { return strings.TrimPrefix(err.Error(), "journal: ") }

// subRun runs core.runbook: the runbook named, found beside the tested
// runbook or in the bundled library, with the case's mocks.
func (cr *caseRun) subRun(ctx context.Context, name string, inputs map[string]any, parent *actions.Request) (map[string]any, error) {
	sub := engine.SubRuns{
		Resolve: func(name string, _ *actions.Request) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, []string{filepath.Dir(cr.s.RunbookFile)})
		},
		Catalog:       cr.s.reg,
		MockedPlugins: true,
		Options: func(_ string, rb *schema.Runbook, _ *runbooks.Document, _ *actions.Request) (engine.Options, error) {
			return cr.options(rb, "", false, nil), nil
		},
	}
	return sub.Run(ctx, name, inputs, parent)
}

// Event implements engine.Sink: it keeps the resolved with of each step's
// attempts.
func (cr *caseRun) Event(e *engine.Event) {
	if e.Type != engine.AttemptStarted {
		return
	}
	key := e.Step
	if e.Phase == engine.PhaseUndo {
		key = UndoPrefix + e.Step
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.withs[key] == nil {
		cr.withs[key] = map[int]map[string]any{}
	}
	cr.withs[key][e.Index] = e.With
}

// with returns the resolved with of a step's last attempt, or for a
// for_each step the list of each item's, and whether its action ran.
func (cr *caseRun) with(key string) (any, bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	byIndex := cr.withs[key]
	if len(byIndex) == 0 {
		return nil, false
	}
	if w, ok := byIndex[-1]; ok && len(byIndex) == 1 {
		return nilMap(w), true
	}
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	list := make([]any, idx[len(idx)-1]+1)
	for _, i := range idx {
		if i >= 0 {
			list[i] = nilMap(byIndex[i])
		}
	}
	return list, true
}

func nilMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
