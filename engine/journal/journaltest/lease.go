package journaltest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

const ttl = 15 * time.Second

func (x *suite) testLease(t *testing.T) {
	t.Run("None", x.leaseNone)
	t.Run("Acquire", x.leaseAcquire)
	t.Run("Busy", x.leaseBusy)
	t.Run("SameHolder", x.leaseSameHolder)
	t.Run("Renew", x.leaseRenew)
	t.Run("Release", x.leaseRelease)
	t.Run("Expired", x.leaseExpired)
	t.Run("Runs", x.leaseRuns)
	t.Run("OneWinner", x.leaseOneWinner)
	t.Run("Race", x.leaseRace)
}

// A run never leased has no live lease, and no lease to renew.
func (x *suite) leaseNone(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	checkLease(t, s, "r", t0, journal.Lease{}, false)
	if _, err := s.RenewLease(ctx, lease("r", "a", t0, ttl)); !errors.Is(err, journal.ErrLeaseLost) {
		t.Fatalf("RenewLease of a run never leased: %v", err)
	}
	if err := s.ReleaseLease(ctx, "r", "a"); err != nil {
		t.Fatalf("ReleaseLease of a run never leased: %v", err)
	}
}

// An acquired lease is read back as it was given, through any handle,
// live until its Expires and not at it.
func (x *suite) leaseAcquire(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	l := lease("r", "a", t0, ttl)
	l.Acquired = t0.Add(-time.Second) // kept as given
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	for _, h := range []journal.Store{s, other} {
		checkLease(t, h, "r", t0, l, true)
		checkLease(t, h, "r", l.Expires.Add(-time.Microsecond), l, true)
		checkLease(t, h, "r", l.Expires, l, false)
	}
}

// Another holder is refused, through any handle, with a *BusyError that
// names the lease holding the run; the lease stays as it was.
func (x *suite) leaseBusy(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	l := lease("r", "a", t0, ttl)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	for i, h := range []journal.Store{s, other} {
		err := h.AcquireLease(ctx, lease("r", "b", at(1), ttl))
		checkBusy(t, fmt.Sprintf("AcquireLease by another holder through handle %d", i), err, l)
	}
	checkLease(t, other, "r", at(1), l, true)
	if _, err := other.RenewLease(ctx, lease("r", "b", at(1), ttl)); !errors.Is(err, journal.ErrLeaseLost) {
		t.Fatalf("RenewLease by the refused holder: %v", err)
	}
}

// The holder may acquire its lease again: it then runs to the new
// Expires.
func (x *suite) leaseSameHolder(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	if err := s.AcquireLease(ctx, lease("r", "a", t0, ttl)); err != nil {
		t.Fatal(err)
	}
	again := lease("r", "a", at(5), time.Minute)
	if err := s.AcquireLease(ctx, again); err != nil {
		t.Fatalf("the holder acquires again: %v", err)
	}
	checkLease(t, other, "r", at(5).Add(ttl), again, true)
	checkBusy(t, "another holder after the holder acquired again", other.AcquireLease(ctx, lease("r", "b", at(20), ttl)), again)
}

// RenewLease moves the holder's heartbeat and expiry, and nothing else;
// by another holder it is ErrLeaseLost and changes nothing.
func (x *suite) leaseRenew(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	l := lease("r", "a", t0, ttl)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	renewed := l
	renewed.Heartbeat, renewed.Expires = at(10), at(10).Add(ttl)
	if r, err := s.RenewLease(ctx, renewed); err != nil || r.Cancel != nil {
		t.Fatalf("RenewLease = %+v, %v", r, err)
	}
	// Live past the first expiry: the renewal moved it.
	checkLease(t, other, "r", at(20), renewed, true)
	for i, h := range []journal.Store{s, other} {
		if _, err := h.RenewLease(ctx, lease("r", "b", at(11), ttl)); !errors.Is(err, journal.ErrLeaseLost) {
			t.Fatalf("RenewLease by another holder through handle %d: %v", i, err)
		}
	}
	checkLease(t, other, "r", at(20), renewed, true)
}

// ReleaseLease ends the holder's lease; by another holder, or again, it
// does nothing and is no error. Once released, the lease cannot be
// renewed and another holder may take the run.
func (x *suite) leaseRelease(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	l := lease("r", "a", t0, ttl)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := other.ReleaseLease(ctx, "r", "b"); err != nil {
		t.Fatalf("ReleaseLease by another holder: %v", err)
	}
	checkLease(t, s, "r", at(1), l, true)
	if err := s.ReleaseLease(ctx, "r", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "r", "a"); err != nil {
		t.Fatalf("ReleaseLease again: %v", err)
	}
	checkLive(t, s, "r", at(1), false)
	checkLive(t, other, "r", at(1), false)
	if _, err := s.RenewLease(ctx, lease("r", "a", at(1), ttl)); !errors.Is(err, journal.ErrLeaseLost) {
		t.Fatalf("RenewLease after release: %v", err)
	}
	next := lease("r", "b", at(2), ttl)
	if err := other.AcquireLease(ctx, next); err != nil {
		t.Fatalf("AcquireLease by another holder after release: %v", err)
	}
	checkLease(t, s, "r", at(2), next, true)
	checkBusy(t, "the first holder after release", s.AcquireLease(ctx, lease("r", "a", at(3), ttl)), next)
}

// An expired lease is not live and is taken over, through another
// handle, by another holder; its old holder has lost it, and releasing
// it does not end the new holder's.
func (x *suite) leaseExpired(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	old := lease("r", "a", t0, time.Second)
	if err := s.AcquireLease(ctx, old); err != nil {
		t.Fatal(err)
	}
	checkLease(t, other, "r", t0.Add(500*time.Millisecond), old, true)
	checkLease(t, other, "r", at(2), old, false)
	next := lease("r", "b", at(2), ttl)
	if err := other.AcquireLease(ctx, next); err != nil {
		t.Fatalf("AcquireLease of an expired lease: %v", err)
	}
	checkLease(t, s, "r", at(2), next, true)
	if _, err := s.RenewLease(ctx, lease("r", "a", at(3), ttl)); !errors.Is(err, journal.ErrLeaseLost) {
		t.Fatalf("RenewLease by the old holder: %v", err)
	}
	if err := s.ReleaseLease(ctx, "r", "a"); err != nil {
		t.Fatalf("ReleaseLease by the old holder: %v", err)
	}
	checkLease(t, s, "r", at(3), next, true)
	checkLease(t, other, "r", at(3), next, true)
	checkBusy(t, "the old holder again", s.AcquireLease(ctx, lease("r", "a", at(3), ttl)), next)
}

// Leases of different runs are independent, whoever holds them.
func (x *suite) leaseRuns(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	l1, l2, l3 := lease("r1", "a", t0, ttl), lease("r2", "b", t0, ttl), lease("r3", "a", t0, ttl)
	if err := s.AcquireLease(ctx, l1); err != nil {
		t.Fatal(err)
	}
	if err := other.AcquireLease(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(ctx, l3); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseLease(ctx, "r1", "a"); err != nil {
		t.Fatal(err)
	}
	checkLive(t, other, "r1", t0, false)
	checkLease(t, s, "r2", t0, l2, true)
	checkLease(t, other, "r3", t0, l3, true)
}

// Holders racing for a free run through two handles: exactly one wins,
// and every other is told it is the winner's.
func (x *suite) leaseOneWinner(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	handles := []journal.Store{s, other}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = handles[i%2].AcquireLease(ctx, lease("r", fmt.Sprint("h", i), t0, ttl)) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("holders h%d and h%d both acquired the run", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("nobody acquired the run: %v", errs)
	}
	won := lease("r", fmt.Sprint("h", winner), t0, ttl)
	for i, err := range errs {
		if i != winner {
			checkBusy(t, fmt.Sprint("h", i), err, won)
		}
	}
	checkLease(t, s, "r", t0, won, true)
}

// Holders through two handles take and release one run over and over:
// at no time do two hold it.
func (x *suite) leaseRace(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	handles := []journal.Store{s, other}
	var (
		mu      sync.Mutex
		holding int
		won     int
	)
	var wg sync.WaitGroup
	for g := range 6 {
		h := handles[g%2]
		wg.Go(func() {
			holder := fmt.Sprint("g", g)
			for range 20 {
				err := h.AcquireLease(ctx, lease("r", holder, t0, ttl))
				if errors.Is(err, journal.ErrRunBusy) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				holding++
				won++
				if holding != 1 {
					t.Errorf("%d holders at once", holding)
				}
				mu.Unlock()
				if l, live, err := h.Lease(ctx, "r", t0); err != nil || !live || l.Holder != holder {
					t.Errorf("%s holds the run but its lease is %+v, live %v, %v", holder, l, live, err)
				}
				mu.Lock()
				holding--
				mu.Unlock()
				if err := h.ReleaseLease(ctx, "r", holder); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if won == 0 {
		t.Fatal("nobody acquired the run")
	}
	checkLive(t, other, "r", t0, false)
}

func (x *suite) testCancel(t *testing.T) {
	t.Run("Requested", x.cancelRequested)
}

// A batch with Cancel, appended through any handle, is the request the
// holder's next renewals report, with the seq of its record; other runs,
// and renewals before it, report none.
func (x *suite) cancelRequested(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	start(t, s, journal.Run{ID: "r", Status: "running", StartedAt: t0, UpdatedAt: t0})
	start(t, s, journal.Run{ID: "q", Status: "running", StartedAt: t0, UpdatedAt: t0})
	l, lq := lease("r", "a", t0, ttl), lease("q", "c", t0, ttl)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(ctx, lq); err != nil {
		t.Fatal(err)
	}
	renew := func(l journal.Lease, sec int) *journal.CancelRequest {
		t.Helper()
		l.Heartbeat, l.Expires = at(sec), at(sec).Add(ttl)
		r, err := s.RenewLease(ctx, l)
		if err != nil {
			t.Fatalf("RenewLease(%s) at %d s: %v", l.RunID, sec, err)
		}
		return r.Cancel
	}
	if c := renew(l, 1); c != nil {
		t.Fatalf("a cancel request before any: %+v", c)
	}
	// Records of the run without Cancel are no request.
	mustAppend(t, other, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("step.started", 2, `{"step":"s1"}`)}})
	if c := renew(l, 2); c != nil {
		t.Fatalf("a cancel request after an ordinary batch: %+v", c)
	}
	recs := mustAppend(t, other, journal.Batch{RunID: "r", Cancel: true, Sync: true, Entries: []journal.Entry{
		entry(journal.CancelRequested, 3, `{"by":"bob"}`),
	}})
	want := journal.CancelRequest{Seq: recs[0].Seq}
	for _, sec := range []int{4, 5} { // and until the holder stops
		if c := renew(l, sec); c == nil || *c != want {
			t.Fatalf("RenewLease at %d s after the request: cancel %+v, want %+v", sec, c, want)
		}
	}
	mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("step.finished", 6, `{"step":"s1"}`)}})
	if c := renew(l, 6); c == nil || *c != want {
		t.Fatalf("RenewLease after a later batch: cancel %+v, want %+v", c, want)
	}
	if c := renew(lq, 6); c != nil {
		t.Fatalf("another run's renewal reports %+v", c)
	}
}

func (x *suite) testRunIDs(t *testing.T) {
	t.Run("Invalid", x.runIDsInvalid)
}

// Run ids that cannot name a run ("", hidden, holding a path separator)
// are refused by every lease method, saying so.
func (x *suite) runIDsInvalid(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	for _, id := range []string{"", ".x", "a/b"} {
		want := fmt.Sprintf("journal: %q is not a valid run id", id)
		check := func(method string, err error) {
			t.Helper()
			if err == nil || err.Error() != want {
				t.Errorf("%s(%q): %v\nwant %s", method, id, err, want)
			}
		}
		check("AcquireLease", s.AcquireLease(ctx, lease(id, "a", t0, ttl)))
		_, err := s.RenewLease(ctx, lease(id, "a", t0, ttl))
		check("RenewLease", err)
		check("ReleaseLease", s.ReleaseLease(ctx, id, "a"))
		_, _, err = s.Lease(ctx, id, t0)
		check("Lease", err)
	}
}
