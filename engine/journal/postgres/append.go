package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stewardhq/steward/engine/journal"
)

// channel is the SQL of the channel every append notifies, in its
// transaction, with the payload "RUN_ID SEQ": the run and the last record
// of the batch (see Listen). Channels are per database, as advisory locks
// are: the schema the store is in is in the name (hashed: a channel's
// name is at most 63 bytes), so that stores in two schemas of one
// database notify apart. One channel for all, a listener was told of the
// other store's runs and seqs (TestListen failed when another test
// appended to the test database at the same time).
const channel = `'steward_journal_' || left(md5(current_schema()), 16)`

// Append seals the batch's entries after the journal's head, in one READ
// COMMITTED transaction that first locks the head row (see appendTx): appends from
// every process take turns on it, so that the chain stays whole, and
// each statement after the lock reads what the appends before committed.
// The batch is refused, in the same transaction, when its run has ended,
// holds its Once key, or a run holds its Key (see journal.Store). A batch
// without entries only writes the run's summary (and the source), under
// the same lock: a summary is never written after its run's end.
//
// Durability: a batch with Sync commits with synchronous_commit on (it
// returns once the commit is flushed to disk, and to synchronous standbys
// if any); one without commits with synchronous_commit off, which
// returns before the flush: a crash of the database server (or of its
// machine) may lose the last such batches, never a part of one.
//
// The transaction ends with pg_notify(channel, "RUN_ID SEQ"), delivered
// to listeners when it commits.
func (s *Store) Append(ctx context.Context, b journal.Batch) ([]journal.Record, error) {
	entries, err := journal.CheckBatch(b, time.Now)
	if err != nil {
		return nil, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	defer conn.Release()
	recs, err := appendTx(ctx, conn.Conn(), b, entries)
	if err != nil {
		// A connection whose transaction this could not end is closed
		// when it is released, rather than given back to the pool.
		conn.Exec(context.Background(), `ROLLBACK`)
		return nil, err
	}
	return recs, nil
}

// tail is what an append reads under the head's lock.
type tail struct {
	seq      int64  // the head
	prev     string // its hash
	ended    int64  // the record that ended the run, 0 if none
	once     int64  // the record that claimed b.Once in the run, 0 if none
	keyRun   string // the run that holds b.Key, "" if none
	keySeq   int64
	runPrev  []byte // the hash of the run's last record, nil if none
	hasRunID bool   // journal_run_ids numbers the run
}

// appendTx runs the append's transaction on conn in two round trips,
// each a pipeline of statements: BEGIN, the head's lock and the reads
// (readTail); then, once the records are sealed, the writes and COMMIT.
// So the head is locked for two round trips and the commit. On an error
// the transaction may be open: the caller rolls it back.
func appendTx(ctx context.Context, conn *pgx.Conn, b journal.Batch, entries []journal.Entry) ([]journal.Record, error) {
	t, err := readTail(ctx, conn, b)
	if err != nil {
		return nil, fmt.Errorf("journal: append: %w", err)
	}
	switch {
	case t.ended != 0:
		return nil, &journal.EndedError{RunID: b.RunID, Seq: t.ended}
	case t.once != 0:
		return nil, &journal.DuplicateError{RunID: b.RunID, Once: b.Once, Seq: t.once}
	case t.keyRun != "":
		return nil, &journal.DuplicateError{RunID: t.keyRun, Key: b.Key, Seq: t.keySeq}
	}

	w := &pgx.Batch{}
	var recs []journal.Record
	if len(entries) > 0 {
		seq, prev, runPrev := t.seq, t.prev, hex.EncodeToString(t.runPrev)
		recs = make([]journal.Record, len(entries))
		seqs, bodies, hashes := make([]int64, len(entries)), make([][]byte, len(entries)), make([][]byte, len(entries))
		var end int64 // the record that ends the run
		for i, e := range entries {
			if end != 0 {
				return nil, &journal.EndedError{RunID: b.RunID, Seq: end}
			}
			seq++
			if journal.EndsRun(e) {
				end = seq
			}
			r := journal.Seal(seq, b.RunID, prev, runPrev, e)
			hash := make([]byte, sha256.Size)
			if _, err := hex.Decode(hash, []byte(r.Hash)); err != nil {
				return nil, fmt.Errorf("journal: append: record %d: %w", seq, err)
			}
			seqs[i], bodies[i], hashes[i] = seq, r.Body, hash
			prev, runPrev = r.Hash, r.Hash
			recs[i] = r
		}
		if !t.hasRunID {
			w.Queue(`INSERT INTO journal_run_ids (id) VALUES ($1)`, b.RunID)
		}
		w.Queue(`INSERT INTO journal_records (seq, rid, body, hash)
			SELECT u.seq, k.rid, u.body, u.hash FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) AS u(seq, body, hash),
				journal_run_ids k WHERE k.id = $4`, seqs, bodies, hashes, b.RunID)
		w.Queue(`UPDATE journal_head SET seq = $1, hash = $2 WHERE id = 1`, seq, prev)
		if b.Cancel {
			w.Queue(`INSERT INTO journal_cancels (run_id, seq) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING`, b.RunID, seq)
		}
		if b.Once != "" {
			w.Queue(`INSERT INTO journal_once_keys (run_id, key, seq) VALUES ($1, $2, $3)`, b.RunID, b.Once, recs[0].Seq)
		}
		if b.Key != "" {
			w.Queue(`INSERT INTO journal_keys (key, run_id, seq) VALUES ($1, $2, $3)`, b.Key, b.RunID, recs[0].Seq)
		}
		if end != 0 {
			w.Queue(`INSERT INTO journal_ended (run_id, seq) VALUES ($1, $2)`, b.RunID, end)
		}
		w.Queue(`SELECT pg_notify(`+channel+`, $1)`, b.RunID+" "+strconv.FormatInt(seq, 10))
	}
	if r := b.Run; r != nil {
		var finished *time.Time
		if !r.FinishedAt.IsZero() {
			finished = &r.FinishedAt
		}
		w.Queue(`INSERT INTO journal_runs (`+runColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET runbook = excluded.runbook, version = excluded.version, actor = excluded.actor,
				status = excluded.status, dry_run = excluded.dry_run, parent = excluded.parent, started_at = excluded.started_at,
				updated_at = excluded.updated_at, finished_at = excluded.finished_at, host = excluded.host, pid = excluded.pid`,
			r.ID, r.Runbook, r.Version, r.Actor, r.Status, r.DryRun, r.Parent, r.StartedAt, r.UpdatedAt, finished, r.Host, r.PID)
	}
	if src := b.Source; src != nil {
		content := src.Src
		if content == nil {
			content = []byte{} // an empty value, not NULL
		}
		w.Queue(`INSERT INTO journal_sources (sha256, name, file, src) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING`,
			src.SHA256, src.Name, src.File, content)
	}
	w.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, w).Close(); err != nil {
		return nil, fmt.Errorf("journal: append: writing the batch of run %s: %w", b.RunID, err)
	}
	return recs, nil
}

// readTail begins the transaction, locks the head and reads what the
// batch needs, in one round trip: the statements run in order, each
// (READ COMMITTED) seeing what was committed before the lock was
// granted.
func readTail(ctx context.Context, conn *pgx.Conn, b journal.Batch) (tail, error) {
	var t tail
	sync := "off"
	if b.Sync {
		sync = "on"
	}
	r := &pgx.Batch{}
	r.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	r.Queue(`SELECT set_config('synchronous_commit', $1, true)`, sync)
	r.Queue(`SELECT seq, hash FROM journal_head WHERE id = 1 FOR UPDATE`).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&t.seq, &t.prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return errors.New("the journal_head row is missing: the table was edited")
		}
		return err
	})
	r.Queue(`SELECT seq FROM journal_ended WHERE run_id = $1`, b.RunID).QueryRow(optional(&t.ended))
	if b.Once != "" {
		r.Queue(`SELECT seq FROM journal_once_keys WHERE run_id = $1 AND key = $2`, b.RunID, b.Once).QueryRow(optional(&t.once))
	}
	if b.Key != "" {
		r.Queue(`SELECT run_id, seq FROM journal_keys WHERE key = $1`, b.Key).QueryRow(optional(&t.keyRun, &t.keySeq))
	}
	if len(b.Entries) > 0 {
		r.Queue(`SELECT (SELECT hash FROM journal_records WHERE rid = k.rid ORDER BY seq DESC LIMIT 1)
			FROM journal_run_ids k WHERE k.id = $1`, b.RunID).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&t.runPrev)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			t.hasRunID = err == nil
			return err
		})
	}
	if err := conn.SendBatch(ctx, r).Close(); err != nil {
		return t, err
	}
	return t, nil
}

// optional scans a row that may not be there into dst.
func optional(dst ...any) func(pgx.Row) error {
	return func(row pgx.Row) error {
		if err := row.Scan(dst...); !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return nil
	}
}
