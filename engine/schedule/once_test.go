package schedule_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/schedule"
)

// minutes returns the slots of a per-minute cron after from, up to to.
func minutes(from, to time.Time) []string {
	var out []string
	for t := from.Truncate(time.Minute).Add(time.Minute); !t.After(to); t = t.Add(time.Minute) {
		out = append(out, t.UTC().Format(time.RFC3339))
	}
	return out
}

// checkOnce fails unless every slot of want is recorded exactly once for
// the schedule (fired or skipped) and no other slot is.
func checkOnce(t *testing.T, f *fixture, name string, want []string) {
	t.Helper()
	got := f.slots(name)
	for _, s := range want {
		if n := len(got[s]); n != 1 {
			t.Errorf("%s: slot %s recorded %d times; want once", name, s, n)
		}
	}
	for s := range got {
		if !slices.Contains(want, s) {
			t.Errorf("%s: slot %s recorded; not a slot of the range", name, s)
		}
	}
}

// TestEachSlotOnceAcrossRestart: a scheduler fires two slots and stops; a
// new one on the same store, started within the same minute, does not
// fire them again; the slots that come next fire once.
func TestEachSlotOnceAcrossRestart(t *testing.T) {
	start := at("2027-01-04T08:59:30Z")
	f := newFixture(t, start)
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	a := f.scheduler(nil)
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	f.advanceTo(at("2027-01-04T09:01:00Z"), 2)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * time.Second)
	f.scheduler(nil) // catches up from 09:01: nothing missed
	f.advanceTo(at("2027-01-04T09:02:00Z"), 3)
	f.advanceTo(at("2027-01-04T09:03:00Z"), 4)
	want := minutes(start, at("2027-01-04T09:03:00Z"))
	checkOnce(t, f, "tick", want)
	if fs := fired(f.slots("tick")); !slices.Equal(fs, want) {
		t.Errorf("fired %v; want %v", fs, want)
	}
}

// TestTwoSchedulersOneStore: two schedulers on the same store at once (two
// replicas, an old leader and a new one) fire each slot once: the second
// to claim a slot's key is told it is a duplicate and runs nothing.
func TestTwoSchedulersOneStore(t *testing.T) {
	start := at("2027-01-04T08:59:30Z")
	f := newFixture(t, start)
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"))
	f.scheduler(nil)
	f.scheduler(nil)
	end := at("2027-01-04T09:04:00Z")
	for i, t := 1, start.Truncate(time.Minute).Add(time.Minute); !t.After(end); i, t = i+1, t.Add(time.Minute) {
		f.advanceTo(t, 2*i) // each scheduler handles each slot
	}
	want := minutes(start, end)
	checkOnce(t, f, "tick", want)
	outcomes := map[string]int{}
	for _, fi := range f.fires {
		outcomes[fi.outcome]++
	}
	if outcomes[schedule.OutcomeStarted] != len(want) || outcomes[schedule.OutcomeDuplicate] != len(want) {
		t.Errorf("outcomes %v; want %d started and %d duplicates", outcomes, len(want), len(want))
	}
}

// TestCatchupNoneOneSlot: with catchup: none, even a single slot missed
// while the scheduler was down is skipped, not fired.
func TestCatchupNoneOneSlot(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    catchup: none\n"))
	a := f.scheduler(nil)
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(70 * time.Second) // down over 09:01
	f.scheduler(nil)
	f.waitObserved(2)
	if why := skipped(f.slots("tick"))["2027-01-04T09:01:00Z"]; why != "missed: catchup is none" {
		t.Errorf("09:01 skipped %q; want missed: catchup is none", why)
	}
}

// TestCatchup: after downtime, the slots missed since the latest recorded
// slot are fired per the schedule's catchup policy, within the window and
// the cap; every other missed slot is recorded as skipped with its
// reason, and can then never fire.
func TestCatchup(t *testing.T) {
	for _, tc := range []struct {
		catchup string
		window  time.Duration
		max     int
		fired   []string // of the missed slots 09:01 .. 09:10
		reason  string   // of the other missed slots
	}{
		{"none", 0, 0, nil, "missed: catchup is none"},
		{"latest", 0, 0, []string{"09:10"}, "missed: catchup is latest, a later slot fires"},
		{"all", 0, 0, []string{"09:01", "09:02", "09:03", "09:04", "09:05", "09:06", "09:07", "09:08", "09:09", "09:10"}, ""},
		{"all", 0, 3, []string{"09:08", "09:09", "09:10"}, "missed: catchup fires at most 3 slots (schedules.catchup_max)"},
		{"all", 4*time.Minute + 30*time.Second, 0, []string{"09:06", "09:07", "09:08", "09:09", "09:10"}, "missed: older than the catch-up window (4m30s)"},
		{"latest", 10 * time.Second, 0, nil, "missed: older than the catch-up window (10s)"},
	} {
		t.Run(fmt.Sprintf("%s window %s max %d", tc.catchup, tc.window, tc.max), func(t *testing.T) {
			start := at("2027-01-04T08:59:30Z")
			f := newFixture(t, start)
			f.runbook("tick", scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n    catchup: "+tc.catchup+"\n"))
			edit := func(c *schedule.Config) { c.CatchupWindow, c.CatchupMax = tc.window, tc.max }
			a := f.scheduler(edit)
			f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
			if err := a.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(10*time.Minute + 15*time.Second) // down from 09:00 to 09:10:15
			f.scheduler(edit)
			f.waitObserved(11)
			var want []string
			for _, m := range tc.fired {
				want = append(want, "2027-01-04T"+m+":00Z")
			}
			got := f.slots("tick")
			missed := minutes(at("2027-01-04T09:00:00Z"), f.clock.Now())
			checkOnce(t, f, "tick", append([]string{"2027-01-04T09:00:00Z"}, missed...))
			var fs []string
			for _, s := range fired(got) {
				if s != "2027-01-04T09:00:00Z" {
					fs = append(fs, s)
				}
			}
			if !slices.Equal(fs, want) {
				t.Errorf("caught up %v; want %v", fs, want)
			}
			sk := skipped(got)
			if len(sk)+len(fs) != len(missed) {
				t.Errorf("%d skipped + %d fired; want %d missed slots", len(sk), len(fs), len(missed))
			}
			for slot, why := range sk {
				if why != tc.reason {
					t.Errorf("slot %s skipped because %q; want %q", slot, why, tc.reason)
				}
			}
			// A skipped slot can never fire: its key is held.
			for slot := range sk {
				if !strings.HasPrefix(slot, "2027-01-04T09:") {
					t.Errorf("skipped slot %s", slot)
				}
			}
		})
	}
}
