// Package sqlite is the embedded journal store: one SQLite database,
// home/journal.db, in WAL mode, shared safely by every steward process
// that uses the same home folder.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine/journal"

	sqlitedriver "modernc.org/sqlite" // also the "sqlite" database/sql driver
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
	// Leases of runs being executed (see lease.go) and cancel requests,
	// one row per run, written in the transaction of the request's record.
	`CREATE TABLE leases (
		run_id    TEXT PRIMARY KEY,
		holder    TEXT NOT NULL,
		host      TEXT NOT NULL,
		pid       INTEGER NOT NULL,
		acquired  TEXT NOT NULL,
		heartbeat TEXT NOT NULL,
		expires   TEXT NOT NULL
	);
	CREATE TABLE cancels (
		run_id TEXT PRIMARY KEY,
		seq    INTEGER NOT NULL
	);`,
	// The keys batches claim once in their run (journal.Batch.Once), and
	// the runs that have ended for good (journal.EndsRun), each row
	// written in the transaction of its record. Runs that ended before
	// this version are found in their records.
	`CREATE TABLE once_keys (
		run_id TEXT NOT NULL,
		key    TEXT NOT NULL,
		seq    INTEGER NOT NULL,
		PRIMARY KEY (run_id, key)
	);
	CREATE TABLE ended (
		run_id TEXT PRIMARY KEY,
		seq    INTEGER NOT NULL
	);
	INSERT OR IGNORE INTO ended (run_id, seq)
		SELECT k.id, r.seq FROM records r JOIN run_ids k ON k.rid = r.rid
		WHERE CASE WHEN json_valid(CAST(r.body AS TEXT)) THEN
			json_extract(CAST(r.body AS TEXT), '$.type') = 'run.finished' AND
			json_extract(CAST(r.body AS TEXT), '$.data.status') IN ('succeeded', 'failed', 'cancelled') END
		ORDER BY r.seq;`,
	// The keys unique in the whole store that batches claim for their run
	// (journal.Batch.Key): the event that started it, such as a
	// schedule's slot or a webhook's dedupe key.
	`CREATE TABLE keys (
		key    TEXT PRIMARY KEY,
		run_id TEXT NOT NULL,
		seq    INTEGER NOT NULL
	);`,
	// A runs listing filtered by runbook, actor or status, newest first
	// (the web console's, the API's): read in order from an index, one
	// page at a time, however many runs the journal holds.
	`CREATE INDEX IF NOT EXISTS runs_runbook ON runs (runbook, started_at, id);
	CREATE INDEX IF NOT EXISTS runs_actor ON runs (actor, started_at, id);
	CREATE INDEX IF NOT EXISTS runs_status ON runs (status, started_at, id);`,
}

// Store is the SQLite journal. It implements journal.Store.
type Store struct {
	// reader reads through the pool: each call sees the database as it
	// is then (Snapshot reads one state).
	reader
	home string
	path string
	// db is the pool of connections, each opened when first needed: a
	// process that uses the store from one goroutine at a time opens one.
	// A Records callback that calls the store again gets another.
	db *sql.DB
	// appending is held by the append under way: this process's appends
	// queue for it rather than for SQLite's busy timeout.
	appending chan struct{}
	// queue holds the appends waiting for appending (see Append).
	queueMu sync.Mutex
	queue   []*appendReq
	// stmts are the append's statements, prepared once (see prepared).
	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt
	locks   *flocks
	host    string // this host, to tell its leases from others'
}

var _ journal.Store = (*Store)(nil)

// dsnPragmas are run on each connection: WAL mode; synchronous=NORMAL,
// so that a commit is synced by the next checkpoint or Sync batch rather
// than at once; a checkpoint once the WAL holds 200 pages (800 KiB: what
// a process that finds the WAL left by Detach reads back, about 0.5 ms),
// after which journal_size_limit truncates the file to 1 MiB, and to
// nothing when the last connection closes (see persistWAL).
const dsnPragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(ON)&_pragma=wal_autocheckpoint(200)&_pragma=journal_size_limit(1048576)" +
	"&_txlock=immediate"

// Open opens the journal in the folder home, creating the folder (0700)
// and the database (0600) if needed, and brings the schema up to date.
func Open(home string) (*Store, error) {
	s := &Store{home: home, path: filepath.Join(home, DBFile), locks: newFlocks(filepath.Join(home, "locks")), host: hostname(),
		appending: make(chan struct{}, 1)}
	if err := makeDir(home); err != nil {
		return nil, err
	}
	if err := makeDir(filepath.Join(home, "locks")); err != nil {
		return nil, err
	}
	if err := createPrivate(s.path); err != nil {
		return nil, err
	}
	c, err := sqlitedriver.NewConnector("file:" + (&url.URL{Path: s.path}).EscapedPath() + dsnPragmas)
	if err != nil {
		return nil, fmt.Errorf("journal: opening %s: %w", s.path, err)
	}
	s.db = sql.OpenDB(persistWAL{c})
	s.reader = reader{s.db}
	s.db.SetMaxIdleConns(4)
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

// persistWAL opens connections that leave the WAL and shared-memory
// files in place when the last connection to the database closes
// (SQLITE_FCNTL_PERSIST_WAL), instead of deleting them at each exit
// for the next process to create again. That last close still
// checkpoints the WAL into the database (SQLite does unless
// SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE is set, which the driver does not
// expose), then truncates it (journal_size_limit): so the next process
// does not read a WAL's frames back to rebuild its index when it opens
// the database.
type persistWAL struct{ driver.Connector }

func (p persistWAL) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := p.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	fc, ok := c.(sqlitedriver.FileControl)
	if !ok {
		c.Close()
		return nil, errors.New("journal: the sqlite driver's connection has no file control")
	}
	if _, err := fc.FileControlPersistWAL("main", 1); err != nil {
		c.Close()
		return nil, fmt.Errorf("journal: keeping the WAL file: %w", err)
	}
	return c, nil
}

// writer waits for this process's turn to append, then takes a
// connection for it; done gives both back.
func (s *Store) writer(ctx context.Context) (conn *sql.Conn, done func(), err error) {
	select {
	case s.appending <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	conn, err = s.db.Conn(ctx)
	if err != nil {
		<-s.appending
		return nil, nil, err
	}
	return conn, func() {
		conn.Close()
		<-s.appending
	}, nil
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
	err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
	return err == nil && version == len(migrations)
}

func (s *Store) migrate(ctx context.Context) (err error) {
	if s.current(ctx) {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
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

// Close closes the database and ends the flocks of the leases this
// process holds: their runs are interrupted.
func (s *Store) Close() error {
	s.locks.closeAll()
	s.stmtsMu.Lock()
	for _, st := range s.stmts {
		if st != nil {
			st.Close()
		}
	}
	s.stmts = nil
	s.stmtsMu.Unlock()
	return s.db.Close()
}

// Detach ends this process's use of the store without closing its
// database connections, for a process about to exit: SQLite checkpoints
// the WAL into the database when the last connection closes (two fsyncs
// and a WAL reset that costs the next process two more), and an exit
// without that close leaves the WAL as it is, every committed record in
// it, for the next process to read back (at most wal_autocheckpoint
// pages, by then checkpointed during a commit). The flocks of the leases
// this process holds end as at Close. The store must not be used after.
func (s *Store) Detach() {
	s.locks.closeAll()
}
