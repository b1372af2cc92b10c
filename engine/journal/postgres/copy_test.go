package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
	"github.com/stewardhq/steward/engine/journal/sqlite"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

var t0 = time.Date(2026, 11, 21, 10, 15, 2, 123456000, time.UTC)

// embedded makes a SQLite journal with every kind of row a batch writes:
// records of several runs, summaries, sources, a Once key, a key, a
// cancel request and an end, and bulk records (runs of 50-record batches)
// past a few COPY chunks.
func embedded(t *testing.T, bulk int) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	src := &journal.Source{Name: "deploy", File: "deploy.yaml", Src: []byte("version: 1\n")}
	src.SHA256 = journal.HashBody(src.Src)
	run := func(id, status string) *journal.Run {
		r := &journal.Run{ID: id, Runbook: "deploy", Version: src.SHA256, Actor: "ann", Status: status, StartedAt: t0, UpdatedAt: t0, Host: "h", PID: 7}
		if status == "cancelled" {
			r.FinishedAt = t0
		}
		return r
	}
	finished := entry("run.finished", `{"status":"cancelled"}`)
	finished.Time = t0
	started := entry("run.started", `{"runbook":"deploy","version":"`+src.SHA256+`","actor":"ann"}`)
	started.Time = t0 // the summaries' started_at
	for _, b := range []journal.Batch{
		{RunID: "a", Run: run("a", "running"), Source: src, Key: "schedule/deploy/0/2027-01-01T09:00:00Z", Entries: []journal.Entry{started}},
		{RunID: "b", Run: run("b", "running"), Entries: []journal.Entry{started, entry("step.waiting", `{"step":"fix"}`)}},
		{RunID: "b", Once: "fix/2", Entries: []journal.Entry{entry(journal.ApprovalDecided, `{"step":"fix","approved":true,"by":"bob"}`)}},
		{RunID: "a", Cancel: true, Entries: []journal.Entry{entry(journal.CancelRequested, `{"by":"bob"}`)}},
		{RunID: "a", Run: run("a", "cancelled"), Entries: []journal.Entry{finished}},
		{RunID: "orphan", Source: &journal.Source{SHA256: "77", Name: "x", File: "x.yaml", Src: []byte("x")}},
	} {
		if _, err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < bulk; i += 50 {
		id := fmt.Sprintf("bulk%d", i/500)
		b := journal.Batch{RunID: id}
		if i%500 == 0 {
			b.Run = run(id, "running")
			b.Entries = append(b.Entries, started)
		}
		for len(b.Entries) < 50 {
			b.Entries = append(b.Entries, entry("step.log", fmt.Sprintf(`{"i":%d}`, i+len(b.Entries))))
		}
		if _, err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// copyInto copies the SQLite journal into the PostgreSQL store.
func copyInto(t *testing.T, from *sqlite.Store, to *Store, progress func(int64, int64)) (journal.Report, error) {
	t.Helper()
	var rep journal.Report
	err := from.Dump(ctx, func(d journal.Dump) error {
		var err error
		rep, err = to.CopyFrom(ctx, d, progress)
		return err
	})
	return rep, err
}

func all(t *testing.T, s journal.Store) ([]journal.Record, []journal.Run) {
	t.Helper()
	var recs []journal.Record
	if err := s.Records(ctx, "", time.Time{}, func(r journal.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	var runs []journal.Run
	if err := s.Runs(ctx, journal.Filter{}, func(r journal.Run) error { runs = append(runs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs, runs
}

// CopyFrom copies every record as it is, the head, summaries, sources
// and claims: the copy verifies with the same head, reads the same, and
// refuses what the original refuses.
func TestCopyFrom(t *testing.T) {
	from := embedded(t, 12000)
	to := open(t, pgtest.URL(t))
	var calls [][2]int64
	rep, err := copyInto(t, from, to, func(n, total int64) { calls = append(calls, [2]int64{n, total}) })
	if err != nil {
		t.Fatal(err)
	}
	seq, hash, err := from.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil || int64(rep.Records) != seq || rep.Head != hash {
		t.Fatalf("report %+v; want %d records up to %s", rep, seq, hash)
	}
	if want := [][2]int64{{5000, seq}, {10000, seq}, {seq, seq}}; !reflect.DeepEqual(calls, want) {
		t.Fatalf("progress %v, want %v", calls, want)
	}
	wantRecs, wantRuns := all(t, from)
	gotRecs, gotRuns := all(t, to)
	if !reflect.DeepEqual(gotRecs, wantRecs) {
		t.Fatalf("the copy's records differ (%d, want %d)", len(gotRecs), len(wantRecs))
	}
	if !reflect.DeepEqual(gotRuns, wantRuns) {
		t.Fatalf("runs\n got %+v\nwant %+v", gotRuns, wantRuns)
	}
	for _, sha := range []string{"77", wantRuns[len(wantRuns)-1].Version} {
		want, err1 := from.Source(ctx, sha)
		got, err2 := to.Source(ctx, sha)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("source %s: %+v, %v; want %+v, %v", sha, got, err2, want, err1)
		}
	}
	checkHead := func() {
		t.Helper()
		if s, h, err := to.Head(ctx); err != nil || s != seq || h != hash {
			t.Fatalf("head %d %s %v; want %d %s", s, h, err, seq, hash)
		}
	}
	checkHead()

	// The claims hold on the copy.
	_, err = to.Append(ctx, journal.Batch{RunID: "b", Once: "fix/2", Entries: []journal.Entry{entry(journal.ApprovalDecided, `{}`)}})
	if dup := (*journal.DuplicateError)(nil); !errors.As(err, &dup) || dup.Seq != 4 {
		t.Fatalf("the Once key again: %v", err)
	}
	_, err = to.Append(ctx, journal.Batch{RunID: "c", Key: "schedule/deploy/0/2027-01-01T09:00:00Z", Entries: []journal.Entry{entry("run.started", `{}`)}})
	if dup := (*journal.DuplicateError)(nil); !errors.As(err, &dup) || dup.RunID != "a" || dup.Seq != 1 {
		t.Fatalf("the key again: %v", err)
	}
	_, err = to.Append(ctx, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("step.log", `{}`)}})
	if ended := (*journal.EndedError)(nil); !errors.As(err, &ended) || ended.Seq != 6 {
		t.Fatalf("a record of the ended run: %v", err)
	}
	checkHead()
	l := journal.Lease{RunID: "a", Holder: "me", Heartbeat: t0, Expires: t0.Add(time.Minute)}
	if err := to.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if r, err := to.RenewLease(ctx, l); err != nil || r.Cancel == nil || r.Cancel.Seq != 5 {
		t.Fatalf("the cancel request: %+v, %v", r.Cancel, err)
	}
	// The copy goes on where the journal ended: one chain.
	recs, err := to.Append(ctx, journal.Batch{RunID: "b", Entries: []journal.Entry{entry("run.resumed", `{}`)}})
	if err != nil || recs[0].Seq != seq+1 || recs[0].PrevHash != hash || recs[0].RunPrev != wantRecs[3].Hash {
		t.Fatalf("the next record: %+v, %v", recs, err)
	}
	if rep, err := journal.Verify(ctx, to, ""); err != nil || rep.Problem != nil || int64(rep.Records) != seq+1 {
		t.Fatalf("Verify after the copy and an append: %+v, %v", rep, err)
	}

	// A store that holds anything is refused, and kept as it is.
	_, err = copyInto(t, from, to, nil)
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("copying into a store that holds a journal: %v", err)
	}
}

// A journal that does not verify is not copied: the error names its first
// problem, and the store stays empty.
func TestCopyFromTampered(t *testing.T) {
	home := t.TempDir()
	from, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	for _, id := range []string{"a", "b"} {
		if _, err := from.Append(ctx, journal.Batch{RunID: id, Entries: []journal.Entry{entry("run.started", `{}`), entry("step.log", `{"n":1}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	db := sqliteDB(t, filepath.Join(home, sqlite.DBFile))
	if _, err := db.Exec(`UPDATE records SET body = replace(body, '"n":1', '"n":2') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	to := open(t, url)
	_, err = copyInto(t, from, to, nil)
	if !errors.Is(err, ErrCopyDiffers) || !errContains(err, "record 2 (run a, step.log): its content does not match its hash: it was changed") {
		t.Fatalf("copying a tampered journal: %v", err)
	}
	var n int
	if err := raw(t, url).QueryRow(ctx, `SELECT (SELECT count(*) FROM journal_records) + (SELECT seq FROM journal_head) + (SELECT count(*) FROM journal_run_ids)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the store holds %d rows after a refused copy (%v)", n, err)
	}
}

// sqliteDB opens the SQLite database at path directly, as someone editing
// it would.
func sqliteDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func errContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
