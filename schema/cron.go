package schema

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// cronParser accepts exactly what gocron v2 accepts for CronJob(spec, true):
// 5 fields, or 6 with seconds first, and descriptors such as @daily.
// TestCronAgreesWithGocron keeps the two in step.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// checkCron returns a message and a hint when spec is not a cron spec that
// fires at least once.
func checkCron(spec string) (msg, hint string) {
	const usage = `five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * MON"`
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return "put the time zone in the timezone field, not in the cron spec", "timezone: Europe/Lisbon"
	}
	sched, err := cronParser.Parse("CRON_TZ=UTC " + spec)
	if err != nil {
		return "invalid cron spec: " + err.Error(), usage
	}
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return "cron spec " + spec + " never fires", usage
	}
	return "", ""
}
