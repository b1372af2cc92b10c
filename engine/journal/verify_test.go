package journal_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

func TestVerifyClean(t *testing.T) {
	f := newFixture(t)
	rep := verify(t, f.s, "")
	want := journal.Report{Records: 15, Runs: 3, Head: f.rec(15).Hash}
	if rep != want {
		t.Fatalf("got %+v, want %+v", rep, want)
	}
	for i, id := range runs {
		rep := verify(t, f.s, id)
		want := journal.Report{Records: 5, Runs: 1, Head: f.rec(int64(5*i + 5)).Hash}
		if rep != want {
			t.Fatalf("run %s: got %+v, want %+v", id, rep, want)
		}
	}
	if _, err := journal.Verify(context.Background(), f.s, "nope"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Verify(nope): %v", err)
	}
}

func TestVerifyEmpty(t *testing.T) {
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep := verify(t, s, ""); rep != (journal.Report{}) {
		t.Fatalf("%+v", rep)
	}
}

// setBody replaces a record's body (and hash, if hash is not "": the
// store keeps it as 32 bytes).
func setBody(t *testing.T, db *sql.DB, seq int64, body []byte, hash string) {
	t.Helper()
	if hash == "" {
		exec(t, db, `UPDATE records SET body = ? WHERE seq = ?`, body, seq)
	} else {
		exec(t, db, `UPDATE records SET body = ?, hash = unhex(?) WHERE seq = ?`, body, hash, seq)
	}
}

// Each case tampers with the database behind the store's back, then
// Verify must name the first record it breaks, and why.
func TestVerifyTampered(t *testing.T) {
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, f *fixture, db *sql.DB)
		want   func(f *fixture) journal.Problem
		// run, when set, is verified alone too, with wantRun
		run     string
		wantRun func(f *fixture) journal.Problem
	}{{
		name: "a field edited inside a body, the hash kept",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			setBody(t, db, 7, bytes.Replace(f.rec(7).Body, []byte("record 7"), []byte("record 8"), 1), "")
		},
		want: func(f *fixture) journal.Problem {
			return problemOf(f.rec(7), "its content does not match its hash: it was changed")
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(7), "its content does not match its hash: it was changed")
		},
	}, {
		name: "a body edited and its hash recomputed",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			body := bytes.Replace(f.rec(7).Body, []byte("record 7"), []byte("record 8"), 1)
			setBody(t, db, 7, body, journal.HashBody(body))
		},
		want: func(f *fixture) journal.Problem {
			return problemOf(f.rec(8), "its prev_hash does not match record 7: records were reordered, inserted or removed")
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(8), "its run_prev does not match the run's previous record")
		},
	}, {
		name: "a column edited",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE records SET rid = (SELECT rid FROM run_ids WHERE id = ?) WHERE seq = 9`, runA)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 9, RunID: runA, Type: f.rec(9).Type, Reason: "its columns differ from its content: it was changed"}
		},
		run: runA,
		wantRun: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 9, RunID: runA, Type: f.rec(9).Type, Reason: "its columns differ from its content: it was changed"}
		},
	}, {
		name: "a record filed under a run that does not exist",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE records SET rid = 999 WHERE seq = 9`)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 9, Type: f.rec(9).Type, Reason: "its columns differ from its content: it was changed"}
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(10), "its run_prev does not match the run's previous record")
		},
	}, {
		name: "a time made unreadable, the hash recomputed",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			body := bytes.Replace(f.rec(9).Body, []byte(f.rec(9).Time.Format(time.RFC3339Nano)), []byte("yesterday"), 1)
			setBody(t, db, 9, body, journal.HashBody(body))
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 9, RunID: runB, Reason: `its content is not a record: its time "yesterday" is not an RFC 3339 time`}
		},
	}, {
		name:   "one record deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM records WHERE seq = 7`) },
		want:   func(f *fixture) journal.Problem { return problemOf(f.rec(8), "record 7 is missing: deleted") },
		run:    runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(8), "its run_prev does not match the run's previous record")
		},
	}, {
		name:   "the last record of a run deleted, the run verified alone",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM records WHERE seq = 5`) },
		want:   func(f *fixture) journal.Problem { return problemOf(f.rec(6), "record 5 is missing: deleted") },
		run:    runA,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(4), "record 5 after it is missing: deleted")
		},
	}, {
		name:   "the record before a run deleted, the run verified alone",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM records WHERE seq = 5`) },
		want:   func(f *fixture) journal.Problem { return problemOf(f.rec(6), "record 5 is missing: deleted") },
		run:    runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(6), "record 5 before it is missing: deleted")
		},
	}, {
		name: "a whole run deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = ?)`, runB)
			exec(t, db, `DELETE FROM run_ids WHERE id = ?`, runB)
			exec(t, db, `DELETE FROM runs WHERE id = ?`, runB)
		},
		want: func(f *fixture) journal.Problem { return problemOf(f.rec(11), "records 6..10 are missing: deleted") },
	}, {
		name: "the last run deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `DELETE FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = ?)`, runC)
			exec(t, db, `DELETE FROM run_ids WHERE id = ?`, runC)
			exec(t, db, `DELETE FROM runs WHERE id = ?`, runC)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 15, Reason: "the journal's head is record 15 (hash " + short(f.rec(15).Hash) +
				") but the last record is 10: records at the end were removed"}
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(10), "record 11 after it is missing: deleted")
		},
	}, {
		name:   "the last record deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM records WHERE seq = 15`) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 15, Reason: "the journal's head is record 15 (hash " + short(f.rec(15).Hash) +
				") but the last record is 14: records at the end were removed"}
		},
		run: runC,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(14), "record 15 after it is missing: deleted")
		},
	}, {
		name: "every record deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `DELETE FROM records`)
			exec(t, db, `DELETE FROM runs`)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 15, Reason: "the journal's head is record 15 (hash " + short(f.rec(15).Hash) +
				") but the journal has no records: its records were removed"}
		},
	}, {
		name: "the bodies and hashes of two records swapped",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			setBody(t, db, 7, f.rec(8).Body, f.rec(8).Hash)
			setBody(t, db, 8, f.rec(7).Body, f.rec(7).Hash)
		},
		want: func(f *fixture) journal.Problem {
			// Seq and run are the row's, the type is the body's.
			return journal.Problem{Seq: 7, RunID: runB, Type: f.rec(8).Type, Reason: "its columns differ from its content: it was changed"}
		},
	}, {
		name: "two records swapped whole",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE records SET seq = -7 WHERE seq = 7`)
			exec(t, db, `UPDATE records SET seq = 7 WHERE seq = 8`)
			exec(t, db, `UPDATE records SET seq = 8 WHERE seq = -7`)
		},
		want: func(f *fixture) journal.Problem {
			r := f.rec(8)
			r.Seq = 7
			return problemOf(r, "its columns differ from its content: it was changed")
		},
	}, {
		name: "a forged record added after the head",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			last := f.rec(15)
			r := journal.Seal(16, runC, last.Hash, last.Hash, journal.Entry{Type: "step.finished", Time: t0})
			exec(t, db, `INSERT INTO records (seq, rid, body, hash) VALUES (16, (SELECT rid FROM run_ids WHERE id = ?), ?, unhex(?))`,
				r.RunID, r.Body, r.Hash)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 15, Reason: "the journal's head is record 15 (hash " + short(f.rec(15).Hash) +
				") but the last record is 16: records were added after the head"}
		},
	}, {
		name: "a record replaced by a forged one, well chained",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			old := f.rec(7)
			r := journal.Seal(7, runB, old.PrevHash, old.RunPrev, journal.Entry{Type: old.Type, Time: old.Time, Data: []byte(`{"forged":true}`)})
			setBody(t, db, 7, r.Body, r.Hash)
		},
		want: func(f *fixture) journal.Problem {
			return problemOf(f.rec(8), "its prev_hash does not match record 7: records were reordered, inserted or removed")
		},
	}, {
		name:   "a run's start deleted with its record renumbered",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM records WHERE seq = 6`) },
		want:   func(f *fixture) journal.Problem { return problemOf(f.rec(7), "record 6 is missing: deleted") },
		run:    runB,
		wantRun: func(f *fixture) journal.Problem {
			return problemOf(f.rec(7), "the run's first record is step.started, not run.started: its start was removed")
		},
	}, {
		name:   "the head changed",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `UPDATE head SET hash = ?`, f.rec(14).Hash) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{Seq: 15, Reason: "the journal's head is record 15 (hash " + short(f.rec(14).Hash) +
				") but the record's hash is " + short(f.rec(15).Hash) + ": it was changed"}
		},
	}, {
		name:   "a run's summary deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) { exec(t, db, `DELETE FROM runs WHERE id = ?`, runB) },
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runB, Reason: "has records but is missing from the runs list"}
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runB, Reason: "has records but is missing from the runs list"}
		},
	}, {
		// Verify keeps a map of runs: the first by its first record is
		// named, whatever the map's order.
		name: "two runs' summaries deleted",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `DELETE FROM runs WHERE id IN (?, ?)`, runC, runB)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runB, Reason: "has records but is missing from the runs list"}
		},
	}, {
		name: "a run summary without records",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `INSERT INTO runs SELECT 'ghost', runbook, version, actor, status, dry_run, parent,
				started_at, updated_at, finished_at, host, pid FROM runs WHERE id = ?`, runA)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: "ghost", Reason: "listed in runs but has no records: its records were removed"}
		},
		run: "ghost",
		wantRun: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: "ghost", Reason: "listed in runs but has no records: its records were removed"}
		},
	}, {
		// The summary sits outside the chain: it is checked against
		// the records, its most telling field named first.
		name: "a run's summary says another status and actor",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE runs SET status = 'failed', actor = 'mallory' WHERE id = ?`, runB)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runB, Reason: `its status is "failed" in the runs list but "succeeded" in its records (record 10): the runs list was changed`}
		},
		run: runB,
		wantRun: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runB, Reason: `its status is "failed" in the runs list but "succeeded" in its records (record 10): the runs list was changed`}
		},
	}, {
		name: "a run's summary says it started later",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE runs SET started_at = '2026-11-21T11:00:00.000000000Z' WHERE id = ?`, runC)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runC, Reason: `its started_at is "2026-11-21T11:00:00Z" in the runs list but "2026-11-21T10:15:13Z" in its records (record 11): the runs list was changed`}
		},
	}, {
		name: "a run's summary says it is still running",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?`, runA)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runA, Reason: `its status is "running" in the runs list but "succeeded" in its records (record 5): the runs list was changed`}
		},
	}, {
		name: "a run's summary names another runbook",
		tamper: func(t *testing.T, f *fixture, db *sql.DB) {
			exec(t, db, `UPDATE runs SET runbook = 'harmless', dry_run = 1 WHERE id = ?`, runA)
		},
		want: func(f *fixture) journal.Problem {
			return journal.Problem{RunID: runA, Reason: `its runbook is "harmless" in the runs list but "deploy" in its records (record 1): the runs list was changed`}
		},
	}} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.tamper(t, f, f.raw(t))
			checkProblem(t, verify(t, f.s, "").Problem, c.want(f))
			if c.run != "" {
				checkProblem(t, verify(t, f.s, c.run).Problem, c.wantRun(f))
			}
		})
	}
}

func TestVerifyReportsCountsUpToTheProblem(t *testing.T) {
	f := newFixture(t)
	exec(t, f.raw(t), `DELETE FROM records WHERE seq = 12`)
	rep := verify(t, f.s, "")
	if rep.Records != 11 || rep.Runs != 3 || rep.Head != f.rec(11).Hash {
		t.Fatalf("%+v", rep)
	}
	if got := rep.Problem.Error(); got != fmt.Sprintf("record 13 (run %s, step.finished): record 12 is missing: deleted", runC) {
		t.Fatal(got)
	}
}
