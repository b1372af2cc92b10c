package schedule

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// parser reads cron specs as gocron's CronJob(spec, true) does: 5 fields,
// or 6 with seconds first, and descriptors such as @daily (schema.checkCron
// accepts the same).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Slots are the instants a cron spec names in an IANA time zone.
//
// The spec is matched against wall-clock times (the local date and time in
// the zone, with no offset). A wall time W names the slot
//
//	the first instant whose wall time in the zone is W or later.
//
// So a slot's identity depends only on the spec, the zone and the slot,
// never on when a process looks, and daylight saving time is decided:
//   - spring forward: a wall time that does not exist (01:30 in Lisbon on
//     28 March 2027, when 01:00 WET jumps to 02:00 WEST) names the instant
//     of the transition (01:00 UTC); several such wall times, and the wall
//     time at the end of the gap, name that one instant, which fires once;
//   - fall back: a wall time that happens twice (01:30 in Lisbon on
//     31 October 2027) names its first occurrence (00:30 UTC); the second
//     pass of the repeated hour names no slot.
//
// Slots implements gocron.Cron, so that gocron wakes the scheduler at
// exactly these instants.
type Slots struct {
	spec  string
	loc   *time.Location
	sched cron.Schedule // over wall times, read as UTC
}

// NewSlots parses spec in loc.
func NewSlots(spec string, loc *time.Location) (*Slots, error) {
	s := &Slots{loc: loc}
	if err := s.IsValid(spec, loc, time.Time{}); err != nil {
		return nil, err
	}
	return s, nil
}

// IsValid parses spec (gocron.Cron). The zone is the one NewSlots was
// given, whatever gocron's location is.
func (s *Slots) IsValid(spec string, _ *time.Location, _ time.Time) error {
	if s.sched != nil && spec == s.spec {
		return nil // parsed by NewSlots; gocron checks again
	}
	sched, err := parser.Parse("CRON_TZ=UTC " + spec)
	if err != nil {
		return fmt.Errorf("schedule: invalid cron spec %q: %w", spec, err)
	}
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fmt.Errorf("schedule: cron spec %q never fires", spec)
	}
	s.spec, s.sched = spec, sched
	return nil
}

// Next returns the first slot strictly after t, in the zone (gocron.Cron);
// zero when there is none.
func (s *Slots) Next(t time.Time) time.Time {
	w := wall(t, s.loc)
	for range 1 << 20 {
		w = s.sched.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		// A wall time whose slot is not after t: the second pass of a
		// repeated hour, or a gap's wall times already fired at the
		// transition.
		if at := s.slot(w); at.After(t) {
			return at.In(s.loc)
		}
	}
	return time.Time{}
}

// Between returns the slots in (from, to], oldest first, at most max of
// them (the newest max when there are more), and how many there are in
// all, counting up to limit.
func (s *Slots) Between(from, to time.Time, max, limit int) (slots []time.Time, total int) {
	for t := s.Next(from); !t.IsZero() && !t.After(to) && total < limit; t = s.Next(t) {
		total++
		slots = append(slots, t)
		if len(slots) > max {
			slots = slots[1:]
		}
	}
	return slots, total
}

// wall is t's wall time in loc, as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// slot is the first instant whose wall time in the zone is w or later.
func (s *Slots) slot(w time.Time) time.Time {
	c := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), s.loc)
	start, end := c.ZoneBounds()
	got := wall(c, s.loc)
	switch {
	case got.Before(w):
		// In a gap, read with the offset before it: the transition.
		return end
	case got.After(w):
		// In a gap, read with the offset after it.
		return start
	}
	// w exists; an earlier occurrence, in the zone period before c's,
	// is the first.
	first := c
	if !start.IsZero() {
		_, off := start.Add(-time.Second).In(s.loc).Zone()
		if e := w.Add(-time.Duration(off) * time.Second); e.Before(first) && wall(e, s.loc).Equal(w) {
			first = e
		}
	}
	return first
}
