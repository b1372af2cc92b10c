package backoff

import (
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		want time.Duration
	}{
		{"", -1}, {"7", 7 * time.Second}, {" 0 ", 0}, {"-3", -1}, {"soon", -1},
		{"Sun, 06 Dec 2026 12:00:40 GMT", 40 * time.Second},
		{"Sun, 06 Dec 2026 11:59:00 GMT", 0}, // already past
	} {
		if got := RetryAfter(c.h, now); got != c.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", c.h, got, c.want)
		}
	}
}

func TestPause(t *testing.T) {
	base := 100 * time.Millisecond
	for _, c := range []struct {
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, -1, base}, {2, -1, 2 * base}, {4, -1, 8 * base}, {20, -1, MaxPause},
		{1, 3 * time.Second, 3 * time.Second}, {1, time.Hour, MaxRetryAfter}, {3, 0, 0},
	} {
		if got := Pause(c.n, c.retryAfter, base); got != c.want {
			t.Errorf("Pause(%d, %s) = %s, want %s", c.n, c.retryAfter, got, c.want)
		}
	}
}
