package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/schedule"
)

func listed(t *testing.T, s *schedule.Scheduler) map[string]schedule.Status {
	t.Helper()
	list, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]schedule.Status{}
	for _, st := range list {
		out[st.Name] = st
	}
	return out
}

// TestReload: Reload schedules a new runbook's schedules (named RUNBOOK/N
// when it has several), reschedules a changed cron, keeps the schedule of
// a runbook an edit made invalid, and drops a removed runbook's.
func TestReload(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	s := f.scheduler(nil)
	ctx := context.Background()
	f.runbook("two", "version: 1\nname: two\nschedule:\n  - cron: \"0 9 * * *\"\n  - cron: \"0 17 * * *\"\n    timezone: Europe/Lisbon\nsteps:\n  - id: a\n    action: core.log\n    with: {message: hi}\n")
	f.runbook("tick", scheduled("tick", "*/2 * * * *", "UTC", "    overlap: allow\n"))
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	got := listed(t, s)
	if len(got) != 3 || got["two/0"].Cron != "0 9 * * *" || got["two/1"].Timezone != "Europe/Lisbon" || got["tick"].Cron != "*/2 * * * *" {
		t.Fatalf("after adding and editing: %+v", got)
	}
	// The new cron drives the next fire: 09:00 then 09:02, not 09:01.
	f.advanceTo(at("2027-01-04T09:00:00Z"), 2) // tick and two/0
	f.clock.Advance(time.Minute)
	f.advanceTo(at("2027-01-04T09:02:00Z"), 3)
	if fs := fired(f.slots("tick")); len(fs) != 2 || fs[1] != "2027-01-04T09:02:00Z" {
		t.Errorf("tick fired %v; want 09:00 and 09:02", fs)
	}
	// An invalid edit keeps the schedule as it was.
	f.runbook("tick", "version: 1\nname: tick\nschedule:\n  - cron: \"*/5 * * * *\"\nsteps:\n  - id: a\n    action: core.nope\n")
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); got["tick"].Cron != "*/2 * * * *" {
		t.Errorf("after an invalid edit: %+v", got["tick"])
	}
	// So does one that is not even YAML any more.
	f.runbook("tick", "version: 1\nname: tick\nschedule: [\n")
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); got["tick"].Cron != "*/2 * * * *" {
		t.Errorf("after a broken edit: %+v", got["tick"])
	}
	if err := os.Remove(filepath.Join(f.dir, "two.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, s); len(got) != 1 {
		t.Errorf("after removing two: %+v", got)
	}
}

// TestWatchReloads: a file written into a runbook folder, or into a
// folder made in it later, is scheduled without a call to Reload
// (fsnotify, debounced), on the real clock.
func TestWatchReloads(t *testing.T) {
	f := newFixture(t, time.Now())
	cfg := f.config()
	cfg.Clock, cfg.NoWatch, cfg.Debounce = clockwork.NewRealClock(), false, 20*time.Millisecond
	s, err := schedule.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	f.runbook("weekly", scheduled("weekly", "0 9 * * MON", "Europe/Lisbon", ""))
	deadline := time.Now().Add(20 * time.Second)
	for len(listed(t, s)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new runbook's schedule was not loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := listed(t, s)["weekly"]; st.Cron != "0 9 * * MON" || st.Next.In(time.UTC).Weekday() != time.Monday {
		t.Errorf("weekly: %+v", st)
	}
	sub := filepath.Join(f.dir, "team")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	src := scheduled("nightly", "0 2 * * *", "UTC", "")
	if err := os.WriteFile(filepath.Join(sub, "nightly.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for len(listed(t, s)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the runbook in the new folder was not loaded: %v", listed(t, s))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
