// Package sqlite is the embedded journal store: one SQLite database,
// home/journal.db, in WAL mode, shared safely by every steward process
// that uses the same home folder.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine/journal"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// DBFile is the name of the database inside the home folder.
const DBFile = "journal.db"

// timeFormat is how times are stored: UTC and fixed-width, so that text
// order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// migrations are the schema versions, in order: migrations[i] takes a
// database from version i to i+1.
//
// A record is stored as its body, byte for byte what Seal made and
// Export writes, and its hash as 32 raw bytes (Record.Hash is their hex).
// Beside the body a record keeps only seq and rid, the run it is filed
// under: its time, type, prev_hash and run_prev are read from the body,
// which the hash covers. rid numbers the run in run_ids, which only maps
// run ids to numbers, apart from runs: a run whose summary was deleted
// keeps its records findable, for Verify to name. records_rid need not
// name seq: every index entry ends with the rowid, seq.
var migrations = []string{
	`CREATE TABLE run_ids (
		rid INTEGER PRIMARY KEY,
		id  TEXT NOT NULL UNIQUE
	);
	CREATE TABLE records (
		seq  INTEGER PRIMARY KEY,
		rid  INTEGER NOT NULL,
		body BLOB NOT NULL,
		hash BLOB NOT NULL
	);
	CREATE INDEX records_rid ON records (rid);
	CREATE TABLE head (
		id   INTEGER PRIMARY KEY CHECK (id = 1),
		seq  INTEGER NOT NULL,
		hash TEXT NOT NULL
	);
	CREATE TABLE runs (
		id          TEXT PRIMARY KEY,
		runbook     TEXT NOT NULL,
		version     TEXT NOT NULL,
		actor       TEXT NOT NULL,
		status      TEXT NOT NULL,
		dry_run     INTEGER NOT NULL,
		parent      TEXT NOT NULL,
		started_at  TEXT NOT NULL,
		updated_at  TEXT NOT NULL,
		finished_at TEXT,
		host        TEXT NOT NULL,
		pid         INTEGER NOT NULL
	);
	CREATE INDEX runs_started ON runs (started_at);
	CREATE TABLE sources (
		sha256 TEXT PRIMARY KEY,
		name   TEXT NOT NULL,
		file   TEXT NOT NULL,
		src    BLOB NOT NULL
	);`,
}

// Store is the SQLite journal. It implements journal.Store.
type Store struct {
	home string
	path string
	// w has a single connection: this process's appends queue for it
	// rather than for SQLite's busy timeout. r is the pool for reads.
	w, r  *sql.DB
	locks string
}

var _ journal.Store = (*Store)(nil)

// Open opens the journal in the folder home, creating the folder (0700)
// and the database (0600) if needed, and brings the schema up to date.
func Open(home string) (*Store, error) {
	s := &Store{home: home, path: filepath.Join(home, DBFile), locks: filepath.Join(home, "locks")}
	if err := makeDir(home); err != nil {
		return nil, err
	}
	if err := makeDir(s.locks); err != nil {
		return nil, err
	}
	if err := createPrivate(s.path); err != nil {
		return nil, err
	}
	dsn := "file:" + (&url.URL{Path: s.path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(ON)&_txlock=immediate"
	var err error
	if s.w, err = sql.Open("sqlite", dsn); err != nil {
		return nil, fmt.Errorf("journal: opening %s: %w", s.path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	if s.r, err = sql.Open("sqlite", dsn); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("journal: opening %s: %w", s.path, err)
	}
	s.r.SetMaxIdleConns(4)
	if err := s.migrateRetrying(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	for _, ext := range []string{"-wal", "-shm"} {
		if err := os.Chmod(s.path+ext, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	return s, nil
}

// makeDir creates dir with mode 0700; an existing folder is left as it is.
func makeDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// createPrivate creates an empty file with mode 0600 unless it exists.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("journal: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// migrate applies the migrations the database lacks, in one immediate
// transaction, so that concurrent Opens apply each once.
// migrateRetrying migrates, and tries again while the database is busy:
// when several processes open a new journal at once, SQLite answers
// SQLITE_BUSY to the switch to WAL mode without waiting for the busy
// timeout.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

// current says whether the schema is up to date, reading without a write
// lock, so that opening an existing journal does not queue behind writers.
func (s *Store) current(ctx context.Context) bool {
	var version int
	err := s.r.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	return err == nil && version == len(migrations)
}

func (s *Store) migrate(ctx context.Context) (err error) {
	if s.current(ctx) {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: opening %s: %w", s.path, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("journal: migrating %s: %w", s.path, err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("journal: migrating %s: %w", s.path, err)
	}
	if version > len(migrations) {
		return fmt.Errorf("journal: store at %s has schema version %d; this steward knows up to %d: upgrade steward",
			s.path, version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("journal: migrating %s to version %d: %w", s.path, v+1, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1); err != nil {
			return fmt.Errorf("journal: migrating %s to version %d: %w", s.path, v+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: migrating %s: %w", s.path, err)
	}
	return nil
}

// Close closes the database. Runs acquired through the store stay
// acquired until released.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}
