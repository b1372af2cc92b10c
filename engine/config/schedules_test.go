package config

import (
	"strings"
	"testing"
	"time"
)

// TestLoadSchedules: schedules.catchup_window and catchup_max are read;
// not set they are zero (the scheduler's defaults); bad values are
// diagnostics at their line and column.
func TestLoadSchedules(t *testing.T) {
	cfg, err := Load(write(t, "schedules:\n  catchup_window: 90m\n  catchup_max: 3\n"), false)
	if err != nil || cfg.Schedules.CatchupWindow != 90*time.Minute || cfg.Schedules.CatchupMax != 3 {
		t.Fatalf("schedules: %+v, %v", cfg.Schedules, err)
	}
	if cfg, err := Load(write(t, ""), false); err != nil || cfg.Schedules != (Schedules{}) {
		t.Errorf("not set: %+v, %v", cfg.Schedules, err)
	}
	for content, want := range map[string]string{
		"schedules:\n  catchup_window: soon\n": `:2:19: schedules.catchup_window: invalid duration "soon"`,
		"schedules:\n  catchup_window: -1h\n":  "schedules.catchup_window must be positive, got -1h0m0s",
		"schedules:\n  catchup_max: 0\n":       ":2:16: schedules.catchup_max: schedules.catchup_max must be positive, got 0",
		"schedules:\n  catchup_max: many\n":    `schedules.catchup_max: expected an integer, got the text "many"`,
		"schedules:\n  catchup_windows: 1h\n":  `:2:3: schedules.catchup_windows: unknown key "catchup_windows"`,
	} {
		if _, err := Load(write(t, content), false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
