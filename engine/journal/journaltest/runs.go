package journaltest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testRuns(t *testing.T) {
	t.Run("Empty", x.runsEmpty)
	t.Run("Filter", x.runsFilter)
	t.Run("IDPrefix", x.runsIDPrefix)
}

func (x *suite) runsEmpty(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	if runs := listRuns(t, s, journal.Filter{}); len(runs) != 0 {
		t.Fatalf("an empty store lists %+v", runs)
	}
	if _, err := s.Run(ctx, "nope"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Run(nope): %v", err)
	}
}

// Runs lists the summaries a filter selects, newest first by started_at,
// then by id (the greater first), up to the limit; Run finds one.
func (x *suite) runsFilter(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	a := journal.Run{ID: "a", Runbook: "deploy", Version: "v1", Actor: "ann", Status: "succeeded",
		StartedAt: minute(0), UpdatedAt: minute(5), FinishedAt: minute(5), Host: "h", PID: 1}
	b := journal.Run{ID: "b", Runbook: "backup", Status: "running", DryRun: true, StartedAt: minute(1), UpdatedAt: minute(1)}
	c := journal.Run{ID: "c", Runbook: "deploy", Status: "running", Parent: "a", StartedAt: minute(1), UpdatedAt: minute(2)}
	d := journal.Run{ID: "d", Runbook: "deploy", Status: "waiting", StartedAt: minute(2), UpdatedAt: minute(2)}
	for _, r := range []journal.Run{c, a, d, b} { // not in any order
		start(t, s, r)
	}
	// A summary replaced is listed as it is now.
	d.Status, d.UpdatedAt = "failed", minute(3)
	mustAppend(t, other, journal.Batch{RunID: "d", Run: &d})

	for _, tc := range []struct {
		name string
		f    journal.Filter
		want []journal.Run
	}{
		{"all", journal.Filter{}, []journal.Run{d, c, b, a}},
		{"limit", journal.Filter{Limit: 2}, []journal.Run{d, c}},
		{"runbook", journal.Filter{Runbook: "deploy"}, []journal.Run{d, c, a}},
		{"status", journal.Filter{Status: "running"}, []journal.Run{c, b}},
		{"status replaced", journal.Filter{Status: "waiting"}, nil},
		{"since, inclusive", journal.Filter{Since: minute(1)}, []journal.Run{d, c, b}},
		{"since", journal.Filter{Since: minute(1).Add(time.Microsecond)}, []journal.Run{d}},
		{"runbook and status", journal.Filter{Runbook: "deploy", Status: "running"}, []journal.Run{c}},
		{"runbook and limit", journal.Filter{Runbook: "deploy", Limit: 1}, []journal.Run{d}},
		{"all of them", journal.Filter{Runbook: "deploy", Status: "succeeded", Since: minute(0), Limit: 5}, []journal.Run{a}},
		{"none", journal.Filter{Runbook: "backup", Status: "failed"}, nil},
		{"actor", journal.Filter{Actor: "ann"}, []journal.Run{a}},
		{"actor, none", journal.Filter{Actor: "bob"}, nil},
		{"after, same start", journal.Filter{After: &journal.RunPosition{StartedAt: minute(1), ID: "c"}}, []journal.Run{b, a}},
		{"after", journal.Filter{After: &journal.RunPosition{StartedAt: minute(2), ID: "d"}, Limit: 2}, []journal.Run{c, b}},
		{"after a run not listed", journal.Filter{After: &journal.RunPosition{StartedAt: minute(1), ID: "bb"}}, []journal.Run{b, a}},
		{"after and runbook", journal.Filter{Runbook: "deploy", After: &journal.RunPosition{StartedAt: minute(1), ID: "c"}}, []journal.Run{a}},
	} {
		for i, h := range []journal.Store{s, other} {
			got := listRuns(t, h, tc.f)
			if len(got) != 0 || len(tc.want) != 0 {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s, handle %d: Runs(%+v) =\n %+v\nwant\n %+v", tc.name, i, tc.f, got, tc.want)
				}
			}
		}
	}
	for _, r := range []journal.Run{a, b, c, d} {
		if got, err := other.Run(ctx, r.ID); err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("Run(%s) = %+v, %v\nwant %+v", r.ID, got, err, r)
		}
	}
	if _, err := other.Run(ctx, "e"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Errorf("Run(e): %v", err)
	}
}

// Filter.IDPrefix selects the runs whose id starts with the prefix or has
// it right after a dash, with no wildcard and case counting, alone or
// with the other fields.
func (x *suite) runsIDPrefix(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	run := func(id, runbook string, m int) journal.Run {
		return journal.Run{ID: id, Runbook: runbook, Status: "succeeded", StartedAt: minute(m), UpdatedAt: minute(m)}
	}
	a := run("20261121-101502-3fa9c2d1", "deploy", 0)
	sub := run("20261121-101502-3fa9c2d1.notify", "notify", 1)
	b := run("20261121-101502-3fb00000", "backup", 2)
	c := run("20261122-090000-9ed06c98", "deploy", 3)
	odd := run("x%_y-Z*", "odd", 4) // wildcards of LIKE and GLOB, upper case
	for _, r := range []journal.Run{c, a, odd, sub, b} {
		start(t, s, r)
	}
	for _, tc := range []struct {
		name string
		f    journal.Filter
		want []journal.Run
	}{
		{"whole id", journal.Filter{IDPrefix: a.ID}, []journal.Run{sub, a}},
		{"start of the id", journal.Filter{IDPrefix: "20261121-1015"}, []journal.Run{b, sub, a}},
		{"start of the random part", journal.Filter{IDPrefix: "3fa9"}, []journal.Run{sub, a}},
		{"after the date", journal.Filter{IDPrefix: "101502-3fb"}, []journal.Run{b}},
		{"shared by two runs", journal.Filter{IDPrefix: "3f"}, []journal.Run{b, sub, a}},
		{"sub-run", journal.Filter{IDPrefix: "3fa9c2d1.no"}, []journal.Run{sub}},
		{"not inside a part", journal.Filter{IDPrefix: "a9c2"}, nil},
		{"not at the end", journal.Filter{IDPrefix: "c2d1"}, nil},
		{"no wildcard: %", journal.Filter{IDPrefix: "%"}, nil},
		{"no wildcard: _", journal.Filter{IDPrefix: "2026112_"}, nil},
		{"no wildcard: *", journal.Filter{IDPrefix: "*"}, nil},
		{"a wildcard character written as it is", journal.Filter{IDPrefix: "x%_"}, []journal.Run{odd}},
		{"case counts", journal.Filter{IDPrefix: "3FA9"}, nil},
		{"case counts, after a dash", journal.Filter{IDPrefix: "z*"}, nil},
		{"upper case", journal.Filter{IDPrefix: "Z*"}, []journal.Run{odd}},
		{"with runbook", journal.Filter{IDPrefix: "2026112", Runbook: "deploy"}, []journal.Run{c, a}},
		{"with limit", journal.Filter{IDPrefix: "3f", Limit: 2}, []journal.Run{b, sub}},
		{"none", journal.Filter{IDPrefix: "7"}, nil},
	} {
		for i, h := range []journal.Store{s, other} {
			got := listRuns(t, h, tc.f)
			if len(got) != 0 || len(tc.want) != 0 {
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("%s, handle %d: Runs(%+v) =\n %+v\nwant\n %+v", tc.name, i, tc.f, got, tc.want)
				}
			}
		}
	}
}
