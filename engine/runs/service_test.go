package runs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"github.com/stewardhq/steward/schema"
)

// testAction is an action defined by a test.
type testAction struct {
	spec actions.Spec
	fn   func(ctx context.Context, req *actions.Request) (map[string]any, error)
}

func (a *testAction) Spec() actions.Spec { return a.spec }
func (a *testAction) Execute(ctx context.Context, req *actions.Request) (map[string]any, error) {
	return a.fn(ctx, req)
}

func act(name string, mutates bool, fn func(ctx context.Context, req *actions.Request) (map[string]any, error)) *testAction {
	return &testAction{spec: actions.Spec{Name: name, Mutates: mutates, Idempotent: mutates,
		Input: &schema.DataSchema{Type: schema.Types{"object"}}}, fn: fn}
}

// fixture is a run service on a real SQLite store in a temporary home,
// with the built-ins and the test's actions.
type fixture struct {
	t     *testing.T
	home  string
	dir   string // runbooks
	store journal.Store
	svc   *runs.Service
}

func newFixture(t *testing.T, clock clockwork.Clock, policy journal.Policy, extra ...actions.Action) *fixture {
	t.Helper()
	f := &fixture{t: t, home: t.TempDir(), dir: t.TempDir()}
	f.store = openStore(t, f.home)
	f.svc = f.service(f.store, clock, policy, extra...)
	return f
}

func openStore(t *testing.T, home string) journal.Store {
	t.Helper()
	s, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (f *fixture) service(store journal.Store, clock clockwork.Clock, policy journal.Policy, extra ...actions.Action) *runs.Service {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	return runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				f.t.Fatal(err)
			}
			if err := reg.Register(extra...); err != nil {
				f.t.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.Resolve(name, []string{f.dir})
		},
		Clock:  clock,
		Policy: policy,
		Host:   "test-host",
		PID:    os.Getpid(),
	})
}

// runbook writes a runbook into the fixture's folder and returns it.
func (f *fixture) runbook(name, src string) *runbooks.Document {
	f.t.Helper()
	path := filepath.Join(f.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		f.t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(src))
	return &runbooks.Document{File: path, Src: []byte(src), SHA256: hex.EncodeToString(sum[:])}
}

func (f *fixture) start(doc *runbooks.Document, actor string, inputs map[string]any) (*engine.Result, error) {
	f.t.Helper()
	plan := f.svc.Prepare(doc, nil)
	if err := plan.Err(); err != nil {
		f.t.Fatalf("%v\n%s", err, plan.Diagnostics.Render())
	}
	return f.svc.Start(context.Background(), plan, runs.StartRequest{Inputs: inputs, Actor: actor})
}

const approvalRunbook = `version: 1
name: refund
steps:
  - id: look
    action: core.set
    with: {amount: 12}
  - id: refund
    approval:
      message: Refund ${{ steps.look.outputs.amount }}?
      approvers: [leads]
    action: core.set
    with: {refunded: '${{ steps.look.outputs.amount }}'}
outputs:
  refunded: ${{ steps.refund.outputs.refunded }}
`

func listRuns(svc *runs.Service, f runs.Filter) ([]runs.Summary, error) {
	var list []runs.Summary
	err := svc.List(context.Background(), f, func(s runs.Summary) error {
		list = append(list, s)
		return nil
	})
	return list, err
}

// A run waits for an approval; the service refuses the requester and
// people who are not approvers, with typed errors; the approver's
// decision is recorded once; the run goes on and ends; then nothing more
// goes on.
func TestStartDecideContinue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga", "ana"}}})
	res, err := f.start(f.runbook("refund", approvalRunbook), "ana", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusWaiting {
		t.Fatalf("status %s, want waiting", res.Status)
	}
	id := res.ID
	var refused *runs.RefusedError
	for _, by := range []string{"ana", "bruno"} {
		_, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "refund", Approved: true, By: by})
		if !errors.As(err, &refused) {
			t.Fatalf("%s decides: %v, want a *RefusedError", by, err)
		}
	}
	if !strings.Contains(refused.Error(), "bruno may not decide step refund: approvers are leads") || strings.Contains(refused.Error(), "journal:") {
		t.Fatalf("refusal: %q", refused.Error())
	}
	if _, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "look", Approved: true, By: "olga"}); !errors.Is(err, runs.ErrNotWaiting) {
		t.Fatalf("a step that does not wait: %v", err)
	}
	d, err := f.svc.Decide(ctx, runs.DecideRequest{RunID: id, Step: "refund", Approved: true, By: "olga", Comment: "ok"})
	if err != nil || !d.Approved || d.By != "olga" {
		t.Fatalf("Decide = %+v, %v", d, err)
	}
	got, err := f.svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Live || got.Interrupted || got.State.Run.Status != "waiting" || len(got.State.Decisions) != 1 || got.State.Decisions[0].By != "olga" {
		t.Fatalf("Get after the decision: live %v, interrupted %v, status %s, decisions %+v", got.Live, got.Interrupted, got.State.Run.Status, got.State.Decisions)
	}
	c, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "olga"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusSucceeded || fmt.Sprint(res.Outputs["refunded"]) != "12" {
		t.Fatalf("status %s, outputs %v", res.Status, res.Outputs)
	}
	var ended *runs.EndedError
	if _, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "olga"}); !errors.As(err, &ended) || ended.Status != "succeeded" {
		t.Fatalf("Continue of an ended run: %v", err)
	}
	if _, err := f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: "olga"}}); !errors.As(err, &ended) {
		t.Fatalf("Cancel of an ended run: %v", err)
	}
	if _, err := f.svc.Get(ctx, "20991231-000000-00000000"); !errors.Is(err, runs.ErrNotFound) {
		t.Fatalf("Get of no run: %v", err)
	}
	list, err := listRuns(f.svc, runs.Filter{})
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Status != "succeeded" || list[0].Actor != "ana" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	var types []string
	if err := f.svc.Events(ctx, id, 0, true, time.Millisecond, func(r journal.Record) error {
		types = append(types, r.Type)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := "run.started step.started step.finished step.started step.waiting step.finished run.finished " +
		"approval.decided run.resumed step.started step.approved attempt.started step.finished run.finished"
	if strings.Join(types, " ") != want {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(types, " "), want)
	}
}

// A cancel recorded through another handle on the store (another
// process, or another host) is observed by the execution holding the run
// at its next heartbeat: the running action is cancelled, the undo of
// the finished step runs, the run ends cancelled. No signal is sent: the
// holder runs in this test's process.
func TestCancelObservedAtHeartbeat(t *testing.T) {
	ctx := context.Background()
	clock := clockwork.NewFakeClock()
	entered := make(chan struct{})
	var undone atomic.Int64
	block := act("test.block", false, func(ctx context.Context, req *actions.Request) (map[string]any, error) {
		close(entered)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	grant := act("test.grant", true, func(context.Context, *actions.Request) (map[string]any, error) {
		return map[string]any{"granted": true}, nil
	})
	revoke := act("test.revoke", true, func(context.Context, *actions.Request) (map[string]any, error) {
		undone.Add(1)
		return map[string]any{}, nil
	})
	f := newFixture(t, clock, journal.Policy{}, block, grant, revoke)
	doc := f.runbook("cancel-me", `version: 1
name: cancel-me
steps:
  - id: grant
    action: test.grant
    undo: {action: test.revoke}
  - id: wait
    action: test.block
`)
	type outcome struct {
		res *engine.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := f.start(doc, "ana", nil)
		done <- outcome{res, err}
	}()
	<-entered
	// The canceller: another handle on the store, the real clock.
	other := f.service(openStore(t, f.home), nil, journal.Policy{}, block, grant, revoke)
	list, err := listRuns(other, runs.Filter{})
	if err != nil || len(list) != 1 || list[0].Status != "running" || list[0].Interrupted {
		t.Fatalf("List while it runs = %+v, %v", list, err)
	}
	id := list[0].ID
	cancelled := make(chan error, 1)
	go func() {
		res, err := other.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: id, By: "bruno"},
			Comment: "ticket closed", Wait: time.Minute})
		if err == nil && (res.Status != "cancelled" || res.Result != nil) {
			err = errors.New("cancelled as " + res.Status)
		}
		cancelled <- err
	}()
	// Once the request is recorded, one heartbeat is all it takes. (The
	// execution may record more after it: the records of the blocked
	// step, written by the recorder's timer.)
	for requested := false; !requested; time.Sleep(time.Millisecond) {
		st, err := journal.Load(ctx, f.store, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range st.Records {
			requested = requested || r.Type == journal.CancelRequested
		}
	}
	if err := clock.BlockUntilContext(ctx, 1); err != nil { // the heartbeat's ticker
		t.Fatal(err)
	}
	clock.Advance(runs.DefaultHeartbeat)
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	if err := <-cancelled; err != nil {
		t.Fatal(err)
	}
	if o.res.Status != engine.StatusCancelled || undone.Load() != 1 {
		t.Fatalf("status %s, undone %d times", o.res.Status, undone.Load())
	}
	st, err := journal.Load(ctx, f.store, id)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range st.Records {
		types = append(types, r.Type)
	}
	if !strings.Contains(strings.Join(types, " "), "run.cancel_requested") || st.Run.Status != "cancelled" {
		t.Fatalf("records %v, status %s", types, st.Run.Status)
	}
	if _, live, err := f.store.Lease(ctx, id, time.Now()); err != nil || live {
		t.Fatalf("the lease after the end: live %v, %v", live, err)
	}
}

// failingStore is a real store whose appends fail while failing is set:
// the store went away in the middle of a run, as in a crash.
type failingStore struct {
	journal.Store
	failing atomic.Bool
}

func (s *failingStore) Append(ctx context.Context, b journal.Batch) ([]journal.Record, error) {
	if s.failing.Load() {
		return nil, errors.New("disk unplugged")
	}
	return s.Store.Append(ctx, b)
}

// A run stops inside a sub-run (its journal went away): continued, the
// parent's core.runbook step starts the same sub-run again, which goes on
// from its records: its finished step does not run again.
func TestSubRunRoundTrip(t *testing.T) {
	ctx := context.Background()
	var ones, twos atomic.Int64
	var store *failingStore
	var mu sync.Mutex
	one := act("test.one", true, func(context.Context, *actions.Request) (map[string]any, error) {
		ones.Add(1)
		return map[string]any{"n": 1}, nil
	})
	two := act("test.two", false, func(context.Context, *actions.Request) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if twos.Add(1) == 1 {
			store.failing.Store(true)
			return nil, errors.New("the machine went down")
		}
		return map[string]any{"n": 2}, nil
	})
	f := newFixture(t, nil, journal.Policy{}, one, two)
	store = &failingStore{Store: f.store}
	f.svc = f.service(store, nil, journal.Policy{}, one, two)
	f.runbook("child", `version: 1
name: child
steps:
  - id: one
    action: test.one
  - id: two
    action: test.two
outputs:
  n: ${{ steps.two.outputs.n }}
`)
	parent := f.runbook("parent", `version: 1
name: parent
steps:
  - id: sub
    action: core.runbook
    with: {name: child}
outputs:
  n: ${{ steps.sub.outputs.n }}
`)
	_, err := f.start(parent, "ana", nil)
	var rec *runs.RecordingError
	if !errors.As(err, &rec) {
		t.Fatalf("Start: %v, want a *RecordingError", err)
	}
	store.failing.Store(false)
	list, err := listRuns(f.svc, runs.Filter{Status: runs.StatusInterrupted})
	if err != nil || len(list) != 2 {
		t.Fatalf("interrupted runs: %+v, %v", list, err)
	}
	var id string
	for _, r := range list {
		if r.Parent == "" {
			id = r.ID
		}
	}
	var sub *runs.SubRunError
	if _, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: id + ".sub", By: "ana"}); !errors.As(err, &sub) || sub.Root != id {
		t.Fatalf("Continue of the sub-run: %v", err)
	}
	c, err := f.svc.Continue(ctx, runs.ContinueRequest{RunID: id, By: "bruno"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != engine.StatusSucceeded || fmt.Sprint(res.Outputs["n"]) != "2" || ones.Load() != 1 || twos.Load() != 2 {
		t.Fatalf("status %s, outputs %v; one ran %d times, two %d", res.Status, res.Outputs, ones.Load(), twos.Load())
	}
	st, err := journal.Load(ctx, f.store, id+".sub")
	if err != nil {
		t.Fatal(err)
	}
	if st.Run.Status != "succeeded" || st.Resumed != 1 || st.Run.Parent != id {
		t.Fatalf("sub-run: status %s, resumed %d, parent %q", st.Run.Status, st.Resumed, st.Run.Parent)
	}
	rep, err := journal.Verify(ctx, f.store, "")
	if err != nil || rep.Problem != nil || rep.Runs != 2 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// TestSubRunNameIsNeverAPath: a runbook that takes the name of its
// sub-run from an input runs only runbooks found by name: given the path
// of a runbook elsewhere on disk, it does not run it; given the path of a
// file that is no runbook, it does not quote it; the engine refuses
// whatever its resolver would accept.
func TestSubRunNameIsNeverAPath(t *testing.T) {
	var marks atomic.Int64
	mark := act("test.mark", true, func(context.Context, *actions.Request) (map[string]any, error) {
		marks.Add(1)
		return map[string]any{}, nil
	})
	f := newFixture(t, nil, journal.Policy{}, mark)
	elsewhere := t.TempDir()
	evil := filepath.Join(elsewhere, "evil.yaml")
	if err := os.WriteFile(evil, []byte("version: 1\nname: evil\nsteps:\n  - id: m\n    action: test.mark\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(elsewhere, "passwd")
	if err := os.WriteFile(secretFile, []byte("root:x:0:0:Xroot-line:/root:/bin/bash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.runbook("child", "version: 1\nname: child\nsteps:\n  - id: m\n    action: test.mark\n")
	parent := f.runbook("parent", `version: 1
name: parent
inputs:
  which: {type: string, required: true}
steps:
  - id: sub
    action: core.runbook
    with: {name: '${{ inputs.which }}'}
`)
	for _, which := range []string{evil, secretFile, "../" + filepath.Base(elsewhere) + "/evil.yaml", "evil.yaml"} {
		res, err := f.start(parent, "ana", map[string]any{"which": which})
		if err != nil {
			t.Fatal(err)
		}
		msg := ""
		if res.Error != nil {
			msg = res.Error.Message
		}
		if res.Status != engine.StatusFailed || !strings.Contains(msg, "must match") || strings.Contains(msg, "Xroot") {
			t.Errorf("name %q: %s: %q", which, res.Status, msg)
		}
	}
	if n := marks.Load(); n != 0 {
		t.Fatalf("a runbook given by path ran (%d marks)", n)
	}
	if res, err := f.start(parent, "ana", map[string]any{"which": "child"}); err != nil || res.Status != engine.StatusSucceeded || marks.Load() != 1 {
		t.Fatalf("by name: %v %+v, %d marks", err, res, marks.Load())
	}
	// The engine refuses a path even when the step's input is not checked
	// (a resolver that would read it, a caller without the action's spec).
	sub := engine.SubRuns{Resolve: func(string, *actions.Request) (*runbooks.Document, error) {
		t.Fatal("the resolver was asked for a path")
		return nil, nil
	}}
	_, err := sub.Run(context.Background(), secretFile, nil, &actions.Request{RunID: "r", StepID: "s", Index: -1})
	if err == nil || !strings.Contains(err.Error(), "is not a runbook name") {
		t.Fatalf("SubRuns.Run of a path: %v", err)
	}
}

// forkRunbook calls itself 4 times per level, 4 levels deep: 340 sub-runs
// (4+16+64+256) without a bound on their number, though never deeper than
// MaxSubRunDepth.
const forkRunbook = `version: 1
name: fork
inputs:
  level: {type: integer, default: 0}
steps:
  - {id: a, if: inputs.level < 4, action: core.runbook, with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}}
  - {id: b, if: inputs.level < 4, action: core.runbook, with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}}
  - {id: c, if: inputs.level < 4, action: core.runbook, with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}}
  - {id: d, if: inputs.level < 4, action: core.runbook, with: {name: fork, inputs: {level: '${{ inputs.level + 1 }}'}}}
`

// TestSubRunBudget: a run starts at most its budget of sub-runs, all
// levels together (by default engine.DefaultMaxSubRuns, else
// Config.MaxSubRuns); the step that asks for one more fails with
// sub_run_limit, and the run fails saying why.
func TestSubRunBudget(t *testing.T) {
	for _, max := range []int{0, 7} {
		f := newFixture(t, nil, journal.Policy{})
		f.svc = runs.New(runs.Config{Store: f.store, MaxSubRuns: max, Host: "test-host", PID: os.Getpid(),
			Actions: func(sub core.RunFunc) *actions.Registry {
				reg := actions.NewRegistry()
				if err := reg.Register(core.Actions(clockwork.NewRealClock(), sub)...); err != nil {
					t.Fatal(err)
				}
				return reg
			},
			Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
				return runbooks.ResolveName(name, []string{f.dir})
			}})
		res, err := f.start(f.runbook("fork", forkRunbook), "ana", nil)
		if err != nil {
			t.Fatal(err)
		}
		want := max
		if want == 0 {
			want = engine.DefaultMaxSubRuns
		}
		all, err := listRuns(f.svc, runs.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(all) - 1; n != want {
			t.Errorf("max %d: %d sub-runs, want %d", max, n, want)
		}
		if res.Status != engine.StatusFailed || res.Error == nil ||
			!strings.Contains(res.Error.Message, fmt.Sprintf("this run has started %d sub-runs, all levels together, the most one run may", want)) {
			t.Errorf("max %d: %s %+v", max, res.Status, res.Error)
		}
	}
}

// TestSubRunHonoursStepTimeout: a core.runbook step stops at its timeout:
// its sub-run is cancelled, and the step fails as a timeout.
func TestSubRunHonoursStepTimeout(t *testing.T) {
	f := newFixture(t, nil, journal.Policy{})
	f.runbook("sleeper", "version: 1\nname: sleeper\nsteps:\n  - id: zz\n    action: core.sleep\n    with: {duration: 1h}\n")
	res, err := f.start(f.runbook("caller", `version: 1
name: caller
steps:
  - id: sub
    timeout: 100ms
    action: core.runbook
    with: {name: sleeper}
`), "ana", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Step("sub", engine.PhaseMain).Error
	if res.Status != engine.StatusFailed || e == nil || e.Code != actions.CodeTimeout {
		t.Fatalf("%s %+v", res.Status, e)
	}
}
