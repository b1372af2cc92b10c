package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Schedules configure the scheduler of steward serve:
//
//	schedules:
//	  catchup_window: 24h   # how far back missed slots are caught up
//	  catchup_max: 10       # at most this many fires per schedule at start
type Schedules struct {
	// CatchupWindow: a slot missed while serve was down is fired (per
	// the schedule's catchup policy) only if it is at most this old.
	// Zero when not set: DefaultCatchupWindow.
	CatchupWindow time.Duration `yaml:"catchup_window"`
	// CatchupMax caps the slots one schedule catches up at once (with
	// catchup: all). Zero when not set: DefaultCatchupMax.
	CatchupMax int `yaml:"catchup_max"`
}

// Defaults of Schedules.
const (
	DefaultCatchupWindow = 24 * time.Hour
	DefaultCatchupMax    = 10
)

var schedulesKeys = []string{"catchup_window", "catchup_max"}

// schedules reads schedules: in steward.yaml.
func (l *loader) schedules(n *yaml.Node, path string) {
	for _, p := range l.mapping(n, path, schedulesKeys) {
		switch p.key {
		case "catchup_window":
			s := l.str(p.v, p.path, true)
			if s == "" {
				continue
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				l.errorf(p.v, p.path, "write a duration such as 24h or 90m", "invalid duration %q", s)
			case d <= 0:
				l.errorf(p.v, p.path, "", "schedules.catchup_window must be positive, got %s", d)
			default:
				l.cfg.Schedules.CatchupWindow = d
			}
		case "catchup_max":
			var n int
			if !l.decode(p.v, p.path, "!!int", "an integer", &n) {
				continue
			}
			if n <= 0 {
				l.errorf(p.v, p.path, "catchup: none in a schedule fires no missed slot", "schedules.catchup_max must be positive, got %d", n)
				continue
			}
			l.cfg.Schedules.CatchupMax = n
		}
	}
}
