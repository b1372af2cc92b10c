package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stewardhq/steward/engine/journal"
)

// ErrNotEmpty refuses to copy a journal into a store that holds anything.
var ErrNotEmpty = errors.New("journal: the PostgreSQL store is not empty")

// ErrCopyDiffers refuses a copy that does not verify as the journal it
// copies: nothing was copied.
var ErrCopyDiffers = errors.New("journal: the copy does not verify")

// copyChunk is how many records one COPY writes, between progress calls.
const copyChunk = 5000

// CopyFrom copies the whole journal d reads into the store, which must
// be empty: every record as it is (its seq, body and hash), the head,
// the runs' summaries, the sources and the claims (Once keys, keys,
// cancel requests, ends), in one transaction that holds the head's lock.
// Leases are not copied: copy a journal no steward is using.
//
// Before it commits, it verifies what it wrote (journal.Verify, through
// the transaction): the chain must hold, with d's head, record for
// record. Otherwise nothing is copied, and the error (ErrCopyDiffers)
// names the first problem, which is the copied journal's own when it
// was tampered with. progress, when not nil, is called after each COPY of
// records with how many are copied, of d's head seq.
func (s *Store) CopyFrom(ctx context.Context, d journal.Dump, progress func(copied, total int64)) (journal.Report, error) {
	var rep journal.Report
	headSeq, headHash, err := d.Head(ctx)
	if err != nil {
		return rep, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return rep, fmt.Errorf("journal: copying into %s: %w", s.addr, err)
	}
	defer tx.Rollback(context.Background())
	if err := s.checkEmpty(ctx, tx); err != nil {
		return rep, err
	}
	c := &copier{tx: tx, rids: map[string]int64{}}
	err = d.Records(ctx, "", time.Time{}, func(r journal.Record) error {
		if err := c.add(r); err != nil {
			return err
		}
		if len(c.records) == copyChunk {
			if err := c.flush(ctx); err != nil {
				return err
			}
			if progress != nil {
				progress(c.copied, headSeq)
			}
		}
		return nil
	})
	if err == nil {
		err = c.flush(ctx)
	}
	if err != nil {
		return rep, fmt.Errorf("journal: copying records into %s: %w", s.addr, err)
	}
	if progress != nil && c.copied%copyChunk != 0 {
		progress(c.copied, headSeq)
	}
	if err := c.rest(ctx, d, headSeq, headHash); err != nil {
		return rep, fmt.Errorf("journal: copying into %s: %w", s.addr, err)
	}
	rep, err = journal.Verify(ctx, inTx{r: reader{q: tx}}, "")
	if err != nil {
		return rep, fmt.Errorf("journal: verifying the copy in %s: %w", s.addr, err)
	}
	switch {
	case rep.Problem != nil:
		return rep, fmt.Errorf("%w, so nothing was copied: %s", ErrCopyDiffers, rep.Problem.Error())
	case int64(rep.Records) != headSeq || rep.Head != headHash:
		return rep, fmt.Errorf("%w, so nothing was copied: it holds %d records up to %s; the journal's head is record %d, %s",
			ErrCopyDiffers, rep.Records, rep.Head, headSeq, headHash)
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, fmt.Errorf("journal: copying into %s: %w", s.addr, err)
	}
	return rep, nil
}

// checkEmpty locks the head and refuses a store that holds anything.
func (s *Store) checkEmpty(ctx context.Context, tx pgx.Tx) error {
	var seq int64
	if err := tx.QueryRow(ctx, `SELECT seq FROM journal_head WHERE id = 1 FOR UPDATE`).Scan(&seq); err != nil {
		return fmt.Errorf("journal: copying into %s: %w", s.addr, err)
	}
	var runs int64
	var other bool
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM journal_runs),
		EXISTS (SELECT 1 FROM journal_records) OR EXISTS (SELECT 1 FROM journal_run_ids) OR EXISTS (SELECT 1 FROM journal_sources)
		OR EXISTS (SELECT 1 FROM journal_leases) OR EXISTS (SELECT 1 FROM journal_cancels) OR EXISTS (SELECT 1 FROM journal_once_keys)
		OR EXISTS (SELECT 1 FROM journal_ended) OR EXISTS (SELECT 1 FROM journal_keys)`).Scan(&runs, &other)
	if err != nil {
		return fmt.Errorf("journal: copying into %s: %w", s.addr, err)
	}
	if seq != 0 || runs != 0 || other {
		return fmt.Errorf("%w: %s holds %d records and %d runs; copy into an empty database (or schema)", ErrNotEmpty, s.addr, seq, runs)
	}
	return nil
}

// inTx is the store as the copy's transaction sees it, for
// journal.Verify, which reads through Snapshot only.
type inTx struct {
	journal.Store // nil: only Snapshot is called
	r             reader
}

func (t inTx) Snapshot(_ context.Context, fn func(journal.Reader) error) error { return fn(t.r) }

// copier writes records with COPY, numbering their runs as it goes.
type copier struct {
	tx      pgx.Tx
	rids    map[string]int64
	newRuns [][]any
	records [][]any
	copied  int64
}

func (c *copier) add(r journal.Record) error {
	hash, err := hex.DecodeString(r.Hash)
	if err != nil {
		return fmt.Errorf("record %d: its hash %q is not hex", r.Seq, r.Hash)
	}
	rid, ok := c.rids[r.RunID]
	if !ok {
		rid = int64(len(c.rids) + 1)
		c.rids[r.RunID] = rid
		c.newRuns = append(c.newRuns, []any{rid, r.RunID})
	}
	c.records = append(c.records, []any{r.Seq, rid, r.Body, hash})
	return nil
}

func (c *copier) flush(ctx context.Context) error {
	if _, err := c.tx.CopyFrom(ctx, pgx.Identifier{"journal_run_ids"}, []string{"rid", "id"}, pgx.CopyFromRows(c.newRuns)); err != nil {
		return err
	}
	if _, err := c.tx.CopyFrom(ctx, pgx.Identifier{"journal_records"}, []string{"seq", "rid", "body", "hash"}, pgx.CopyFromRows(c.records)); err != nil {
		return err
	}
	c.copied += int64(len(c.records))
	c.newRuns, c.records = c.newRuns[:0], c.records[:0]
	return nil
}

// rest copies the head, the runs, the sources and the claims.
func (c *copier) rest(ctx context.Context, d journal.Dump, headSeq int64, headHash string) error {
	if _, err := c.tx.Exec(ctx, `UPDATE journal_head SET seq = $1, hash = $2 WHERE id = 1`, headSeq, headHash); err != nil {
		return err
	}
	if _, err := c.tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('journal_run_ids', 'rid'), max(rid)) FROM journal_run_ids`); err != nil {
		return err
	}
	var runs [][]any
	if err := d.Runs(ctx, journal.Filter{}, func(r journal.Run) error {
		var finished *time.Time
		if !r.FinishedAt.IsZero() {
			finished = &r.FinishedAt
		}
		runs = append(runs, []any{r.ID, r.Runbook, r.Version, r.Actor, r.Status, r.DryRun, r.Parent, r.StartedAt, r.UpdatedAt, finished, r.Host, r.PID})
		return nil
	}); err != nil {
		return err
	}
	if _, err := c.tx.CopyFrom(ctx, pgx.Identifier{"journal_runs"}, []string{"id", "runbook", "version", "actor", "status", "dry_run", "parent",
		"started_at", "updated_at", "finished_at", "host", "pid"}, pgx.CopyFromRows(runs)); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	var sources [][]any
	if err := d.Sources(ctx, func(s journal.Source) error {
		src := s.Src
		if src == nil {
			src = []byte{}
		}
		sources = append(sources, []any{s.SHA256, s.Name, s.File, src})
		return nil
	}); err != nil {
		return err
	}
	if _, err := c.tx.CopyFrom(ctx, pgx.Identifier{"journal_sources"}, []string{"sha256", "name", "file", "src"}, pgx.CopyFromRows(sources)); err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	claims := map[journal.ClaimKind][][]any{}
	if err := d.Claims(ctx, func(cl journal.Claim) error {
		switch cl.Kind {
		case journal.ClaimOnce:
			claims[cl.Kind] = append(claims[cl.Kind], []any{cl.RunID, cl.Key, cl.Seq})
		case journal.ClaimKey:
			claims[cl.Kind] = append(claims[cl.Kind], []any{cl.Key, cl.RunID, cl.Seq})
		case journal.ClaimCancel, journal.ClaimEnded:
			claims[cl.Kind] = append(claims[cl.Kind], []any{cl.RunID, cl.Seq})
		default:
			return fmt.Errorf("a claim of unknown kind %q", cl.Kind)
		}
		return nil
	}); err != nil {
		return err
	}
	for kind, table := range map[journal.ClaimKind]struct {
		name string
		cols []string
	}{
		journal.ClaimOnce:   {"journal_once_keys", []string{"run_id", "key", "seq"}},
		journal.ClaimKey:    {"journal_keys", []string{"key", "run_id", "seq"}},
		journal.ClaimCancel: {"journal_cancels", []string{"run_id", "seq"}},
		journal.ClaimEnded:  {"journal_ended", []string{"run_id", "seq"}},
	} {
		if _, err := c.tx.CopyFrom(ctx, pgx.Identifier{table.name}, table.cols, pgx.CopyFromRows(claims[kind])); err != nil {
			return fmt.Errorf("%s claims: %w", kind, err)
		}
	}
	return nil
}
