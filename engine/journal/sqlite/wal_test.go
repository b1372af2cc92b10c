package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// The WAL and shared-memory files stay when the store closes, private,
// the WAL emptied into the database: the next process neither creates
// them again nor reads frames back.
func TestWALKeptBetweenOpens(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	for i := range 3 {
		s, err := Open(home)
		if err != nil {
			t.Fatal(err)
		}
		run := journal.Run{ID: "a", Status: "running", StartedAt: t0}
		if _, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &run, Sync: true, Entries: []journal.Entry{entry("step.finished", i, "")}}); err != nil {
			t.Fatal(err)
		}
		wal := filepath.Join(home, DBFile+"-wal")
		fi, err := os.Stat(wal)
		if err != nil || fi.Size() == 0 {
			t.Fatalf("open: the WAL is %v, %v; want the batch in it", fi, err)
		}
		before := fi
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{"-wal", "-shm"} {
			fi, err := os.Stat(filepath.Join(home, DBFile+ext))
			if err != nil {
				t.Fatalf("closed: %v", err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("closed: %s has mode %v, want 0600", ext, fi.Mode().Perm())
			}
			if ext == "-wal" && fi.Size() != 0 {
				t.Errorf("closed: the WAL holds %d bytes, want 0 (checkpointed and truncated)", fi.Size())
			}
		}
		if after, err := os.Stat(wal); err != nil || !os.SameFile(before, after) {
			t.Errorf("closed: the WAL file was replaced (%v)", err)
		}
	}
	s := open(t, home)
	if n := len(records(t, s, "a")); n != 3 {
		t.Fatalf("%d records after 3 opens, want 3", n)
	}
}

func records(t *testing.T, s *Store, runID string) []journal.Record {
	t.Helper()
	var recs []journal.Record
	if err := s.Records(context.Background(), runID, time.Time{}, func(r journal.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// A process that uses the store from one goroutine at a time, appending
// and reading in turn, opens one connection.
func TestOneConnection(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for i := range 3 {
		run := journal.Run{ID: "a", Status: "running", StartedAt: t0}
		if _, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &run, Sync: i == 0, Entries: []journal.Entry{entry("step.finished", i, "")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		records(t, s, "a")
	}
	if n := s.db.Stats().OpenConnections; n != 1 {
		t.Fatalf("%d connections open, want 1", n)
	}
}

// A Records callback may call the store, appends included: it gets a
// connection of its own rather than waiting for the walk's.
func TestRecordsCallbackCallsStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := open(t, t.TempDir())
	run := journal.Run{ID: "a", Status: "running", StartedAt: t0}
	for i := range 3 {
		if _, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &run, Entries: []journal.Entry{entry("step.finished", i, "")}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	err := s.Records(ctx, "a", time.Time{}, func(r journal.Record) error {
		seen++
		if _, ok, err := s.Record(ctx, r.Seq); err != nil || !ok {
			return err
		}
		if err := s.Runs(ctx, journal.Filter{}, func(journal.Run) error { return nil }); err != nil {
			return err
		}
		_, err := s.Append(ctx, journal.Batch{RunID: "b", Entries: []journal.Entry{entry("step.finished", 10+int(r.Seq), "")}})
		return err
	})
	if err != nil || seen != 3 {
		t.Fatalf("Records: %d records, %v", seen, err)
	}
	if n := len(records(t, s, "b")); n != 3 {
		t.Fatalf("%d records appended during the walk, want 3", n)
	}
}
