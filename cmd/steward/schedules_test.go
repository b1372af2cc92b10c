package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/engine/schedule"
	"github.com/stewardhq/steward/runbooks"
)

// TestSchedulesCommand: steward schedules lists the schedules of the
// runbooks in steward.yaml's folders (not the bundled ones), each with its
// next slot, pause state and last fire as the local journal records them,
// as a table and as one JSON document; a runbook with schedules that
// cannot run is named on stderr and not listed; a bad -o is a usage error.
func TestSchedulesCommand(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	env := []string{"TZ=UTC"}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "runbooks: [books]\n")
	writeFile(t, filepath.Join(dir, "books", "review.yaml"), `version: 1
name: review
schedule:
  - cron: "0 9 * * MON"
    timezone: Europe/Lisbon
    overlap: buffer_one
  - cron: "*/10 * * * *"
    catchup: all
steps:
  - id: a
    action: core.log
    with: {message: hi}
`)
	// Broken, but with no schedule: not steward schedules' business.
	writeFile(t, filepath.Join(dir, "books", "noise.yaml"), "version: 1\nname: noise\nsteps:\n  - id: a\n    action: core.nope\n")
	writeFile(t, filepath.Join(dir, "books", "broken.yaml"), "version: 1\nname: broken\nschedule:\n  - cron: \"0 9 * * *\"\nsteps:\n  - id: a\n    action: core.nope\n")
	// Valid, but its plugin is not installed here: said so, not "invalid".
	writeFile(t, filepath.Join(dir, "books", "unplugged.yaml"), "version: 1\nname: unplugged\nschedule:\n  - cron: \"0 9 * * *\"\nsteps:\n  - id: a\n    action: nowhere.act\n")

	r := homeRun(t, dir, home, env, "schedules")
	wantCode(t, r, 0, "schedules")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SCHEDULE  CRON") ||
		!strings.HasPrefix(lines[1], "review/0  0 9 * * MON   Europe/Lisbon  active  ") ||
		!strings.HasPrefix(lines[2], "review/1  */10 * * * *  UTC            active  ") || !strings.HasSuffix(lines[2], "-     -    -") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "runbook broken: runbook is invalid; not scheduled\nbooks/broken.yaml:7:13: steps[0].action: unknown built-in action \"core.nope\"") {
		t.Errorf("stderr does not name the broken runbook: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, "runbook unplugged: runbook uses a plugin that is not installed; not scheduled\n") {
		t.Errorf("stderr does not say why unplugged is not scheduled: %s", r.stderr)
	}
	if strings.Contains(r.stderr, "noise") {
		t.Errorf("stderr names a runbook with no schedule: %s", r.stderr)
	}

	// Pause one and fire it by hand, as steward serve would (the same
	// package, on the same home).
	pauseAndFire(t, home, filepath.Join(dir, "books"))

	r = homeRun(t, dir, home, env, "schedules", "-o", "json")
	wantCode(t, r, 0, "schedules -o json")
	var list []schedule.Status
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(list) != 2 || !list[0].Paused || list[0].PausedBy != "ana" || list[0].Last == nil ||
		list[0].Last.Outcome != "succeeded" || !list[0].Last.Manual || list[1].Catchup != "all" || list[1].Next.IsZero() {
		t.Fatalf("json: %s", r.stdout)
	}
	r = homeRun(t, dir, home, env, "schedules")
	if !strings.Contains(r.stdout, "paused by ana") || !strings.Contains(r.stdout, list[0].Last.RunID+"  succeeded (fired by hand)") {
		t.Errorf("table after the pause and fire:\n%s", r.stdout)
	}

	r = homeRun(t, dir, home, env, "schedules", "-o", "yaml")
	wantCode(t, r, 2, "schedules -o yaml")
	if !strings.Contains(r.stderr, `unknown output format "yaml"`) {
		t.Errorf("stderr: %s", r.stderr)
	}
	r = homeRun(t, t.TempDir(), home, env, "schedules")
	wantCode(t, r, 0, "no schedules")
	if r.stdout != "" || !strings.Contains(r.stderr, "no schedules") {
		t.Errorf("no schedules: %q %q", r.stdout, r.stderr)
	}
}

func pauseAndFire(t *testing.T, home, books string) {
	t.Helper()
	store, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{Store: store, Clock: clock, Host: "test", PID: os.Getpid(),
		Actions: func(sub core.RunFunc) *actions.Registry { return builtins(clock, sub) },
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, []string{books})
		}})
	s, err := schedule.New(schedule.Config{Runs: svc, Store: store, Folders: []string{books}, NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Pause(ctx, "review/0", "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Fire(ctx, "review/0", "bruno"); err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Stop(stop); err != nil {
		t.Fatal(err)
	}
}
