package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stewardhq/steward/engine/journal"
)

// Leases. A lease is a row of journal_leases: who executes the run,
// renewed by its holder's heartbeat, live until it expires. The store is
// shared by processes on several hosts, so nothing tells it that a
// holder died (SQLite's store backs the leases of its own host with
// flocks, which the kernel releases): a dead holder's lease is taken
// over when it expires, and not before. Renew leases well within their
// time to live, and keep the hosts' clocks in step (NTP): an expiry is a
// time one host wrote and another reads.

const leaseColumns = `run_id, holder, host, pid, acquired, heartbeat, expires`

// AcquireLease takes the run's lease for l.Holder (see journal.Store),
// in one transaction that locks the run's lease row, or inserts it.
func (s *Store) AcquireLease(ctx context.Context, l journal.Lease) error {
	if err := journal.CheckRunID(l.RunID); err != nil {
		return err
	}
	if l.Holder == "" {
		return errors.New("journal: a lease needs a holder")
	}
	if l.Acquired.IsZero() {
		l.Acquired = l.Heartbeat
	}
	fail := func(err error) error { return fmt.Errorf("journal: leasing run %s: %w", l.RunID, err) }
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(context.Background())
	for {
		cur, found, err := scanLease(tx.QueryRow(ctx, `SELECT `+leaseColumns+` FROM journal_leases WHERE run_id = $1 FOR UPDATE`, l.RunID))
		if err != nil {
			return fail(err)
		}
		if !found {
			tag, err := tx.Exec(ctx, `INSERT INTO journal_leases (`+leaseColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (run_id) DO NOTHING`, l.RunID, l.Holder, l.Host, l.PID, l.Acquired, l.Heartbeat, l.Expires)
			if err != nil {
				return fail(err)
			}
			if tag.RowsAffected() == 0 {
				continue // another holder inserted it first: lock theirs
			}
			break
		}
		if cur.Holder != l.Holder && cur.Expires.After(l.Heartbeat) {
			return &journal.BusyError{Lease: cur}
		}
		if _, err := tx.Exec(ctx, `UPDATE journal_leases SET holder = $2, host = $3, pid = $4, acquired = $5, heartbeat = $6, expires = $7
			WHERE run_id = $1`, l.RunID, l.Holder, l.Host, l.PID, l.Acquired, l.Heartbeat, l.Expires); err != nil {
			return fail(err)
		}
		break
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// RenewLease extends the holder's lease and reports a cancel request, in
// one statement.
func (s *Store) RenewLease(ctx context.Context, l journal.Lease) (journal.Renewal, error) {
	var r journal.Renewal
	if err := journal.CheckRunID(l.RunID); err != nil {
		return r, err
	}
	var cancel *int64
	err := s.pool.QueryRow(ctx, `UPDATE journal_leases SET heartbeat = $1, expires = $2 WHERE run_id = $3 AND holder = $4
		RETURNING (SELECT seq FROM journal_cancels WHERE run_id = $3)`,
		l.Heartbeat, l.Expires, l.RunID, l.Holder).Scan(&cancel)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, journal.ErrLeaseLost
	}
	if err != nil {
		return r, fmt.Errorf("journal: renewing the lease of run %s: %w", l.RunID, err)
	}
	if cancel != nil {
		r.Cancel = &journal.CancelRequest{Seq: *cancel}
	}
	return r, nil
}

// ReleaseLease ends the holder's lease.
func (s *Store) ReleaseLease(ctx context.Context, runID, holder string) error {
	if err := journal.CheckRunID(runID); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM journal_leases WHERE run_id = $1 AND holder = $2`, runID, holder); err != nil {
		return fmt.Errorf("journal: releasing the lease of run %s: %w", runID, err)
	}
	return nil
}

// Lease returns the run's lease and whether it is live at now: until
// its expiry, not at it.
func (s *Store) Lease(ctx context.Context, runID string, now time.Time) (journal.Lease, bool, error) {
	if err := journal.CheckRunID(runID); err != nil {
		return journal.Lease{}, false, err
	}
	l, found, err := scanLease(s.pool.QueryRow(ctx, `SELECT `+leaseColumns+` FROM journal_leases WHERE run_id = $1`, runID))
	if err != nil {
		return journal.Lease{}, false, fmt.Errorf("journal: reading the lease of run %s: %w", runID, err)
	}
	return l, found && l.Expires.After(now), nil
}

func scanLease(row pgx.Row) (journal.Lease, bool, error) {
	var l journal.Lease
	err := row.Scan(&l.RunID, &l.Holder, &l.Host, &l.PID, &l.Acquired, &l.Heartbeat, &l.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return journal.Lease{}, false, nil
	}
	if err != nil {
		return journal.Lease{}, false, err
	}
	l.Acquired, l.Heartbeat, l.Expires = l.Acquired.UTC(), l.Heartbeat.UTC(), l.Expires.UTC()
	return l, true, nil
}
