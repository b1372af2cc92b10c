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

func TestAppendAndRead(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "home"))

	if seq, hash, err := s.Head(ctx); err != nil || seq != 0 || hash != "" {
		t.Fatalf("empty Head = %d, %q, %v", seq, hash, err)
	}
	runA := journal.Run{ID: "a", Runbook: "deploy", Version: "v1", Actor: "ann", Status: "running",
		StartedAt: t0, UpdatedAt: t0, Host: "h", PID: 7}
	src := journal.Source{SHA256: "v1", Name: "deploy", File: "deploy.yaml", Src: []byte("steps: []\n")}
	recs, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &runA, Source: &src, Sync: true, Entries: []journal.Entry{
		entry("run.started", 0, `{"inputs":{"x":1}}`),
		entry("step.started", 1, ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Seq != 1 || recs[1].Seq != 2 || recs[0].PrevHash != "" || recs[1].PrevHash != recs[0].Hash ||
		recs[0].RunPrev != "" || recs[1].RunPrev != recs[0].Hash {
		t.Fatalf("sealed: %+v", recs)
	}
	runB := journal.Run{ID: "b", Runbook: "backup", Status: "running", DryRun: true, Parent: "a",
		StartedAt: t0.Add(time.Minute), UpdatedAt: t0.Add(time.Minute)}
	recsB, err := s.Append(ctx, journal.Batch{RunID: "b", Run: &runB, Source: &src, Entries: []journal.Entry{
		entry("run.started", 60, "{\n  \"spread\": \"over lines\"\n}"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if recsB[0].PrevHash != recs[1].Hash || recsB[0].RunPrev != "" || string(recsB[0].Data) != `{"spread":"over lines"}` {
		t.Fatalf("run b: %+v", recsB[0])
	}
	runA.Status, runA.UpdatedAt, runA.FinishedAt = "succeeded", t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	recs2, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &runA, Entries: []journal.Entry{entry("run.finished", 7200, `{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if recs2[0].Seq != 4 || recs2[0].RunPrev != recs[1].Hash || recs2[0].PrevHash != recsB[0].Hash {
		t.Fatalf("run a, again: %+v", recs2[0])
	}
	// A summary-only batch.
	runB.Status = "waiting"
	if recs, err := s.Append(ctx, journal.Batch{RunID: "b", Run: &runB}); err != nil || len(recs) != 0 {
		t.Fatalf("summary only: %v, %v", recs, err)
	}

	if seq, hash, err := s.Head(ctx); err != nil || seq != 4 || hash != recs2[0].Hash {
		t.Fatalf("Head = %d, %q, %v", seq, hash, err)
	}
	if got, err := s.Run(ctx, "a"); err != nil || !reflect.DeepEqual(got, runA) {
		t.Fatalf("Run(a) = %+v, %v\nwant %+v", got, err, runA)
	}
	if _, err := s.Run(ctx, "zz"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Run(zz): %v", err)
	}
	runsOf := func(f journal.Filter) []string {
		runs, err := s.Runs(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	for _, c := range []struct {
		f    journal.Filter
		want []string
	}{
		{journal.Filter{}, []string{"b", "a"}},
		{journal.Filter{Limit: 1}, []string{"b"}},
		{journal.Filter{Runbook: "deploy"}, []string{"a"}},
		{journal.Filter{Status: "waiting"}, []string{"b"}},
		{journal.Filter{Since: t0.Add(time.Second)}, []string{"b"}},
		{journal.Filter{Since: t0}, []string{"b", "a"}},
		{journal.Filter{Runbook: "deploy", Status: "waiting"}, nil},
	} {
		if got := runsOf(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Runs(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	if runs, _ := s.Runs(ctx, journal.Filter{Status: "waiting"}); !reflect.DeepEqual(runs[0], runB) {
		t.Errorf("Runs: %+v\nwant %+v", runs[0], runB)
	}

	all := append(append(append([]journal.Record{}, recs...), recsB...), recs2...)
	seqs := func(runID string, since time.Time) []journal.Record {
		var got []journal.Record
		if err := s.Records(ctx, runID, since, func(r journal.Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := seqs("", time.Time{}); !reflect.DeepEqual(got, all) {
		t.Fatalf("Records:\n got %+v\nwant %+v", got, all)
	}
	if got := seqs("a", time.Time{}); !reflect.DeepEqual(got, []journal.Record{all[0], all[1], all[3]}) {
		t.Fatalf("Records(a): %+v", got)
	}
	if got := seqs("", t0.Add(time.Second)); !reflect.DeepEqual(got, all[1:]) {
		t.Fatalf("Records(since): %+v", got)
	}
	if got := seqs("a", t0.Add(time.Minute)); !reflect.DeepEqual(got, all[3:]) {
		t.Fatalf("Records(a, since): %+v", got)
	}
	stop := errors.New("stop")
	if err := s.Records(ctx, "", time.Time{}, func(journal.Record) error { return stop }); err != stop {
		t.Fatalf("Records returns %v, want fn's error", err)
	}
	if r, ok, err := s.Record(ctx, 3); err != nil || !ok || !reflect.DeepEqual(r, all[2]) {
		t.Fatalf("Record(3) = %+v, %v, %v", r, ok, err)
	}
	if _, ok, err := s.Record(ctx, 5); err != nil || ok {
		t.Fatalf("Record(5) = %v, %v", ok, err)
	}
	if got, err := s.Source(ctx, "v1"); err != nil || !reflect.DeepEqual(got, src) {
		t.Fatalf("Source = %+v, %v", got, err)
	}
	if _, err := s.Source(ctx, "v2"); !errors.Is(err, journal.ErrSourceNotFound) {
		t.Fatalf("Source(v2): %v", err)
	}
	verifyClean(t, s, 4, 2)
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
		{RunID: "a", Run: &journal.Run{ID: "a"}, Entries: []journal.Entry{entry("run.started", 0, ""), entry("step.started", 1, "")}},
		{RunID: "b", Entries: []journal.Entry{entry("run.started", 2, "")}}, // no summary
		{RunID: "a", Entries: []journal.Entry{entry("run.finished", 3, "")}},
		{RunID: "b", Run: &journal.Run{ID: "b"}}, // its summary, later
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

func TestAppendRejects(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, c := range []struct {
		b    journal.Batch
		want string
	}{
		{journal.Batch{Entries: []journal.Entry{entry("run.started", 0, "")}}, "journal: append: the batch has no run id"},
		{journal.Batch{RunID: "a", Run: &journal.Run{ID: "b"}}, "journal: append: the batch is for run a but its summary is for run b"},
		{journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.started", 0, `{"a":`)}},
			"journal: append: run.started entry of run a: its data is not valid JSON"},
		{journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.started", 0, `[1]`)}},
			"journal: append: run.started entry of run a: its data is not a JSON object"},
		{journal.Batch{RunID: "a", Entries: []journal.Entry{entry("", 0, `{}`)}}, "journal: append: entry 0 of run a has no type"},
	} {
		if _, err := s.Append(ctx, c.b); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %s", err, c.want)
		}
	}
	if seq, _, _ := s.Head(ctx); seq != 0 {
		t.Fatalf("a rejected batch was written: head %d", seq)
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
		if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode); err != nil {
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
	release, err := s.Acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
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
	check(filepath.Join(home, "locks", "a.lock"), 0o600)
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
	if _, err := s.Append(ctx, journal.Batch{RunID: "a", Run: &journal.Run{ID: "a"}, Entries: []journal.Entry{entry("run.started", 0, "")}}); err != nil {
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
	if err := s.r.QueryRow(`SELECT version FROM schema_version`).Scan(&version); err != nil || version != len(migrations) {
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
	want := fmt.Sprintf("journal: store at %s has schema version 99; this steward knows up to 1: upgrade steward", filepath.Join(home, DBFile))
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
