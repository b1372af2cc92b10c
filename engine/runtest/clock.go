package runtest

import (
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Start is the virtual time at which every test run starts.
var Start = time.Date(2026, time.January, 1, 9, 0, 0, 0, time.UTC)

// Clock is a virtual clock for test runs: waiting never blocks. A timer
// (NewTimer, After, Sleep, a ticker's tick) fires at once and moves the
// clock forward by its duration, so retry delays and core.sleep take no
// real time but show in the run's timings. AfterFunc never fires: the
// engine uses it for step and run timeouts, and mocked actions return at
// once, so a timeout cannot happen in a test (mock an error with code
// timeout to test how a runbook handles one). It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ clockwork.Clock = (*Clock)(nil)

// NewClock returns a virtual clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// advance moves the clock forward by d (not backward) and returns the new
// time.
func (c *Clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return c.now
}

// Now returns the virtual time.
func (c *Clock) Now() time.Time { return c.advance(0) }

// Since returns the virtual time elapsed since t.
func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// Until returns the virtual time until t.
func (c *Clock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

// Sleep returns at once, d later on the clock.
func (c *Clock) Sleep(d time.Duration) { c.advance(d) }

// After returns a channel that already holds the time d later.
func (c *Clock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).Chan() }

// NewTimer returns a timer that has already fired, d later.
func (c *Clock) NewTimer(d time.Duration) clockwork.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	t.fire(d)
	return t
}

// AfterFunc returns a timer that never fires.
func (c *Clock) AfterFunc(time.Duration, func()) clockwork.Timer { return &never{} }

// NewTicker returns a ticker whose every tick is ready at once, each one d
// later than the one before.
func (c *Clock) NewTicker(d time.Duration) clockwork.Ticker {
	if d <= 0 {
		panic("runtest: non-positive interval for NewTicker")
	}
	t := &ticker{c: c, d: d, ch: make(chan time.Time), stop: make(chan struct{}), reset: make(chan time.Duration)}
	go t.loop()
	return t
}

// timer is a timer that fires as soon as it is started.
type timer struct {
	c  *Clock
	ch chan time.Time
}

func (t *timer) fire(d time.Duration) {
	now := t.c.advance(d)
	select {
	case t.ch <- now:
	default: // the last tick was not read: keep it, as time.Timer does
	}
}

func (t *timer) Chan() <-chan time.Time { return t.ch }

// Stop reports false: the timer has always fired already.
func (t *timer) Stop() bool { return false }

// Reset fires the timer again, d later.
func (t *timer) Reset(d time.Duration) bool {
	select {
	case <-t.ch:
	default:
	}
	t.fire(d)
	return false
}

// never is the timer of AfterFunc.
type never struct {
	mu      sync.Mutex
	stopped bool
}

func (n *never) Chan() <-chan time.Time { return nil }

// Stop reports whether the timer was active, as time.Timer.Stop does.
func (n *never) Stop() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	was := !n.stopped
	n.stopped = true
	return was
}

func (n *never) Reset(time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	was := !n.stopped
	n.stopped = false
	return was
}

// ticker delivers ticks as fast as they are read, until stopped.
type ticker struct {
	c     *Clock
	d     time.Duration
	ch    chan time.Time
	stop  chan struct{}
	reset chan time.Duration
	once  sync.Once
}

func (t *ticker) loop() {
	d := t.d
	for {
		select {
		case <-t.stop:
			return
		case d = <-t.reset:
		case t.ch <- t.c.Now().Add(d):
			t.c.advance(d)
		}
	}
}

func (t *ticker) Chan() <-chan time.Time { return t.ch }

func (t *ticker) Reset(d time.Duration) {
	if d <= 0 {
		panic("runtest: non-positive interval for Ticker.Reset")
	}
	select {
	case t.reset <- d:
	case <-t.stop:
	}
}

func (t *ticker) Stop() { t.once.Do(func() { close(t.stop) }) }
