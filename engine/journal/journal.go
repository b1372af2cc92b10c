// Package journal is the append-only, hash-chained record of every run:
// who started it, with which inputs and runbook version, each step attempt,
// every approval decision, and how it ended. It is also the source of truth
// for resuming a run after a crash.
//
// Every record is one JSON object, stored and exported as the same bytes:
//
//	{"seq":7,"run_id":"20261121-101502-3fa9c2d1","time":"2026-11-21T10:15:02.123456789Z","type":"step.finished","prev_hash":"…","run_prev":"…","data":{…},"hash":"…"}
//
// hash is the hex SHA-256 of the record's bytes without the hash member
// (the line up to `,"hash":"`, then `}`). prev_hash is the hash of the
// record before it in the whole journal (seq-1), run_prev the hash of the
// previous record of the same run ("" for its first record). So changing,
// removing, reordering or inserting a record, or removing a whole run,
// breaks a link that Verify names. docs/audit.md describes the format for
// auditors.
package journal

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Sentinel errors.
var (
	ErrRunNotFound = errors.New("journal: run not found")
	ErrRunBusy     = errors.New("journal: the run is being run by another process")
)

// Entry is a record before the store places it in the chain.
type Entry struct {
	Type string
	Time time.Time
	Data json.RawMessage // a compact JSON object, already redacted
}

// Record is a sealed entry of the journal.
type Record struct {
	Seq      int64
	RunID    string
	Time     time.Time
	Type     string
	PrevHash string
	RunPrev  string
	Data     json.RawMessage
	Hash     string
	// Body is the record's bytes without the hash member: what Hash is
	// the SHA-256 of.
	Body []byte
}

// Run is the summary of one run kept beside its records, for listing and
// lookup. It is derived from the records; Verify checks the records.
type Run struct {
	ID         string    `json:"id"`
	Runbook    string    `json:"runbook"`
	Version    string    `json:"version,omitempty"` // SHA-256 of the runbook's content
	Actor      string    `json:"actor,omitempty"`
	Status     string    `json:"status"`
	DryRun     bool      `json:"dry_run"`
	Parent     string    `json:"parent,omitempty"` // the run a sub-run belongs to
	StartedAt  time.Time `json:"started_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	Host       string    `json:"host,omitempty"`
	PID        int       `json:"pid,omitempty"`
}

// Source is a runbook's content, kept once per content hash so that a run
// can be resumed, and audited, with the exact version it started with.
type Source struct {
	SHA256 string
	Name   string
	File   string
	Src    []byte
}

// Batch is what one Append writes, atomically.
type Batch struct {
	RunID   string
	Entries []Entry
	// Run, when set, inserts or replaces the run's summary.
	Run *Run
	// Source, when set, is stored unless its hash already is.
	Source *Source
	// Sync makes the batch durable (fsync) before Append returns; without
	// it a crash of the process loses nothing, a crash of the machine may
	// lose the last batches.
	Sync bool
}

// Filter selects runs; zero fields select everything.
type Filter struct {
	Runbook string
	Status  string
	Since   time.Time
	Limit   int // default: no limit
}

// Store keeps the journal. Implementations: sqlite (embedded, default),
// PostgreSQL (team server, later). Every method is safe for concurrent use
// by several processes sharing the store.
type Store interface {
	// Append seals the batch's entries at the end of the chain, in order,
	// and returns the sealed records.
	Append(ctx context.Context, b Batch) ([]Record, error)
	// Run returns a run's summary, or ErrRunNotFound.
	Run(ctx context.Context, id string) (Run, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context, f Filter) ([]Run, error)
	// Records calls fn for each record in seq order: of one run, or of
	// every run when runID is "", from since (zero: the beginning).
	Records(ctx context.Context, runID string, since time.Time, fn func(Record) error) error
	// Record returns the record with seq, or ok false.
	Record(ctx context.Context, seq int64) (Record, bool, error)
	// Head is the seq and hash of the last record the store says it
	// holds, kept apart from the records; zero when empty.
	Head(ctx context.Context) (seq int64, hash string, err error)
	// Source returns the runbook content with the given hash.
	Source(ctx context.Context, sha256 string) (Source, error)
	// Acquire makes this process the one running the run until release
	// is called or the process dies; ErrRunBusy when another holds it.
	Acquire(ctx context.Context, runID string) (release func(), err error)
	// Live says whether a process holds the run (see Acquire).
	Live(ctx context.Context, runID string) (bool, error)
	Close() error
}
