package schedule

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSlotsLisbonDST: the slots of 01:30 daily and of every 15 minutes
// across Europe/Lisbon's 2027 transitions. Spring forward (28 March, 01:00
// UTC: 01:00 WET becomes 02:00 WEST): 01:30 does not exist and fires once
// at the transition; the quarter hours of the gap and 02:00 are the same
// instant, one slot. Fall back (31 October, 01:00 UTC: 02:00 WEST becomes
// 01:00 WET): 01:30 happens twice and fires at its first occurrence; the
// repeated quarter hours fire once.
func TestSlotsLisbonDST(t *testing.T) {
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec, from, to string
		want           []string
	}{
		{"30 1 * * *", "2027-03-26T12:00:00Z", "2027-03-29T12:00:00Z", []string{
			"2027-03-27T01:30:00Z", // 01:30 WET
			"2027-03-28T01:00:00Z", // 01:30 does not exist: the transition, 02:00 WEST
			"2027-03-29T00:30:00Z", // 01:30 WEST
		}},
		{"30 1 * * *", "2027-10-29T12:00:00Z", "2027-11-01T12:00:00Z", []string{
			"2027-10-30T00:30:00Z", // 01:30 WEST
			"2027-10-31T00:30:00Z", // the first 01:30 (WEST); not 01:30Z (WET)
			"2027-11-01T01:30:00Z", // 01:30 WET
		}},
		{"*/15 * * * *", "2027-03-28T00:20:00Z", "2027-03-28T01:35:00Z", []string{
			"2027-03-28T00:30:00Z", // 00:30 WET
			"2027-03-28T00:45:00Z",
			"2027-03-28T01:00:00Z", // 01:00..01:45 (gap) and 02:00 WEST: one slot
			"2027-03-28T01:15:00Z", // 02:15 WEST
			"2027-03-28T01:30:00Z",
		}},
		{"*/15 * * * *", "2027-10-30T23:50:00Z", "2027-10-31T02:20:00Z", []string{
			"2027-10-31T00:00:00Z", // 01:00 WEST
			"2027-10-31T00:15:00Z",
			"2027-10-31T00:30:00Z",
			"2027-10-31T00:45:00Z", // 01:45 WEST; 01:00..01:45 WET do not fire again
			"2027-10-31T02:00:00Z", // 02:00 WET
			"2027-10-31T02:15:00Z",
		}},
	} {
		s, err := NewSlots(tc.spec, lisbon)
		if err != nil {
			t.Fatal(err)
		}
		got, total := s.Between(utc(tc.from), utc(tc.to), 100, 1000)
		if total != len(tc.want) {
			t.Errorf("%s from %s: %d slots %v; want %v", tc.spec, tc.from, total, got, tc.want)
			continue
		}
		for i, g := range got {
			if g.UTC().Format(time.RFC3339) != tc.want[i] {
				t.Errorf("%s from %s: slot %d is %s; want %s", tc.spec, tc.from, i, g.UTC().Format(time.RFC3339), tc.want[i])
			}
		}
		// Whenever a process looks, from any instant between two slots,
		// the next slot is the same.
		for i := 1; i < len(got); i++ {
			for at := got[i-1]; at.Before(got[i]); at = at.Add(7 * time.Minute) {
				if n := s.Next(at); !n.Equal(got[i]) {
					t.Errorf("%s: next after %s is %s; want %s", tc.spec, at.UTC(), n.UTC(), got[i].UTC())
				}
			}
		}
	}
}
