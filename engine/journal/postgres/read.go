package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stewardhq/steward/engine/journal"
)

// reader reads the journal through q: the store's pool, where each query
// reads the database as it is then, or one REPEATABLE READ, READ ONLY
// transaction (Snapshot).
//
// Records and runs are read in pages, each page read whole before its
// callback is called: a callback may then read through the same reader,
// which in a snapshot is one connection that cannot run two queries at
// once.
type reader struct{ q querier }

// querier is what reader needs of a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// pageSize is how many records or runs a page holds.
const pageSize = 500

// Snapshot calls fn with a reader of one REPEATABLE READ, READ ONLY
// transaction: every read through it sees the database as it was at its
// first query, which Snapshot makes at once.
func (s *Store) Snapshot(ctx context.Context, fn func(journal.Reader) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("journal: reading a snapshot: %w", err)
	}
	defer tx.Rollback(context.Background())
	// The transaction's snapshot is taken at its first query.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM journal_head`); err != nil {
		return fmt.Errorf("journal: reading a snapshot: %w", err)
	}
	return fn(reader{q: tx})
}

const runColumns = `id, runbook, version, actor, status, dry_run, parent, started_at, updated_at, finished_at, host, pid`

// Run returns a run's summary, or journal.ErrRunNotFound.
func (s reader) Run(ctx context.Context, id string) (journal.Run, error) {
	runs, err := s.runs(ctx, `SELECT `+runColumns+` FROM journal_runs WHERE id = $1`, id)
	if err != nil {
		return journal.Run{}, fmt.Errorf("journal: reading run %s: %w", id, err)
	}
	if len(runs) == 0 {
		return journal.Run{}, journal.ErrRunNotFound
	}
	return runs[0], nil
}

// Runs calls fn for each run f selects, the latest started first (then
// the greatest id), a page at a time; an error from fn stops it and is
// returned as it is.
func (s reader) Runs(ctx context.Context, f journal.Filter, fn func(journal.Run) error) error {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Runbook != "" {
		where = append(where, `runbook = `+arg(f.Runbook))
	}
	if f.Status != "" {
		where = append(where, `status = `+arg(f.Status))
	}
	if !f.Since.IsZero() {
		where = append(where, `started_at >= `+arg(f.Since))
	}
	if f.IDPrefix != "" {
		// starts_with and strpos compare the text as it is: unlike LIKE,
		// no character of the prefix is a wildcard, and case counts.
		p := arg(f.IDPrefix)
		where = append(where, `(starts_with(id, `+p+`) OR strpos(id, '-' || `+p+`) > 0)`)
	}
	if f.Actor != "" {
		where = append(where, `actor = `+arg(f.Actor))
	}
	fixed, fixedArgs := where, len(args)
	left := f.Limit
	var last *journal.Run
	if p := f.After; p != nil {
		// The next page of a listing: read as the pages below are.
		last = &journal.Run{StartedAt: p.StartedAt, ID: p.ID}
	}
	for {
		where, args = fixed, args[:fixedArgs]
		if last != nil {
			where = append(where, `(started_at, id) < (`+arg(last.StartedAt)+`, `+arg(last.ID)+`)`)
		}
		n := pageSize
		if f.Limit > 0 {
			n = min(n, left)
		}
		q := `SELECT ` + runColumns + ` FROM journal_runs`
		if len(where) > 0 {
			q += ` WHERE ` + strings.Join(where, ` AND `)
		}
		q += ` ORDER BY started_at DESC, id DESC LIMIT ` + arg(n)
		page, err := s.runs(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("journal: listing runs: %w", err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		left -= len(page)
		if len(page) < n || f.Limit > 0 && left == 0 {
			return nil
		}
		last = &page[len(page)-1]
	}
}

// runs reads the runs of the query q of runColumns.
func (s reader) runs(ctx context.Context, q string, args ...any) ([]journal.Run, error) {
	rows, err := s.q.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []journal.Run
	for rows.Next() {
		var r journal.Run
		var finished *time.Time
		if err := rows.Scan(&r.ID, &r.Runbook, &r.Version, &r.Actor, &r.Status, &r.DryRun, &r.Parent,
			&r.StartedAt, &r.UpdatedAt, &finished, &r.Host, &r.PID); err != nil {
			return nil, err
		}
		r.StartedAt, r.UpdatedAt = r.StartedAt.UTC(), r.UpdatedAt.UTC()
		if finished != nil {
			r.FinishedAt = finished.UTC()
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// recordQuery reads records with the id of the run they are filed under
// ("" when journal_run_ids has no such run: the table was edited).
const recordQuery = `SELECT r.seq, coalesce(k.id, ''), r.body, r.hash
	FROM journal_records r LEFT JOIN journal_run_ids k ON k.rid = r.rid`

// Records calls fn for each record in seq order: of run runID, or of all
// runs when runID is "", whose time is since or later, a page at a time.
// Seq and RunID come from the table's columns, the other fields from the
// record's body; a record whose body does not parse is still passed on
// (whatever since is), with those fields empty, for Verify to name. On
// the store, each page reads the database as it is then: records are
// only ever added after the last, so the pages make one journal.
func (s reader) Records(ctx context.Context, runID string, since time.Time, fn func(journal.Record) error) error {
	var last int64
	for {
		q, args := recordQuery+` WHERE r.seq > $1`, []any{last}
		if runID != "" {
			q, args = q+` AND r.rid = (SELECT rid FROM journal_run_ids WHERE id = $2)`, append(args, runID)
		}
		page, err := s.records(ctx, q+` ORDER BY r.seq LIMIT `+strconv.Itoa(pageSize), args...)
		if err != nil {
			return fmt.Errorf("journal: reading records: %w", err)
		}
		for _, r := range page {
			// A body that did not parse (Data nil) has no time to compare.
			if !since.IsZero() && r.Data != nil && r.Time.Before(since) {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		last = page[len(page)-1].Seq
	}
}

// Record returns the record with seq, or ok false.
func (s reader) Record(ctx context.Context, seq int64) (journal.Record, bool, error) {
	recs, err := s.records(ctx, recordQuery+` WHERE r.seq = $1`, seq)
	if err != nil {
		return journal.Record{}, false, fmt.Errorf("journal: reading record %d: %w", seq, err)
	}
	if len(recs) == 0 {
		return journal.Record{}, false, nil
	}
	return recs[0], true, nil
}

func (s reader) records(ctx context.Context, q string, args ...any) ([]journal.Record, error) {
	rows, err := s.q.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var recs []journal.Record
	for rows.Next() {
		var seq int64
		var runID string
		var body, hash []byte
		if err := rows.Scan(&seq, &runID, &body, &hash); err != nil {
			return nil, err
		}
		r, err := journal.ParseBody(body)
		if err != nil {
			r = journal.Record{Body: body}
		}
		// The hash is stored as 32 bytes; any other value (the table was
		// edited) is still hex-encoded, and does not match the body.
		r.Seq, r.RunID, r.Hash = seq, runID, hex.EncodeToString(hash)
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

// Head is the seq and hash of the last record, as journal_head says.
func (s reader) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.q.QueryRow(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("journal: reading the head: %w", err)
	}
	return seq, hash, nil
}

// Source returns the runbook content with the given hash, or
// journal.ErrSourceNotFound.
func (s reader) Source(ctx context.Context, sha256 string) (journal.Source, error) {
	src := journal.Source{SHA256: sha256}
	err := s.q.QueryRow(ctx, `SELECT name, file, src FROM journal_sources WHERE sha256 = $1`, sha256).
		Scan(&src.Name, &src.File, &src.Src)
	if errors.Is(err, pgx.ErrNoRows) {
		return journal.Source{}, journal.ErrSourceNotFound
	}
	if err != nil {
		return journal.Source{}, fmt.Errorf("journal: reading runbook source %s: %w", sha256, err)
	}
	return src, nil
}
