// Package journaltest is the conformance suite of journal.Store: every
// store (SQLite, PostgreSQL) runs it from its own tests, with a Harness
// that opens it:
//
//	func TestConformance(t *testing.T) {
//		journaltest.Run(t, journaltest.Harness{New: ..., Reopen: ...})
//	}
//
// The suite holds a store to the contract of the journal.Store interface
// and of the journal package that reads through it (Verify, Load), on
// nothing but that interface: each subtest opens a fresh, empty store,
// and where it matters a second handle on the same store, as another
// process or replica sharing it would.
//
// Beside what the interface documents, the suite fixes what every store
// must agree on for the journal to read the same everywhere:
//   - a record is what journal.Seal makes of its entry, its seq and the
//     hashes before it; data spread over lines is sealed compact;
//   - times come back as the instants written, in UTC; the suite writes
//     times to the microsecond, so a store may keep no finer ones;
//   - a lease is live until its Expires, not at it;
//   - the errors refusing a batch or a run id read the same in every
//     store (see the Append/Refused and RunIDs subtests).
//
// The suite's leases name this host and process, as the run service's
// do, so that a store that tells its own host's leases apart (SQLite
// backs them with flocks) is tested on that path.
package journaltest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// Harness opens the store under test. Both functions are called from
// parallel subtests, and close what they open when t ends (t.Cleanup).
type Harness struct {
	// New opens a fresh, empty store.
	New func(t *testing.T) journal.Store
	// Reopen opens another handle on the same store as s, as another
	// process (or replica) sharing it would.
	Reopen func(t *testing.T, s journal.Store) journal.Store
}

// Run runs the suite against the store h opens, each check a subtest.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Reopen == nil {
		t.Fatal("journaltest: the harness needs New and Reopen")
	}
	x := &suite{h: h}
	t.Run("Append", x.testAppend)
	t.Run("Records", x.testRecords)
	t.Run("Verify", x.testVerify)
	t.Run("Snapshot", x.testSnapshot)
	t.Run("Concurrent", x.testConcurrent)
	t.Run("Lease", x.testLease)
	t.Run("Cancel", x.testCancel)
	t.Run("Approvals", x.testApprovals)
	t.Run("Once", x.testOnce)
	t.Run("Keys", x.testKeys)
	t.Run("Ended", x.testEnded)
	t.Run("Runs", x.testRuns)
	t.Run("RunIDs", x.testRunIDs)
}

type suite struct{ h Harness }

// open returns a fresh store.
func (x *suite) open(t *testing.T) journal.Store {
	t.Helper()
	return x.h.New(t)
}

// pair returns a fresh store and a second handle on it.
func (x *suite) pair(t *testing.T) (a, b journal.Store) {
	t.Helper()
	a = x.h.New(t)
	return a, x.h.Reopen(t, a)
}

var ctx = context.Background()

// t0 is the suite's clock: times are to the microsecond.
var t0 = time.Date(2026, 11, 21, 10, 15, 2, 123456000, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func entry(typ string, sec int, data string) journal.Entry {
	return journal.Entry{Type: typ, Time: at(sec), Data: json.RawMessage(data)}
}

// host and pid are this process's, which the suite's leases name.
var (
	host, _ = os.Hostname()
	pid     = os.Getpid()
)

// lease is holder's lease of run from when, for ttl.
func lease(run, holder string, when time.Time, ttl time.Duration) journal.Lease {
	return journal.Lease{RunID: run, Holder: holder, Host: host, PID: pid, Acquired: when, Heartbeat: when, Expires: when.Add(ttl)}
}

// mustAppend appends b and returns its records.
func mustAppend(t *testing.T, s journal.Store, b journal.Batch) []journal.Record {
	t.Helper()
	recs, err := s.Append(ctx, b)
	if err != nil {
		t.Fatalf("Append(run %s): %v", b.RunID, err)
	}
	if len(recs) != len(b.Entries) {
		t.Fatalf("Append(run %s) sealed %d records of %d entries", b.RunID, len(recs), len(b.Entries))
	}
	return recs
}

// start appends a run's first record, run.started, with its summary:
// the record says what the summary repeats (journal.Verify checks it).
func start(t *testing.T, s journal.Store, run journal.Run) []journal.Record {
	t.Helper()
	d := journal.Data{Runbook: run.Runbook, Version: run.Version, Actor: run.Actor, DryRun: run.DryRun}
	if run.Parent != "" {
		d.Origin = &journal.Origin{Parent: run.Parent}
	}
	data, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	return mustAppend(t, s, journal.Batch{RunID: run.ID, Run: &run, Entries: []journal.Entry{
		{Type: "run.started", Time: run.StartedAt, Data: data},
	}})
}

// records reads the records Records gives for runID since since.
func records(t *testing.T, s journal.Store, runID string, since time.Time) []journal.Record {
	t.Helper()
	var got []journal.Record
	if err := s.Records(ctx, runID, since, func(r journal.Record) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatalf("Records(%q, %v): %v", runID, since, err)
	}
	return got
}

// listRuns is Runs, in one place.
func listRuns(t *testing.T, s journal.Store, f journal.Filter) []journal.Run {
	t.Helper()
	var runs []journal.Run
	err := s.Runs(ctx, f, func(r journal.Run) error {
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Runs(%+v): %v", f, err)
	}
	return runs
}

func checkHead(t *testing.T, s journal.Store, seq int64, hash string) {
	t.Helper()
	gotSeq, gotHash, err := s.Head(ctx)
	if err != nil || gotSeq != seq || gotHash != hash {
		t.Fatalf("Head = %d, %q, %v; want %d, %q", gotSeq, gotHash, err, seq, hash)
	}
}

// checkRecords fails unless got are want, field for field.
func checkRecords(t *testing.T, what string, got, want []journal.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d:\n got %v\nwant %v", what, len(got), len(want), seqs(got), seqs(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: record %d:\n got %s\nwant %s", what, i, show(got[i]), show(want[i]))
		}
	}
}

func show(r journal.Record) string {
	return string(r.Line()) + " (time " + r.Time.String() + ")"
}

func seqs(recs []journal.Record) []int64 {
	s := make([]int64, len(recs))
	for i, r := range recs {
		s[i] = r.Seq
	}
	return s
}

// verifyClean fails unless Verify finds records of runs and no problem.
func verifyClean(t *testing.T, s journal.Store, runID string, records, runs int, head string) {
	t.Helper()
	rep, err := journal.Verify(ctx, s, runID)
	if err != nil {
		t.Fatalf("Verify(%q): %v", runID, err)
	}
	want := journal.Report{Records: records, Runs: runs, Head: head}
	if !reflect.DeepEqual(rep, want) {
		if rep.Problem != nil {
			t.Fatalf("Verify(%q): %v", runID, rep.Problem)
		}
		t.Fatalf("Verify(%q) = %+v, want %+v", runID, rep, want)
	}
}

// checkBusy fails unless err is a *journal.BusyError naming held.
func checkBusy(t *testing.T, what string, err error, held journal.Lease) {
	t.Helper()
	var busy *journal.BusyError
	if !errors.As(err, &busy) || !errors.Is(err, journal.ErrRunBusy) {
		t.Fatalf("%s: %v; want a *journal.BusyError", what, err)
	}
	if !reflect.DeepEqual(busy.Lease, held) {
		t.Fatalf("%s: busy with\n %+v\nwant\n %+v", what, busy.Lease, held)
	}
}

// checkLease fails unless the run's lease at now is want, live or not.
func checkLease(t *testing.T, s journal.Store, run string, now time.Time, want journal.Lease, live bool) {
	t.Helper()
	got, gotLive, err := s.Lease(ctx, run, now)
	if err != nil {
		t.Fatalf("Lease(%s, %v): %v", run, now, err)
	}
	if gotLive != live || !reflect.DeepEqual(got, want) {
		t.Fatalf("Lease(%s, %v) = %+v, live %v\nwant %+v, live %v", run, now, got, gotLive, want, live)
	}
}

// checkLive fails unless the run's lease is live at now, or not.
func checkLive(t *testing.T, s journal.Store, run string, now time.Time, live bool) {
	t.Helper()
	if _, got, err := s.Lease(ctx, run, now); err != nil || got != live {
		t.Fatalf("Lease(%s, %v): live %v, %v; want live %v", run, now, got, err, live)
	}
}
