package journaltest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testSnapshot(t *testing.T) {
	t.Run("OneState", x.snapshotOneState)
	t.Run("ReadsInsideRecords", x.snapshotReadsInsideRecords)
	t.Run("Error", x.snapshotError)
	t.Run("VerifyWhileAppending", x.snapshotVerifyWhileAppending)
}

// What another handle appends while a snapshot is open is not seen
// through it: records, a record by seq, the head, the runs list, a run
// and a source read as they were when the snapshot began; the store
// itself, and a new snapshot, see the appends.
func (x *suite) snapshotOneState(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	a := start(t, s, journal.Run{ID: "a", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0})
	src := journal.Source{SHA256: "6a", Name: "deploy", File: "deploy.yaml", Src: []byte("version: 1\n")}
	var late []journal.Record
	err := s.Snapshot(ctx, func(r journal.Reader) error {
		checkReaderHead(t, r, 1, a[0].Hash)
		b := journal.Run{ID: "b", Runbook: "backup", Status: "running", StartedAt: at(1), UpdatedAt: at(1)}
		late = mustAppend(t, other, journal.Batch{RunID: "b", Run: &b, Source: &src, Entries: []journal.Entry{entry("run.started", 1, `{"runbook":"backup"}`)}})
		late = append(late, mustAppend(t, other, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.started", 2, `{"step":"s1"}`)}})...)
		checkHead(t, other, 3, late[1].Hash)

		checkReaderHead(t, r, 1, a[0].Hash)
		checkRecords(t, "Records through the snapshot", readerRecords(t, r, ""), a)
		checkRecords(t, "Records(a) through the snapshot", readerRecords(t, r, "a"), a)
		if got := readerRecords(t, r, "b"); len(got) != 0 {
			t.Fatalf("Records(b) through the snapshot: %v", seqs(got))
		}
		for _, seq := range []int64{2, 3} {
			if _, ok, err := r.Record(ctx, seq); err != nil || ok {
				t.Fatalf("Record(%d) through the snapshot: found %v, %v", seq, ok, err)
			}
		}
		var ids []string
		if err := r.Runs(ctx, journal.Filter{}, func(run journal.Run) error { ids = append(ids, run.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != "[a]" {
			t.Fatalf("Runs through the snapshot: %v", ids)
		}
		if _, err := r.Run(ctx, "b"); !errors.Is(err, journal.ErrRunNotFound) {
			t.Fatalf("Run(b) through the snapshot: %v", err)
		}
		if _, err := r.Source(ctx, src.SHA256); !errors.Is(err, journal.ErrSourceNotFound) {
			t.Fatalf("Source through the snapshot: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	checkHead(t, s, 3, late[1].Hash)
	if err := s.Snapshot(ctx, func(r journal.Reader) error {
		checkReaderHead(t, r, 3, late[1].Hash)
		checkRecords(t, "Records through a new snapshot", readerRecords(t, r, ""), append(a, late...))
		return nil
	}); err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	verifyClean(t, s, "", 3, 2, late[1].Hash)
}

// A Records callback may read through the snapshot's other methods.
func (x *suite) snapshotReadsInsideRecords(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	a := start(t, s, journal.Run{ID: "a", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0})
	a = append(a, mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.started", 1, `{"step":"s1"}`)}})...)
	err := s.Snapshot(ctx, func(r journal.Reader) error {
		n := 0
		err := r.Records(ctx, "", time.Time{}, func(rec journal.Record) error {
			got, ok, err := r.Record(ctx, rec.Seq)
			if err != nil || !ok {
				return fmt.Errorf("record %d read inside Records: %v, %v", rec.Seq, ok, err)
			}
			checkRecords(t, "Record inside Records", []journal.Record{got}, []journal.Record{a[n]})
			if _, err := r.Run(ctx, "a"); err != nil {
				return fmt.Errorf("run a read inside Records: %w", err)
			}
			checkReaderHead(t, r, 2, a[1].Hash)
			n++
			return nil
		})
		if err == nil && n != 2 {
			err = fmt.Errorf("records gave %d records, want 2", n)
		}
		return err
	})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
}

// fn's error is Snapshot's, as it is.
func (x *suite) snapshotError(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	stop := errors.New("stop here")
	if err := s.Snapshot(ctx, func(journal.Reader) error { return stop }); err != stop {
		t.Fatalf("Snapshot returned %v, want fn's error as it is", err)
	}
}

// journal.Verify, which reads one snapshot, finds nothing wrong while
// another handle appends runs (records, head and summaries in each
// batch), however the appends fall between its reads.
func (x *suite) snapshotVerifyWhileAppending(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	start(t, s, journal.Run{ID: "first", Status: "running", StartedAt: t0, UpdatedAt: t0})
	done := make(chan struct{})
	var wg sync.WaitGroup
	var appendErr error
	appended := 0
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			id := fmt.Sprintf("w%d", i)
			run := journal.Run{ID: id, Status: "running", StartedAt: at(i), UpdatedAt: at(i)}
			if _, err := other.Append(ctx, journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{
				entry("run.started", i, ""), entry("step.started", i, `{"step":"s"}`),
			}}); err != nil {
				appendErr = err
				return
			}
			appended++
		}
	})
	var problems []string
	for range 30 {
		rep, err := journal.Verify(ctx, s, "")
		if err != nil {
			close(done)
			wg.Wait()
			t.Fatalf("Verify: %v", err)
		}
		if rep.Problem != nil {
			problems = append(problems, rep.Problem.Error())
		}
		if _, err := journal.Verify(ctx, s, "first"); err != nil {
			close(done)
			wg.Wait()
			t.Fatalf("Verify(first): %v", err)
		}
	}
	close(done)
	wg.Wait()
	if appendErr != nil {
		t.Fatalf("Append: %v", appendErr)
	}
	if len(problems) > 0 {
		t.Fatalf("%d false alarms of 30 verifies while %d runs were appended; the first: %s", len(problems), appended, problems[0])
	}
}

func checkReaderHead(t *testing.T, r journal.Reader, seq int64, hash string) {
	t.Helper()
	gotSeq, gotHash, err := r.Head(ctx)
	if err != nil || gotSeq != seq || gotHash != hash {
		t.Fatalf("Head through the snapshot = %d, %q, %v; want %d, %q", gotSeq, gotHash, err, seq, hash)
	}
}

func readerRecords(t *testing.T, r journal.Reader, runID string) []journal.Record {
	t.Helper()
	var got []journal.Record
	if err := r.Records(ctx, runID, time.Time{}, func(rec journal.Record) error {
		got = append(got, rec)
		return nil
	}); err != nil {
		t.Fatalf("Records(%q) through the snapshot: %v", runID, err)
	}
	return got
}
