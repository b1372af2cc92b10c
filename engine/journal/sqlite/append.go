package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// Append seals the batch's entries after the journal's head, in one
// immediate transaction: processes appending to the same database at the
// same time each get a turn, and the chain stays whole. An entry without
// a time gets the current time; its data must be a JSON object (it is
// compacted if it spans lines). A batch without entries only updates the
// run's summary (and stores the source).
func (s *Store) Append(ctx context.Context, b journal.Batch) (recs []journal.Record, err error) {
	if b.RunID == "" {
		return nil, errors.New("journal: append: the batch has no run id")
	}
	if b.Run != nil && b.Run.ID != b.RunID {
		return nil, fmt.Errorf("journal: append: the batch is for run %s but its summary is for run %s", b.RunID, b.Run.ID)
	}
	entries := make([]journal.Entry, len(b.Entries))
	for i, e := range b.Entries {
		if e.Data, err = checkData(e.Data); err != nil {
			return nil, fmt.Errorf("journal: append: %s entry of run %s: %w", e.Type, b.RunID, err)
		}
		if e.Type == "" {
			return nil, fmt.Errorf("journal: append: entry %d of run %s has no type", i, b.RunID)
		}
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		entries[i] = e
	}

	// Pragmas are per connection: take the writer's one connection for
	// the whole append.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	defer conn.Close()
	if b.Sync {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			return nil, fmt.Errorf("journal: append: %w", err)
		}
		defer func() {
			if _, rerr := conn.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`); rerr != nil && err == nil {
				err = fmt.Errorf("journal: append: %w", rerr)
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	recs, err = appendTx(ctx, tx, b, entries)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	return recs, nil
}

func appendTx(ctx context.Context, tx *sql.Tx, b journal.Batch, entries []journal.Entry) ([]journal.Record, error) {
	var recs []journal.Record
	if len(entries) > 0 {
		var seq int64
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM head WHERE id = 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("journal: append: reading the head: %w", err)
		}
		rid, runPrev, err := runTail(ctx, tx, b.RunID)
		if err != nil {
			return nil, fmt.Errorf("journal: append: reading run %s: %w", b.RunID, err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO records (seq, rid, body, hash) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return nil, fmt.Errorf("journal: append: %w", err)
		}
		defer ins.Close()
		recs = make([]journal.Record, len(entries))
		var hash [sha256.Size]byte
		for i, e := range entries {
			seq++
			r := journal.Seal(seq, b.RunID, prev, runPrev, e)
			if _, err := hex.Decode(hash[:], []byte(r.Hash)); err != nil {
				return nil, fmt.Errorf("journal: append: record %d: %w", seq, err)
			}
			if _, err := ins.ExecContext(ctx, r.Seq, rid, r.Body, hash[:]); err != nil {
				return nil, fmt.Errorf("journal: append: record %d: %w", seq, err)
			}
			prev, runPrev = r.Hash, r.Hash
			recs[i] = r
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, seq, prev); err != nil {
			return nil, fmt.Errorf("journal: append: writing the head: %w", err)
		}
	}
	if r := b.Run; r != nil {
		var finished any
		if !r.FinishedAt.IsZero() {
			finished = formatTime(r.FinishedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO runs
			(id, runbook, version, actor, status, dry_run, parent, started_at, updated_at, finished_at, host, pid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Runbook, r.Version, r.Actor, r.Status, r.DryRun, r.Parent,
			formatTime(r.StartedAt), formatTime(r.UpdatedAt), finished, r.Host, r.PID); err != nil {
			return nil, fmt.Errorf("journal: append: writing run %s: %w", r.ID, err)
		}
	}
	if src := b.Source; src != nil {
		content := src.Src
		if content == nil {
			content = []byte{} // an empty blob, not NULL
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sources (sha256, name, file, src) VALUES (?, ?, ?, ?)`,
			src.SHA256, src.Name, src.File, content); err != nil {
			return nil, fmt.Errorf("journal: append: writing runbook source %s: %w", src.SHA256, err)
		}
	}
	return recs, nil
}

// runTail returns the number run_ids gives the run, numbering it if it
// has none yet, and the hash of its last record ("" when it has none).
func runTail(ctx context.Context, tx *sql.Tx, runID string) (rid int64, last string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT rid FROM run_ids WHERE id = ?`, runID).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		res, err := tx.ExecContext(ctx, `INSERT INTO run_ids (id) VALUES (?)`, runID)
		if err != nil {
			return 0, "", err
		}
		rid, err = res.LastInsertId()
		return rid, "", err
	}
	if err != nil {
		return 0, "", err
	}
	var hash []byte
	err = tx.QueryRowContext(ctx, `SELECT hash FROM records WHERE rid = ? ORDER BY seq DESC LIMIT 1`, rid).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return rid, "", nil
	}
	return rid, hex.EncodeToString(hash), err
}

// checkData returns an entry's data as it is sealed: {} when empty, a
// JSON object on one line.
func checkData(d json.RawMessage) (json.RawMessage, error) {
	if len(d) == 0 {
		return d, nil
	}
	if !json.Valid(d) {
		return nil, errors.New("its data is not valid JSON")
	}
	if d[0] != '{' || d[len(d)-1] != '}' || bytes.ContainsAny(d, "\r\n") {
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return nil, err
		}
		d = buf.Bytes()
		if d[0] != '{' {
			return nil, errors.New("its data is not a JSON object")
		}
	}
	return d, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }
