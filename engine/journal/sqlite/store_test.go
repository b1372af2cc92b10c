package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stewardhq/steward/engine/journal"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)

func open(t *testing.T, home string) *Store {
	t.Helper()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func entry(typ string, sec int, data string) journal.Entry {
	return journal.Entry{Type: typ, Time: t0.Add(time.Duration(sec) * time.Second), Data: json.RawMessage(data)}
}

func verifyClean(t *testing.T, s journal.Store, records, runs int) {
	t.Helper()
	rep, err := journal.Verify(context.Background(), s, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Problem != nil {
		t.Fatalf("Verify: %v", rep.Problem)
	}
	if rep.Records != records || rep.Runs != runs {
		t.Fatalf("Verify: %d records of %d runs, want %d of %d", rep.Records, rep.Runs, records, runs)
	}
}

// A record is stored as its body, byte for byte, its 32-byte hash, and
// the number of its run; Records reads the rest from the body, and passes
// on a body that does not parse whatever since is.
func TestStoredRecord(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	s := open(t, home)
	var recs []journal.Record
	for _, b := range []journal.Batch{
		{RunID: "a", Run: &journal.Run{ID: "a", Status: "running", StartedAt: t0}, Entries: []journal.Entry{entry("run.started", 0, ""), entry("step.started", 1, "")}},
		{RunID: "b", Entries: []journal.Entry{entry("run.started", 2, "")}}, // no summary
		{RunID: "a", Run: &journal.Run{ID: "a", Status: "failed", StartedAt: t0, FinishedAt: t0.Add(3 * time.Second)},
			Entries: []journal.Entry{entry("run.finished", 3, `{"status":"failed"}`)}},
		{RunID: "b", Run: &journal.Run{ID: "b", Status: "running", StartedAt: t0.Add(2 * time.Second)}}, // its summary, later
	} {
		r, err := s.Append(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r...)
	}
	db := rawDB(t, home)
	rows, err := db.Query(`SELECT r.seq, k.id, r.body, typeof(r.hash), hex(r.hash) FROM records r JOIN run_ids k USING (rid) ORDER BY r.seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next(); i++ {
		var seq int64
		var id, typ, hash string
		var body []byte
		if err := rows.Scan(&seq, &id, &body, &typ, &hash); err != nil {
			t.Fatal(err)
		}
		r := recs[i]
		if seq != r.Seq || id != r.RunID || string(body) != string(r.Body) || typ != "blob" || hash != strings.ToUpper(r.Hash) {
			t.Errorf("row %d, %s, %s, %s %s\nwant record %+v", seq, id, body, typ, hash, r)
		}
	}
	if err := rows.Err(); err != nil || i != len(recs) {
		t.Fatalf("%d rows, %v", i, err)
	}
	verifyClean(t, s, 4, 2)

	if _, err := db.Exec(`UPDATE records SET body = 'garbage' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	var got []journal.Record
	if err := s.Records(ctx, "a", t0.Add(3*time.Second), func(r journal.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []journal.Record{{Seq: 2, RunID: "a", Hash: recs[1].Hash, Body: []byte("garbage")}, recs[3]}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Records(a, since):\n got %+v\nwant %+v", got, want)
	}
}

// An entry without a time gets the time of the append.
func TestAppendTime(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	before := time.Now()
	recs, err := s.Append(ctx, journal.Batch{RunID: "a", Entries: []journal.Entry{{Type: "run.started"}}})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Time.Before(before.Truncate(time.Nanosecond)) || recs[0].Time.After(time.Now()) {
		t.Fatalf("time %v", recs[0].Time)
	}
}

// Sync switches the writer's connection to synchronous=FULL for the
// batch only.
func TestAppendSyncPragma(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, sync := range []bool{true, false} {
		if _, err := s.Append(ctx, journal.Batch{RunID: "a", Sync: sync, Entries: []journal.Entry{entry("run.started", 0, "")}}); err != nil {
			t.Fatal(err)
		}
		var mode int
		if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != 1 {
			t.Fatalf("synchronous = %d after an append, want 1 (NORMAL)", mode)
		}
	}
}

func TestPermissions(t *testing.T) {
	home := filepath.Join(t.TempDir(), "a", "home")
	s := open(t, home)
	if _, err := s.Append(context.Background(), journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.started", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(context.Background(), testLease("a", "me", time.Now())); err != nil {
		t.Fatal(err)
	}
	check := func(path string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	check(home, 0o700)
	check(filepath.Join(home, "locks"), 0o700)
	check(filepath.Join(home, "locks", lockKey("a", "me")+".lock"), 0o600)
	check(filepath.Join(home, DBFile), 0o600)
	check(filepath.Join(home, DBFile+"-wal"), 0o600) // WAL mode: present while open
	check(filepath.Join(home, DBFile+"-shm"), 0o600)
}

// An existing folder keeps its mode.
func TestExistingHome(t *testing.T) {
	home := t.TempDir()
	if err := os.Chmod(home, 0o750); err != nil {
		t.Fatal(err)
	}
	open(t, home)
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("home: %v, %v", fi.Mode(), err)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &journal.Run{ID: "a", StartedAt: t0}, Entries: []journal.Entry{entry("run.started", 0, "")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, home)
	if _, err := s.Append(ctx, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.finished", 1, "")}}); err != nil {
		t.Fatal(err)
	}
	var version int
	if err := s.db.QueryRow(`SELECT version FROM schema_version`).Scan(&version); err != nil || version != len(migrations) {
		t.Fatalf("version %d, %v", version, err)
	}
	verifyClean(t, s, 2, 1)
}

func TestSchemaTooNew(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, home)
	if _, err := db.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(home)
	want := fmt.Sprintf("journal: store at %s has schema version 99; this steward knows up to %d: upgrade steward", filepath.Join(home, DBFile), len(migrations))
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func rawDB(t *testing.T, home string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(home, DBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A journal of the schema before runs were marked ended learns, when
// opened, which of its runs have ended from their records: nothing more
// is appended to them. A record that is not JSON (edited) does not stop
// the migration.
func TestMigrateEnded(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	s, err := Open(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []journal.Batch{
		{RunID: "done", Entries: []journal.Entry{entry("run.started", 0, ""), entry("run.finished", 1, `{"status":"failed"}`)}},
		{RunID: "waits", Entries: []journal.Entry{entry("run.started", 2, ""), entry("run.finished", 3, `{"status":"waiting"}`)}},
		{RunID: "edited", Entries: []journal.Entry{entry("run.started", 4, "")}},
	} {
		if _, err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	db := rawDB(t, home)
	for _, stmt := range []string{`DROP TABLE once_keys`, `DROP TABLE ended`, `DROP TABLE keys`, `UPDATE schema_version SET version = 2`,
		`UPDATE records SET body = 'garbage' WHERE seq = 5`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s = open(t, home)
	_, err = s.Append(ctx, journal.Batch{RunID: "done", Entries: []journal.Entry{entry("step.log", 5, "")}})
	var ended *journal.EndedError
	if !errors.As(err, &ended) || *ended != (journal.EndedError{RunID: "done", Seq: 2}) {
		t.Fatalf("an append to a run that ended before the migration: %v", err)
	}
	for _, id := range []string{"waits", "edited"} {
		if _, err := s.Append(ctx, journal.Batch{RunID: id, Entries: []journal.Entry{entry("step.log", 5, "")}}); err != nil {
			t.Fatalf("run %s: %v", id, err)
		}
	}
}

// A listing filtered by runbook, actor or status reads its index in the
// listing's order: one page costs a page, whatever the journal holds
// (BenchmarkRunsPageLarge in engine/console measures it).
func TestRunsFilterPlans(t *testing.T) {
	s := open(t, t.TempDir())
	for col, index := range map[string]string{"runbook": "runs_runbook", "actor": "runs_actor", "status": "runs_status", "after": "runs_started"} {
		where, args := col+` = ?`, []any{"x"}
		if col == "after" {
			// A page after a cursor (Filter.After), as Runs asks it.
			where, args = `(started_at, id) < (?, ?)`, []any{"2026-01-01T00:00:00.000000000Z", "x"}
		}
		rows, err := s.db.Query(`EXPLAIN QUERY PLAN SELECT `+runColumns+` FROM runs WHERE `+where+` ORDER BY started_at DESC, id DESC LIMIT 51`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		// Ties of started_at are sorted by id: a few rows, not the table.
		if !strings.Contains(got, "USING INDEX "+index) || strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
			t.Errorf("listing by %s: plan %q, want %s read in order", col, got, index)
		}
	}
}
