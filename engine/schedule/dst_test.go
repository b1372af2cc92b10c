package schedule_test

import (
	"slices"
	"testing"
	"time"
)

// TestDSTLisbon2027: on a fake clock across Europe/Lisbon's 2027
// transitions, 01:30 daily and every 15 minutes fire the slots
// docs/schedules.md promises, each once: on 28 March (01:00 UTC, 01:00 WET
// becomes 02:00 WEST) 01:30 does not exist and fires once right at the
// transition, as do the quarter hours of the gap; on 31 October (01:00 UTC,
// 02:00 WEST becomes 01:00 WET) 01:30 fires at its first occurrence only,
// and the repeated quarter hours fire once.
func TestDSTLisbon2027(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		daily, quarter []string
	}{
		{"spring forward", "2027-03-28T00:20:00Z", "2027-03-28T02:20:00Z",
			[]string{"2027-03-28T01:00:00Z"},
			[]string{"2027-03-28T00:30:00Z", "2027-03-28T00:45:00Z", "2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z",
				"2027-03-28T01:30:00Z", "2027-03-28T01:45:00Z", "2027-03-28T02:00:00Z", "2027-03-28T02:15:00Z"}},
		{"fall back", "2027-10-30T23:50:00Z", "2027-10-31T02:20:00Z",
			[]string{"2027-10-31T00:30:00Z"},
			[]string{"2027-10-31T00:00:00Z", "2027-10-31T00:15:00Z", "2027-10-31T00:30:00Z", "2027-10-31T00:45:00Z",
				"2027-10-31T02:00:00Z", "2027-10-31T02:15:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, at(tc.from))
			f.runbook("daily", scheduled("daily", "30 1 * * *", "Europe/Lisbon", "    overlap: allow\n"))
			f.runbook("quarter", scheduled("quarter", "*/15 * * * *", "Europe/Lisbon", "    overlap: allow\n"))
			f.scheduler(nil)
			want := len(tc.daily) + len(tc.quarter)
			n := 0
			for now := at(tc.from); !now.After(at(tc.to)); now = now.Add(5 * time.Minute) {
				for _, s := range slices.Concat(tc.daily, tc.quarter) {
					if !at(s).After(now) && at(s).After(now.Add(-5*time.Minute)) {
						n++
					}
				}
				f.advanceTo(now, n)
			}
			if n != want {
				t.Fatalf("expected %d slots in the range, counted %d", want, n)
			}
			for name, slots := range map[string][]string{"daily": tc.daily, "quarter": tc.quarter} {
				got := f.slots(name)
				if fs := fired(got); !slices.Equal(fs, slots) {
					t.Errorf("%s fired %v; want %v", name, fs, slots)
				}
				for slot, rs := range got {
					if len(rs) != 1 {
						t.Errorf("%s slot %s recorded %d times", name, slot, len(rs))
					}
				}
			}
		})
	}
}
