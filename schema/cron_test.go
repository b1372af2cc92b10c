package schema

import (
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// TestCronAgreesWithGocron keeps the loader's cron check identical to what
// gocron v2 accepts for CronJob(spec, true), the call `steward serve` makes.
func TestCronAgreesWithGocron(t *testing.T) {
	gc := gocron.NewDefaultCron(true)
	now := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range []string{
		"0 9 * * MON", "*/5 * * * *", "0 0 9 * * MON-FRI", "@daily", "@every 1h", "@hourly",
		"0 25 * * *", "61 * * * *", "* * *", "0 0 30 2 *", "", "0 9 * * FUNDAY", "1 2 3 4 5 6 7",
		"0 0 29 2 *", "0 12 * JAN,JUL *", "0 0 L * *", "? * * * *", "0 9 * * 7",
	} {
		msg, _ := checkCron(spec)
		ours := msg == ""
		theirs := gc.IsValid(spec, time.UTC, now) == nil
		if ours != theirs {
			t.Errorf("cron %q: loader valid=%v (%s), gocron valid=%v", spec, ours, msg, theirs)
		}
	}
}
