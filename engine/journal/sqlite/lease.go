package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// Leases. A lease is a row of the leases table: who executes the run,
// renewed by its holder's heartbeat, live until it expires. The SQLite
// store is shared by the processes of one host, so each lease is also
// backed by an exclusive flock, held by the process whose execution holds
// the lease, which the kernel releases when that process dies: a lease of
// this host whose flock nobody holds is dead at once, without waiting for
// its expiry (a run killed with kill -9 can be resumed right away). A
// lease of another host (a home on a shared disk) ends at its expiry.
//
// The flock is the holder's, not the run's: one file per lease,
// home/locks/RUN_ID.HOLDER.lock (HOLDER a hash of the holder's name). So
// an expired lease is taken over even while its old holder lives and
// keeps its flock (a process stalled past its lease's expiry), and the
// new holder's lease is backed by the new holder's flock: the old
// holder's renewal then fails (journal.ErrLeaseLost), and its release
// ends only its own flock.

// lockKey names the flock of holder's lease of runID.
func lockKey(runID, holder string) string {
	sum := sha256.Sum256([]byte(holder))
	return runID + "." + hex.EncodeToString(sum[:8])
}

// AcquireLease takes the run's lease for l.Holder (see journal.Store).
func (s *Store) AcquireLease(ctx context.Context, l journal.Lease) error {
	if err := journal.CheckRunID(l.RunID); err != nil {
		return err
	}
	if l.Holder == "" {
		return errors.New("journal: a lease needs a holder")
	}
	key := lockKey(l.RunID, l.Holder)
	// held is false when another handle on the store (in this process or
	// another) holds this holder's flock: the holder lives there, and
	// that flock backs its lease.
	held, err := s.locks.lock(key, l.Holder)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if held {
			s.locks.unlock(key, l.Holder)
		}
		return err
	}
	conn, done, err := s.writer(ctx)
	if err != nil {
		return fail(fmt.Errorf("journal: leasing run %s: %w", l.RunID, err))
	}
	defer done()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(fmt.Errorf("journal: leasing run %s: %w", l.RunID, err))
	}
	defer tx.Rollback()
	cur, found, err := scanLease(tx.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE run_id = ?`, l.RunID))
	if err != nil {
		return fail(fmt.Errorf("journal: leasing run %s: %w", l.RunID, err))
	}
	takeover := found && cur.Holder != l.Holder
	if takeover {
		live, err := s.live(cur, l.Heartbeat)
		if err != nil {
			return fail(err)
		}
		if live {
			return fail(&journal.BusyError{Lease: cur})
		}
	}
	if l.Acquired.IsZero() {
		l.Acquired = l.Heartbeat
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO leases (`+leaseColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.RunID, l.Holder, l.Host, l.PID, formatTime(l.Acquired), formatTime(l.Heartbeat), formatTime(l.Expires)); err != nil {
		return fail(fmt.Errorf("journal: leasing run %s: %w", l.RunID, err))
	}
	if err := tx.Commit(); err != nil {
		return fail(fmt.Errorf("journal: leasing run %s: %w", l.RunID, err))
	}
	if takeover && cur.Host == s.host {
		s.locks.removeFree(lockKey(cur.RunID, cur.Holder))
	}
	return nil
}

// live says whether lease l is live at now: not expired and, for a lease
// of this host, its holder's flock held.
func (s *Store) live(l journal.Lease, now time.Time) (bool, error) {
	if !l.Expires.After(now) {
		return false, nil
	}
	if l.Host != s.host {
		return true, nil
	}
	return s.locks.held(lockKey(l.RunID, l.Holder))
}

// RenewLease extends the holder's lease and reports a cancel request.
func (s *Store) RenewLease(ctx context.Context, l journal.Lease) (journal.Renewal, error) {
	var r journal.Renewal
	if err := journal.CheckRunID(l.RunID); err != nil {
		return r, err
	}
	conn, done, err := s.writer(ctx)
	if err != nil {
		return r, fmt.Errorf("journal: renewing the lease of run %s: %w", l.RunID, err)
	}
	defer done()
	res, err := conn.ExecContext(ctx, `UPDATE leases SET heartbeat = ?, expires = ? WHERE run_id = ? AND holder = ?`,
		formatTime(l.Heartbeat), formatTime(l.Expires), l.RunID, l.Holder)
	if err != nil {
		return r, fmt.Errorf("journal: renewing the lease of run %s: %w", l.RunID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return r, journal.ErrLeaseLost
	}
	var seq int64
	err = conn.QueryRowContext(ctx, `SELECT seq FROM cancels WHERE run_id = ?`, l.RunID).Scan(&seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return r, fmt.Errorf("journal: renewing the lease of run %s: %w", l.RunID, err)
	default:
		r.Cancel = &journal.CancelRequest{Seq: seq}
	}
	return r, nil
}

// ReleaseLease ends the holder's lease.
func (s *Store) ReleaseLease(ctx context.Context, runID, holder string) error {
	if err := journal.CheckRunID(runID); err != nil {
		return err
	}
	// The row goes first: while it is there, the flock still backs it.
	defer s.locks.unlock(lockKey(runID, holder), holder)
	conn, done, err := s.writer(ctx)
	if err != nil {
		return fmt.Errorf("journal: releasing the lease of run %s: %w", runID, err)
	}
	defer done()
	if _, err := conn.ExecContext(ctx, `DELETE FROM leases WHERE run_id = ? AND holder = ?`, runID, holder); err != nil {
		return fmt.Errorf("journal: releasing the lease of run %s: %w", runID, err)
	}
	return nil
}

// Lease returns the run's lease and whether it is live at now.
func (s *Store) Lease(ctx context.Context, runID string, now time.Time) (journal.Lease, bool, error) {
	if err := journal.CheckRunID(runID); err != nil {
		return journal.Lease{}, false, err
	}
	l, found, err := s.readLease(ctx, runID)
	if err != nil || !found {
		return l, false, err
	}
	live, err := s.live(l, now)
	return l, live, err
}

const leaseColumns = `run_id, holder, host, pid, acquired, heartbeat, expires`

func (s *Store) readLease(ctx context.Context, runID string) (journal.Lease, bool, error) {
	l, found, err := scanLease(s.db.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE run_id = ?`, runID))
	if err != nil {
		return l, false, fmt.Errorf("journal: reading the lease of run %s: %w", runID, err)
	}
	return l, found, nil
}

func scanLease(row *sql.Row) (journal.Lease, bool, error) {
	var l journal.Lease
	var acquired, heartbeat, expires string
	err := row.Scan(&l.RunID, &l.Holder, &l.Host, &l.PID, &acquired, &heartbeat, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	for _, t := range []struct {
		dst *time.Time
		s   string
	}{{&l.Acquired, acquired}, {&l.Heartbeat, heartbeat}, {&l.Expires, expires}} {
		if *t.dst, err = parseTime(t.s); err != nil {
			return l, false, err
		}
	}
	return l, true, nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
