package runbooks

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stewardhq/steward/schema"
)

// TestAccessReviewSchedule: the bundled access-review declares its weekly
// run for steward serve: Mondays at 09:00 in Lisbon, whatever the season
// (09:00 is 09:00Z in winter and 08:00Z in summer), with the GitHub issue
// report; by hand it runs with the defaults.
func TestAccessReviewSchedule(t *testing.T) {
	doc, err := Resolve("access-review", nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, diags := schema.Load(doc.File, doc.Src)
	if len(diags) > 0 {
		t.Fatal(diags.Render())
	}
	if len(rb.Schedule) != 1 {
		t.Fatalf("schedules: %d", len(rb.Schedule))
	}
	s := rb.Schedule[0]
	if s.Timezone != "Europe/Lisbon" || s.Location == nil || s.Location.String() != "Europe/Lisbon" {
		t.Fatalf("timezone %q %v", s.Timezone, s.Location)
	}
	// The parser gocron v2 uses for CronJob(spec, true).
	p := cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	sched, err := p.Parse("CRON_TZ=" + s.Timezone + " " + s.Cron)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ after, want string }{
		{"2026-11-21T12:00:00Z", "2026-11-23T09:00:00Z"}, // a Saturday in winter (WET, UTC+0)
		{"2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"}, // one week later
		{"2026-07-01T00:00:00Z", "2026-07-06T08:00:00Z"}, // summer (WEST, UTC+1)
	} {
		after, _ := time.Parse(time.RFC3339, tc.after)
		if got := sched.Next(after).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("after %s: next %s, want %s", tc.after, got, tc.want)
		}
		if got := sched.Next(after).In(s.Location); got.Weekday() != time.Monday || got.Hour() != 9 || got.Minute() != 0 {
			t.Errorf("after %s: %s is not Monday 09:00 in Lisbon", tc.after, got)
		}
	}
	if s.Inputs == nil || len(s.Inputs.Fields) != 1 || s.Inputs.Fields[0].Key != "report" {
		t.Errorf("schedule inputs: %+v", s.Inputs)
	}
	for _, in := range rb.Inputs {
		if in.Required {
			t.Errorf("input %s is required: the review must run by hand with no inputs", in.Name)
		}
	}
}
