package schedule_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/engine/schedule"
	"github.com/stewardhq/steward/runbooks"
	"go.uber.org/goleak"
)

// The scheduler starts goroutines (gocron, fired runs, buffered fires,
// the folder watcher): none may outlive the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fixture is a run service on a real SQLite store, a runbook folder and a
// fake clock; scheduler() makes schedulers over them (several for a
// restart or two replicas).
type fixture struct {
	t     *testing.T
	dir   string
	store journal.Store
	clock *clockwork.FakeClock
	svc   *runs.Service

	mu    sync.Mutex
	fires []fire // what Observe was told, by every scheduler
	seen  chan struct{}
}

type fire struct {
	name    string
	slot    time.Time
	outcome string
}

func newFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), clock: clockwork.NewFakeClockAt(start), seen: make(chan struct{}, 10000)}
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.store = s
	f.svc = runs.New(runs.Config{
		Store: s,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(f.clock, sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, []string{f.dir})
		},
		Clock: f.clock,
		Host:  "test-host",
		PID:   os.Getpid(),
	})
	return f
}

// runbook writes a runbook file into the folder.
func (f *fixture) runbook(name, src string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, name+".yaml"), []byte(src), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// scheduled is a runbook with one schedule and a step of core.log.
func scheduled(name, cron, tz, extra string) string {
	return "version: 1\nname: " + name + "\nschedule:\n  - cron: \"" + cron + "\"\n    timezone: " + tz + "\n" + extra +
		"steps:\n  - id: hello\n    action: core.log\n    with: {message: hi}\n"
}

// waiting is a runbook whose run waits for an approval.
func waiting(name, cron, extra string) string {
	return "version: 1\nname: " + name + "\nschedule:\n  - cron: \"" + cron + "\"\n" + extra +
		"steps:\n  - id: ask\n    approval: {message: \"Go?\"}\n    action: core.log\n    with: {message: go}\n"
}

func (f *fixture) config() schedule.Config {
	return schedule.Config{Runs: f.svc, Store: f.store, Folders: []string{f.dir}, Clock: f.clock, NoWatch: true,
		Observe: func(name string, slot, _ time.Time, outcome string) {
			f.mu.Lock()
			f.fires = append(f.fires, fire{name, slot.UTC(), outcome})
			f.mu.Unlock()
			f.seen <- struct{}{}
		}}
}

// scheduler starts a scheduler; it is stopped at the end of the test
// unless the test stops it.
func (f *fixture) scheduler(edit func(*schedule.Config)) *schedule.Scheduler {
	f.t.Helper()
	cfg := f.config()
	if edit != nil {
		edit(&cfg)
	}
	s, err := schedule.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// timerClock is the fixture's clock as one scheduler sees it, telling of
// each timer gocron sets (AfterFunc: a job's next slot) once it is set.
// gocron sets the next timer of a job that ran before running it, but
// that of a job a scheduler that does not lead skipped after asking the
// elector, in the background: the clock moved to the next slot before
// that timer is set would miss it (gocron counts its delay from the
// clock as it reads it, then sets the timer from the clock as it is).
type timerClock struct {
	clockwork.Clock
	set chan struct{}
}

func newTimerClock(c clockwork.Clock) *timerClock {
	return &timerClock{Clock: c, set: make(chan struct{}, 1000)}
}

func (c *timerClock) AfterFunc(d time.Duration, f func()) clockwork.Timer {
	t := c.Clock.AfterFunc(d, f)
	c.set <- struct{}{}
	return t
}

// waitSet waits until the scheduler sets a timer (real time bounds the
// wait, never an assertion).
func (c *timerClock) waitSet(t *testing.T) {
	t.Helper()
	select {
	case <-c.set:
	case <-time.After(20 * time.Second):
		t.Fatal("the scheduler set no timer")
	}
}

// observed returns how many slots Observe was told of.
func (f *fixture) observed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.fires)
}

// advanceTo moves the clock to at, then waits until Observe was told of
// want slots in all (real time bounds the wait, never an assertion).
func (f *fixture) advanceTo(at time.Time, want int) {
	f.t.Helper()
	if d := at.Sub(f.clock.Now()); d > 0 {
		f.clock.Advance(d)
	}
	f.waitObserved(want)
}

// waitSeen waits a moment for Observe (real time, at most 50ms: a wait,
// never an assertion).
func (f *fixture) waitSeen() {
	select {
	case <-f.seen:
	case <-time.After(50 * time.Millisecond):
	}
}

// slotsFired returns the slots of a schedule that started a run, sorted.
func (f *fixture) slotsFired(name string) []string { return fired(f.slots(name)) }

func (f *fixture) waitObserved(want int) {
	f.t.Helper()
	deadline := time.After(20 * time.Second)
	for f.observed() < want {
		select {
		case <-f.seen:
		case <-deadline:
			f.t.Fatalf("Observe was told of %d slots; want %d: %v", f.observed(), want, f.fires)
		}
	}
}

// slotRun is a run (or a skipped slot) the journal records for a
// schedule's slot.
type slotRun struct {
	run     journal.Run
	trigger journal.Trigger
	reason  string // of a skipped slot
}

// slots returns what the journal records of a schedule, by slot (UTC
// RFC 3339), each slot's runs in order: fires and skipped slots.
func (f *fixture) slots(name string) map[string][]slotRun {
	f.t.Helper()
	out := map[string][]slotRun{}
	err := f.store.Runs(context.Background(), journal.Filter{}, func(r journal.Run) error {
		var sr slotRun
		sr.run = r
		return f.store.Records(context.Background(), r.ID, time.Time{}, func(rec journal.Record) error {
			var d journal.Data
			if err := json.Unmarshal(rec.Data, &d); err != nil {
				return err
			}
			switch {
			case rec.Type == string(engine.RunStarted) && d.Origin != nil && d.Origin.Trigger != nil && d.Origin.Trigger.Name == name:
				sr.trigger = *d.Origin.Trigger
				if d.Change == nil && r.Runbook != "steward.schedule" {
					k := sr.trigger.Slot.UTC().Format(time.RFC3339)
					out[k] = append(out[k], sr)
				}
			case rec.Type == journal.ChangeRecorded && sr.trigger.Name == name && d.Change.Kind == schedule.KindSkipped:
				sr.reason, _ = d.Change.Details["reason"].(string)
				k := sr.trigger.Slot.UTC().Format(time.RFC3339)
				out[k] = append(out[k], sr)
			}
			return nil
		})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// fired returns the slots of a schedule that started a run, sorted.
func fired(m map[string][]slotRun) []string {
	var out []string
	for k, rs := range m {
		for _, r := range rs {
			if r.reason == "" {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// skipped returns the skipped slots of a schedule with their reasons.
func skipped(m map[string][]slotRun) map[string]string {
	out := map[string]string{}
	for k, rs := range m {
		for _, r := range rs {
			if r.reason != "" {
				out[k] = r.reason
			}
		}
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
