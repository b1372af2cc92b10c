package journal_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

var t0 = time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)

var (
	runA = "20261121-101502-aaaaaaaa"
	runB = "20261121-101502-bbbbbbbb"
	runC = "20261121-101502-cccccccc"
	runs = []string{runA, runB, runC}
	// types of each run's records, in order
	types = []string{"run.started", "step.started", "step.finished", "approval.decided", "run.finished"}
)

// fixture is a journal of 3 runs of 5 records, one run after the other:
// run A holds records 1-5, B 6-10, C 11-15; record n is at t0 + n s.
type fixture struct {
	s    *sqlite.Store
	home string
	recs []journal.Record // recs[n-1] is record n
}

func (f *fixture) rec(seq int64) journal.Record { return f.recs[seq-1] }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{home: t.TempDir()}
	s, err := sqlite.Open(f.home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	f.s = s
	seq := 0
	for i, id := range runs {
		run := journal.Run{ID: id, Runbook: "deploy", Status: "running", StartedAt: t0.Add(time.Duration(5*i+1) * time.Second)}
		for j, typ := range types {
			seq++
			data := fmt.Sprintf(`{"step":"s%d","note":"record %d"}`, j, seq)
			switch typ { // what the summary repeats
			case "run.started":
				data = fmt.Sprintf(`{"runbook":"deploy","note":"record %d"}`, seq)
			case "run.finished":
				data = fmt.Sprintf(`{"status":"succeeded","note":"record %d"}`, seq)
			}
			e := journal.Entry{Type: typ, Time: t0.Add(time.Duration(seq) * time.Second), Data: json.RawMessage(data)}
			b := journal.Batch{RunID: id, Entries: []journal.Entry{e}, Run: &run}
			run.UpdatedAt = e.Time
			if typ == "run.finished" {
				run.Status, run.FinishedAt = "succeeded", e.Time
			}
			recs, err := s.Append(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			f.recs = append(f.recs, recs...)
		}
	}
	return f
}

// raw opens the database behind the store's back, to tamper with it.
func (f *fixture) raw(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.home, sqlite.DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func verify(t *testing.T, s journal.Store, runID string) journal.Report {
	t.Helper()
	rep, err := journal.Verify(context.Background(), s, runID)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func checkProblem(t *testing.T, got *journal.Problem, want journal.Problem) {
	t.Helper()
	if got == nil {
		t.Fatalf("no problem found; want %v", want)
	}
	if *got != want {
		t.Fatalf("problem:\n got %#v\nwant %#v", *got, want)
	}
}

func short(h string) string { return h[:12] + "…" }

func problemOf(r journal.Record, reason string) journal.Problem {
	return journal.Problem{Seq: r.Seq, RunID: r.RunID, Type: r.Type, Reason: reason}
}
