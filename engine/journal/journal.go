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
	"fmt"
	"time"

	"github.com/stewardhq/steward/engine"
)

// Sentinel errors.
var (
	ErrRunNotFound = errors.New("journal: run not found")
	ErrRunBusy     = errors.New("journal: the run is being run by another process")
	// ErrRunEnded: a batch for a run that has ended; see EndedError.
	ErrRunEnded = errors.New("journal: the run has ended")
	// ErrDuplicate: a batch whose Once key its run holds; see
	// DuplicateError.
	ErrDuplicate = errors.New("journal: already recorded")
)

// EndedError refuses a batch for a run that has ended for good: its
// run.finished record with a final status is recorded (see EndsRun).
// Nothing is recorded of a run after its end.
type EndedError struct {
	RunID string
	Seq   int64 // the run.finished record that ended it
}

func (e *EndedError) Error() string {
	return fmt.Sprintf("journal: run %s has ended (record %d): nothing more is recorded of it", e.RunID, e.Seq)
}

// Is makes errors.Is(err, ErrRunEnded) true.
func (e *EndedError) Is(target error) bool { return target == ErrRunEnded }

// DuplicateError refuses a batch whose Once key its run already holds,
// or whose Key a run holds (then Key is set and RunID is that run).
type DuplicateError struct {
	RunID string
	Once  string
	Key   string
	Seq   int64 // the first record of the batch that claimed the key
}

func (e *DuplicateError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("journal: key %q is held by run %s (record %d): recorded once only", e.Key, e.RunID, e.Seq)
	}
	return fmt.Sprintf("journal: run %s already holds %q (record %d): recorded once only", e.RunID, e.Once, e.Seq)
}

// Is makes errors.Is(err, ErrDuplicate) true.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicate }

// EndsRun says whether e ends its run for good: a run.finished entry
// whose status is succeeded, failed or cancelled. A run that waits for a
// decision records run.finished with status waiting, and goes on later
// with run.resumed.
func EndsRun(e Entry) bool {
	if e.Type != string(engine.RunFinished) {
		return false
	}
	var d struct {
		Status engine.Status `json:"status"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return false
	}
	return final(d.Status)
}

// final says whether a run status is an end: succeeded, failed or
// cancelled.
func final(s engine.Status) bool {
	switch s {
	case engine.StatusSucceeded, engine.StatusFailed, engine.StatusCancelled:
		return true
	}
	return false
}

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
	// Cancel marks the batch as a request to cancel the run: the holder
	// of the run's lease learns of it at its next RenewLease.
	Cancel bool
	// Once, when set, is a key the batch claims in its run, such as the
	// question a decision answers: the store writes it in the same
	// transaction as the entries, as a row unique by run and key, and
	// refuses, with a *DuplicateError naming the record that claimed it,
	// a batch that claims a key the run already holds. A batch with a
	// Once key has entries.
	Once string
	// Key, when set, is a key unique in the whole store, claimed by the
	// batch for its run: the event that started the run, such as a
	// schedule's slot ("schedule/access-review/0/2027-03-29T09:00:00Z")
	// or a webhook's dedupe key. The store writes it in the same
	// transaction as the entries, as a row unique by key, and refuses,
	// with a *DuplicateError naming the run and record that claimed it, a
	// batch that claims a key any run holds. A batch with a Key has
	// entries.
	Key string
}

// Filter selects runs; zero fields select everything.
type Filter struct {
	Runbook string
	Status  string
	Since   time.Time
	// IDPrefix selects the runs whose id starts with it, or has it right
	// after a dash: "20261121-1015", "101502-3fa9" and "3fa9c2" all select
	// run 20261121-101502-3fa9c2d1 (and its sub-runs, 20261121-101502-3fa9c2d1.STEP).
	// The match is exact, case included: no character is a wildcard.
	IDPrefix string
	// Actor selects the runs started by that actor.
	Actor string
	// After, when set, selects the runs listed after it in the order
	// Runs lists them (started earlier, or at the same time with a
	// smaller id): the next page of a listing whose last run it was,
	// whatever runs were started meanwhile.
	After *RunPosition
	Limit int // default: no limit
}

// RunPosition is a run's place in a listing: its start and id.
type RunPosition struct {
	StartedAt time.Time
	ID        string
}

// Reader reads the journal.
type Reader interface {
	// Run returns a run's summary, or ErrRunNotFound.
	Run(ctx context.Context, id string) (Run, error)
	// Runs calls fn for each run f selects, newest first, as it reads
	// them; an error from fn stops it and is returned as it is.
	Runs(ctx context.Context, f Filter, fn func(Run) error) error
	// Records calls fn for each record in seq order: of one run, or of
	// every run when runID is "", from since (zero: the beginning). fn
	// may call the reader's other methods.
	Records(ctx context.Context, runID string, since time.Time, fn func(Record) error) error
	// Record returns the record with seq, or ok false.
	Record(ctx context.Context, seq int64) (Record, bool, error)
	// Head is the seq and hash of the last record the store says it
	// holds, kept apart from the records; zero when empty.
	Head(ctx context.Context) (seq int64, hash string, err error)
	// Source returns the runbook content with the given hash, or
	// ErrSourceNotFound.
	Source(ctx context.Context, sha256 string) (Source, error)
}

// Store keeps the journal. Implementations: sqlite (embedded, default),
// postgres (team server). Every method is safe for concurrent use
// by several processes sharing the store. Its Reader methods each read
// the store as it is when they run: two calls may see different states
// when others append in between; Snapshot reads one.
type Store interface {
	Reader
	// Snapshot calls fn with a Reader of the store as it is at one
	// instant: every read through it sees the same records, head, runs
	// and sources, whatever other handles and processes append
	// meanwhile (SQLite: one read transaction; PostgreSQL: one
	// REPEATABLE READ, READ ONLY transaction). The Reader is valid
	// during fn only; fn's error is returned as it is.
	Snapshot(ctx context.Context, fn func(Reader) error) error
	// Append seals the batch's entries at the end of the chain, in order,
	// and returns the sealed records. It refuses, with an *EndedError,
	// any batch for a run that has ended (an entry that EndsRun, in an
	// earlier batch or earlier in this one), and, with a
	// *DuplicateError, a batch whose Once key the run holds.
	Append(ctx context.Context, b Batch) ([]Record, error)
	// AcquireLease makes l.Holder the executor of run l.RunID until
	// l.Expires, unless another holder's lease is live: then a
	// *BusyError (errors.Is ErrRunBusy) names it. An expired lease, or
	// one whose holder the store knows to be dead, is taken over.
	AcquireLease(ctx context.Context, l Lease) error
	// RenewLease extends the holder's lease to l.Expires (the heartbeat
	// is l.Heartbeat) and says whether a cancel was requested;
	// ErrLeaseLost when the holder no longer holds it.
	RenewLease(ctx context.Context, l Lease) (Renewal, error)
	// ReleaseLease ends the holder's lease; releasing a lease not held
	// is not an error.
	ReleaseLease(ctx context.Context, runID, holder string) error
	// Lease returns the run's lease and whether it is live at now: held,
	// not expired, and its holder not known to be dead.
	Lease(ctx context.Context, runID string, now time.Time) (l Lease, live bool, err error)
	Close() error
}
