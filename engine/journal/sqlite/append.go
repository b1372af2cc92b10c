package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// Append seals the batch's entries after the journal's head, in an
// immediate transaction: processes appending to the same database at the
// same time each get a turn, and the chain stays whole. An entry without
// a time gets the current time; its data must be a JSON object (it is
// compacted if it spans lines). A batch without entries only updates the
// run's summary (and stores the source). The batch is refused, in the
// same transaction, when its run has ended or holds its Once key (see
// journal.Store).
//
// Appends of this process that arrive while another is being written are
// committed together (group commit): one transaction, and one flush when
// any of them is Sync, for all of them. Each batch is a savepoint of its
// own in it, so a batch refused or failed leaves the others as they are;
// a batch's records are durable (with Sync) or visible when Append
// returns, as when it is alone.
func (s *Store) Append(ctx context.Context, b journal.Batch) (recs []journal.Record, err error) {
	entries, err := journal.CheckBatch(b, time.Now)
	if err != nil {
		return nil, err
	}
	req := &appendReq{ctx: ctx, b: b, entries: entries, done: make(chan struct{})}
	s.queueMu.Lock()
	s.queue = append(s.queue, req)
	s.queueMu.Unlock()
	for {
		select {
		case <-req.done:
			return req.recs, req.err
		case s.appending <- struct{}{}:
			// This process's turn: write what is queued up to this
			// batch, unless a writer before took it; the batches queued
			// after it are for their own callers, waiting for the turn.
			s.commitQueued(req)
			<-s.appending
		case <-ctx.Done():
			if s.unqueue(req) {
				return nil, ctx.Err()
			}
			// Taken by a writer: its outcome is on its way.
			<-req.done
			return req.recs, req.err
		}
	}
}

// appendReq is a batch waiting for its turn, and once done, its outcome.
type appendReq struct {
	ctx     context.Context
	b       journal.Batch
	entries []journal.Entry
	recs    []journal.Record
	err     error
	done    chan struct{}
}

// unqueue takes req out of the queue unless a writer took it.
func (s *Store) unqueue(req *appendReq) bool {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	for i, r := range s.queue {
		if r == req {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			return true
		}
	}
	return false
}

// maxGroup bounds the batches written in one transaction, so that one
// commit stays short.
const maxGroup = 64

// commitQueued writes the queued batches, maxGroup at a time, each in a
// savepoint of one transaction, until req is written; the caller holds
// s.appending.
func (s *Store) commitQueued(req *appendReq) {
	for {
		select {
		case <-req.done:
			return
		default:
		}
		s.queueMu.Lock()
		n := min(len(s.queue), maxGroup)
		group := append([]*appendReq(nil), s.queue[:n]...)
		s.queue = s.queue[n:]
		s.queueMu.Unlock()
		if len(group) == 0 {
			return // taken by a writer before, which is done with it
		}
		s.commitGroup(group)
		for _, r := range group {
			close(r.done)
		}
	}
}

// commitGroup writes group in one transaction, setting each request's
// outcome. The transaction does not end with a request's context: the
// others are in it (a request whose caller gave up is written anyway, as
// a batch alone would be once begun).
func (s *Store) commitGroup(group []*appendReq) {
	fail := func(err error) {
		for _, r := range group {
			if r.err == nil {
				r.recs, r.err = nil, fmt.Errorf("journal: append: %w", err)
			}
		}
	}
	ctx := context.WithoutCancel(group[0].ctx)
	sync := false
	for _, r := range group {
		sync = sync || r.b.Sync
	}
	s.prepareWanted(ctx)
	// Pragmas are per connection: keep one for the whole transaction.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		fail(err)
		return
	}
	defer conn.Close()
	if sync {
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
			fail(err)
			return
		}
		defer func() {
			if _, rerr := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); rerr != nil {
				// The batches are committed; the connection is not fit
				// for reuse with this setting.
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	if len(group) == 1 {
		r := group[0]
		if r.recs, r.err = appendTx(ctx, cachedTx{tx, s}, r.b, r.entries); r.err != nil {
			tx.Rollback()
			return
		}
	} else {
		for _, r := range group {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT batch`); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
			r.recs, r.err = appendTx(ctx, cachedTx{tx, s}, r.b, r.entries)
			if r.err != nil {
				r.recs = nil
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch`); err != nil {
					tx.Rollback()
					fail(err)
					return
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE batch`); err != nil {
				tx.Rollback()
				fail(err)
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
	}
}

func appendTx(ctx context.Context, tx cachedTx, b journal.Batch, entries []journal.Entry) ([]journal.Record, error) {
	if err := refusal(ctx, tx, b); err != nil {
		return nil, err
	}
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
		if b.Cancel {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO cancels (run_id, seq) VALUES (?, ?)`, b.RunID, seq); err != nil {
				return nil, fmt.Errorf("journal: append: recording the cancel request of run %s: %w", b.RunID, err)
			}
		}
		if b.Once != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO once_keys (run_id, key, seq) VALUES (?, ?, ?)`, b.RunID, b.Once, recs[0].Seq); err != nil {
				return nil, fmt.Errorf("journal: append: claiming %q in run %s: %w", b.Once, b.RunID, err)
			}
		}
		if b.Key != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO keys (key, run_id, seq) VALUES (?, ?, ?)`, b.Key, b.RunID, recs[0].Seq); err != nil {
				return nil, fmt.Errorf("journal: append: claiming key %q for run %s: %w", b.Key, b.RunID, err)
			}
		}
		if end != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ended (run_id, seq) VALUES (?, ?)`, b.RunID, end); err != nil {
				return nil, fmt.Errorf("journal: append: ending run %s: %w", b.RunID, err)
			}
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

// refusal is why the batch cannot be appended: its run has ended
// (*journal.EndedError), or holds its Once key, or a run holds its Key
// (*journal.DuplicateError).
// The append's immediate transaction makes the check and the write one.
func refusal(ctx context.Context, tx cachedTx, b journal.Batch) error {
	var seq int64
	err := tx.QueryRowContext(ctx, `SELECT seq FROM ended WHERE run_id = ?`, b.RunID).Scan(&seq)
	switch {
	case err == nil:
		return &journal.EndedError{RunID: b.RunID, Seq: seq}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("journal: append: reading run %s: %w", b.RunID, err)
	}
	if b.Once != "" {
		err = tx.QueryRowContext(ctx, `SELECT seq FROM once_keys WHERE run_id = ? AND key = ?`, b.RunID, b.Once).Scan(&seq)
		switch {
		case err == nil:
			return &journal.DuplicateError{RunID: b.RunID, Once: b.Once, Seq: seq}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("journal: append: reading run %s: %w", b.RunID, err)
		}
	}
	if b.Key != "" {
		var holder string
		err = tx.QueryRowContext(ctx, `SELECT run_id, seq FROM keys WHERE key = ?`, b.Key).Scan(&holder, &seq)
		switch {
		case err == nil:
			return &journal.DuplicateError{RunID: holder, Key: b.Key, Seq: seq}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("journal: append: reading key %q: %w", b.Key, err)
		}
	}
	return nil
}

// runTail returns the number run_ids gives the run, numbering it if it
// has none yet, and the hash of its last record ("" when it has none).
func runTail(ctx context.Context, tx cachedTx, runID string) (rid int64, last string, err error) {
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

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// cachedTx runs a transaction's statements as statements prepared once
// per connection (see Store.prepared), rather than parsed at each call:
// an append runs about ten.
type cachedTx struct {
	*sql.Tx
	s *Store
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.s.prepared(query); st != nil {
		return t.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.s.prepared(query); st != nil {
		return t.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t cachedTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.s.prepared(query); st != nil {
		return t.StmtContext(ctx, st), nil
	}
	return t.Tx.PrepareContext(ctx, query)
}

// prepared returns query as a statement of the pool if it is prepared,
// or nil, asking for it to be prepared before the next append (see
// prepareWanted). database/sql prepares a statement of the pool on each
// connection that runs it, once, and keeps it until the connection
// closes.
func (s *Store) prepared(query string) *sql.Stmt {
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = nil // wanted
	return nil
}

// prepareWanted prepares the statements that prepared was asked for.
// It runs before an append takes its connection, so that preparing takes
// the idle connection the append then gets, rather than opening another.
func (s *Store) prepareWanted(ctx context.Context) {
	s.stmtsMu.Lock()
	defer s.stmtsMu.Unlock()
	for q, st := range s.stmts {
		if st != nil {
			continue
		}
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			delete(s.stmts, q) // parsed at each call, as before
			continue
		}
		s.stmts[q] = st
	}
}
