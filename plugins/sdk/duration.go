package sdk

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration written in JSON as a Go duration string,
// such as "30s" or "1h30m": what a runbook author writes. Its schema is a
// string with format "duration", which `steward validate` checks.
//
//	type Input struct {
//		Wait sdk.Duration `json:"wait,omitempty" desc:"how long to wait"`
//	}
//	time.Sleep(in.Wait.Std())
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as 30s, 5m or 1h30m, got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a duration such as 30s, 5m or 1h30m", s)
	}
	*d = Duration(v)
	return nil
}
