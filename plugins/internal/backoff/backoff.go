// Package backoff is how the bundled plugins wait between tries of an
// HTTP API: the server's Retry-After when it gives one, a doubling pause
// otherwise, both bounded.
package backoff

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// MaxRetryAfter is the longest Retry-After waited for; a longer one
	// is cut to it.
	MaxRetryAfter = 30 * time.Second
	// MaxPause is where the doubling pause after a 5xx or a timeout
	// stops.
	MaxPause = 5 * time.Second
)

// RetryAfter reads a Retry-After header, seconds or an HTTP date (then
// relative to now); -1 when there is none or it is unreadable.
func RetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return -1
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// Pause is how long to wait after the n-th try failed: retryAfter (cut to
// MaxRetryAfter) when the server gave one (≥ 0), else base doubled for
// each try after the first, up to MaxPause.
func Pause(n int, retryAfter, base time.Duration) time.Duration {
	if retryAfter >= 0 {
		return min(retryAfter, MaxRetryAfter)
	}
	d := base
	for i := 1; i < n && d < MaxPause; i++ {
		d *= 2
	}
	return min(d, MaxPause)
}
