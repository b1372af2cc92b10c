package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// reader reads the journal through q: the store's pool, where each call
// reads the database as it is then, or one read transaction (Snapshot).
type reader struct{ q querier }

// querier is what reader needs of a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Snapshot calls fn with a reader of one read transaction: SQLite in WAL
// mode gives it the database as it was at its first read, which Snapshot
// makes at once, whatever other connections commit meanwhile. A Records
// callback reads through the same transaction. The transaction holds
// back checkpoints past its snapshot (the WAL grows) until fn returns.
func (s *Store) Snapshot(ctx context.Context, fn func(journal.Reader) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("journal: reading a snapshot: %w", err)
	}
	defer tx.Rollback()
	// A deferred transaction takes its snapshot at its first read.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM head`).Scan(&n); err != nil {
		return fmt.Errorf("journal: reading a snapshot: %w", err)
	}
	return fn(reader{tx})
}

const runColumns = `id, runbook, version, actor, status, dry_run, parent, started_at, updated_at, finished_at, host, pid`

// Run returns a run's summary, or journal.ErrRunNotFound.
func (s reader) Run(ctx context.Context, id string) (journal.Run, error) {
	var run journal.Run
	found := false
	err := s.scanRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, []any{id}, func(r journal.Run) error {
		run, found = r, true
		return nil
	})
	if err != nil {
		return journal.Run{}, fmt.Errorf("journal: reading run %s: %w", id, err)
	}
	if !found {
		return journal.Run{}, journal.ErrRunNotFound
	}
	return run, nil
}

// Runs calls fn for each run f selects, the latest started first, as it
// reads them; an error from fn stops it and is returned as it is.
func (s reader) Runs(ctx context.Context, f journal.Filter, fn func(journal.Run) error) error {
	var where []string
	var args []any
	if f.Runbook != "" {
		where, args = append(where, `runbook = ?`), append(args, f.Runbook)
	}
	if f.Status != "" {
		where, args = append(where, `status = ?`), append(args, f.Status)
	}
	if !f.Since.IsZero() {
		where, args = append(where, `started_at >= ?`), append(args, formatTime(f.Since))
	}
	if f.IDPrefix != "" {
		// substr and instr compare the text as it is: unlike LIKE and
		// GLOB, no character of the prefix is a wildcard, and case counts.
		where = append(where, `(substr(id, 1, length(?)) = ? OR instr(id, ?) > 0)`)
		args = append(args, f.IDPrefix, f.IDPrefix, "-"+f.IDPrefix)
	}
	if f.Actor != "" {
		where, args = append(where, `actor = ?`), append(args, f.Actor)
	}
	if p := f.After; p != nil {
		// Times are stored in one fixed-width format: as text they
		// compare as the times do. A row value, not the same test
		// spelled with OR: SQLite reads it from the index in order,
		// where the OR made it sort every older run (20 ms a page deep
		// in 100,000 runs, against 0.1 ms).
		where = append(where, `(started_at, id) < (?, ?)`)
		args = append(args, formatTime(p.StartedAt), p.ID)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY started_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var fnErr error
	err := s.scanRuns(ctx, q, args, func(r journal.Run) error {
		fnErr = fn(r)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("journal: listing runs: %w", err)
	}
	return nil
}

// scanRuns runs the query q of runColumns and calls fn for each row.
func (s reader) scanRuns(ctx context.Context, q string, args []any, fn func(journal.Run) error) error {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r journal.Run
		var started, updated string
		var finished sql.NullString
		if err := rows.Scan(&r.ID, &r.Runbook, &r.Version, &r.Actor, &r.Status, &r.DryRun, &r.Parent,
			&started, &updated, &finished, &r.Host, &r.PID); err != nil {
			return err
		}
		var err error
		if r.StartedAt, err = parseTime(started); err != nil {
			return fmt.Errorf("run %s: started_at: %w", r.ID, err)
		}
		if r.UpdatedAt, err = parseTime(updated); err != nil {
			return fmt.Errorf("run %s: updated_at: %w", r.ID, err)
		}
		if finished.Valid {
			if r.FinishedAt, err = parseTime(finished.String); err != nil {
				return fmt.Errorf("run %s: finished_at: %w", r.ID, err)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// parseTime reads a stored time. RFC3339Nano parses the fixed-width
// format too, on time.Parse's fast path.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}

// recordQuery reads records with the id of the run they are filed under
// ("" when run_ids has no such run: the table was edited).
const recordQuery = `SELECT r.seq, coalesce(k.id, ''), r.body, r.hash
	FROM records r LEFT JOIN run_ids k ON k.rid = r.rid`

// Records calls fn for each record in seq order: of run runID, or of all
// runs when runID is "", whose time is since or later. Seq and RunID come
// from the table's columns, the other fields from the record's body; a
// record whose body does not parse is still passed on (whatever since
// is), with those fields empty, for Verify to name. fn may keep the
// record, and may call the reader: on the store, the walk holds a
// connection of its own, and the store opens another; in a snapshot,
// the walk and the call read through the same transaction.
func (s reader) Records(ctx context.Context, runID string, since time.Time, fn func(journal.Record) error) error {
	q, args := recordQuery, []any(nil)
	if runID != "" {
		q, args = q+` WHERE r.rid = (SELECT rid FROM run_ids WHERE id = ?)`, append(args, runID)
	}
	q += ` ORDER BY r.seq`
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("journal: reading records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return fmt.Errorf("journal: reading records: %w", err)
		}
		// A body that did not parse (Data nil) has no time to compare.
		if !since.IsZero() && r.Data != nil && r.Time.Before(since) {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: reading records: %w", err)
	}
	return nil
}

// Record returns the record with seq, or ok false.
func (s reader) Record(ctx context.Context, seq int64) (journal.Record, bool, error) {
	rows, err := s.q.QueryContext(ctx, recordQuery+` WHERE r.seq = ?`, seq)
	if err != nil {
		return journal.Record{}, false, fmt.Errorf("journal: reading record %d: %w", seq, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return journal.Record{}, false, fmt.Errorf("journal: reading record %d: %w", seq, err)
		}
		return journal.Record{}, false, nil
	}
	r, err := scanRecord(rows)
	if err != nil {
		return journal.Record{}, false, fmt.Errorf("journal: reading record %d: %w", seq, err)
	}
	return r, true, nil
}

func scanRecord(rows *sql.Rows) (journal.Record, error) {
	var seq int64
	var runID string
	var body []byte
	var hash sql.RawBytes
	if err := rows.Scan(&seq, &runID, &body, &hash); err != nil {
		return journal.Record{}, err
	}
	r, err := journal.ParseBody(body)
	if err != nil {
		r = journal.Record{Body: body}
	}
	// The hash is stored as 32 bytes; any other value (the table was
	// edited) is still hex-encoded, and does not match the body.
	r.Seq, r.RunID, r.Hash = seq, runID, hex.EncodeToString(hash)
	return r, nil
}

// Head is the seq and hash of the last record, as the head table says.
func (s reader) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := s.q.QueryRowContext(ctx, `SELECT seq, hash FROM head WHERE id = 1`).Scan(&seq, &hash)
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.q.QueryRowContext(ctx, `SELECT name, file, src FROM sources WHERE sha256 = ?`, sha256).
		Scan(&src.Name, &src.File, &src.Src)
	if errors.Is(err, sql.ErrNoRows) {
		return journal.Source{}, journal.ErrSourceNotFound
	}
	if err != nil {
		return journal.Source{}, fmt.Errorf("journal: reading runbook source %s: %w", sha256, err)
	}
	return src, nil
}
