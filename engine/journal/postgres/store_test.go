package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

var ctx = context.Background()

func entry(typ string, data string) journal.Entry {
	return journal.Entry{Type: typ, Time: time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC), Data: json.RawMessage(data)}
}

// raw connects to the store's schema directly, as an administrator (or
// an attacker) would.
func raw(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// Replicas that start together on a new database migrate it once: every
// Open succeeds, and the schema is there once, at its version.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	const n = 6
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, url) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	c := raw(t, url)
	var rows, version, heads int
	if err := c.QueryRow(ctx, `SELECT count(*), max(version) FROM journal_schema`).Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, `SELECT count(*) FROM journal_head`).Scan(&heads); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != len(migrations) || heads != 1 {
		t.Fatalf("after %d concurrent Opens: %d version rows at %d, %d head rows; want 1 at %d, 1", n, rows, version, heads, len(migrations))
	}
	if _, err := stores[0].Append(ctx, journal.Batch{RunID: "a", Entries: []journal.Entry{entry("run.started", `{}`)}}); err != nil {
		t.Fatal(err)
	}
}

// A database migrated by a newer steward is refused, saying so, and left
// as it is.
func TestSchemaTooNew(t *testing.T) {
	url := pgtest.URL(t)
	open(t, url).Close()
	c := raw(t, url)
	if _, err := c.Exec(ctx, `UPDATE journal_schema SET version = 99`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, url)
	if err == nil {
		s.Close()
		t.Fatal("a database of schema version 99 was opened")
	}
	cfg, err2 := pgx.ParseConfig(url)
	if err2 != nil {
		t.Fatal(err2)
	}
	want := fmt.Sprintf("journal: the PostgreSQL store at %s has schema version 99; this steward knows up to %d: upgrade steward", address(cfg), len(migrations))
	if err.Error() != want {
		t.Fatalf("Open: %v\nwant %s", err, want)
	}
	var version int
	if err := c.QueryRow(ctx, `SELECT version FROM journal_schema`).Scan(&version); err != nil || version != 99 {
		t.Fatalf("the version is now %d, %v", version, err)
	}
}

// A server that does not answer is named, HOST:PORT, without the
// password of the URL.
func TestCannotReach(t *testing.T) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := Open(c, "postgres://steward:hunter2@127.0.0.1:1/journal?connect_timeout=5")
	if err == nil || !strings.HasPrefix(err.Error(), "journal: cannot reach PostgreSQL at 127.0.0.1:1: ") {
		t.Fatalf("Open of a closed port: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
	_, err = Open(ctx, "postgres://steward:hunter2@127.0.0.1:notaport/journal")
	if err == nil || !strings.HasPrefix(err.Error(), "journal: the store URL is not a PostgreSQL connection string: ") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Open of a bad URL: %v", err)
	}
}

// A batch without Sync commits with synchronous_commit off for its own
// transaction only: the session the pool gives back keeps the server's
// setting.
func TestSyncCommitIsLocal(t *testing.T) {
	url := pgtest.URL(t) + "&pool_max_conns=1"
	s := open(t, url)
	for _, sync := range []bool{false, true, false} {
		if _, err := s.Append(ctx, journal.Batch{RunID: "a", Sync: sync, Entries: []journal.Entry{entry("step.log", `{}`)}}); err != nil {
			t.Fatal(err)
		}
		var setting string
		if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&setting); err != nil {
			t.Fatal(err)
		}
		if setting != "on" {
			t.Fatalf("after a batch with Sync %v, the session's synchronous_commit is %s", sync, setting)
		}
	}
}

// Listen first says the head it listens from, then every batch appended
// after it, through any handle, as its run and last seq, in seq order;
// it returns nil when its context ends.
func TestListen(t *testing.T) {
	url := pgtest.URL(t)
	s, other := open(t, url), open(t, url)
	if _, err := s.Append(ctx, journal.Batch{RunID: "before", Entries: []journal.Entry{entry("run.started", `{}`)}}); err != nil {
		t.Fatal(err)
	}
	type note struct {
		run string
		seq int64
	}
	notes := make(chan note, 16)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Listen(lctx, func(run string, seq int64) { notes <- note{run, seq} }) }()
	if n := <-notes; n != (note{"", 1}) {
		t.Fatalf("the first call is %+v, want the head, seq 1", n)
	}
	var want []note
	for i, run := range []string{"a", "b", "a"} {
		h := []*Store{s, other}[i%2]
		recs, err := h.Append(ctx, journal.Batch{RunID: run, Entries: []journal.Entry{entry("step.log", `{}`), entry("step.log", `{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, note{run, recs[1].Seq})
	}
	// A summary alone is not notified; the next batch is.
	if _, err := other.Append(ctx, journal.Batch{RunID: "c", Run: &journal.Run{ID: "c", Status: "running"}}); err != nil {
		t.Fatal(err)
	}
	recs, err := other.Append(ctx, journal.Batch{RunID: "c", Entries: []journal.Entry{entry("run.started", `{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, note{"c", recs[0].Seq})
	for _, w := range want {
		if n := <-notes; n != w {
			t.Fatalf("notified %+v, want %+v", n, w)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Listen after its context ended: %v", err)
	}
}

// Listen hears its own store only: appends to a store in another schema
// of the same database (channels are per database) are not notified.
// One channel for all, TestListen was told of runs of other tests
// appending to the test database at the same time.
func TestListenOwnSchemaOnly(t *testing.T) {
	s, elsewhere := open(t, pgtest.URL(t)), open(t, pgtest.URL(t))
	notes := make(chan string, 16)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Listen(lctx, func(run string, seq int64) { notes <- fmt.Sprint(run, " ", seq) }) }()
	if n := <-notes; n != " 0" {
		t.Fatalf("the first call is %q, want the empty head", n)
	}
	// Committed in this order, and so notified in it were both heard.
	if _, err := elsewhere.Append(ctx, journal.Batch{RunID: "other", Entries: []journal.Entry{entry("run.started", `{}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.started", `{}`)}}); err != nil {
		t.Fatal(err)
	}
	if n := <-notes; n != "r 1" {
		t.Fatalf("notified %q first, want the store's own append", n)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-notes:
		t.Fatalf("notified %q, of the other schema", n)
	default:
	}
}

// A refused batch notifies nothing: its transaction is rolled back.
func TestListenRefusedBatch(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	notes := make(chan string, 16)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- s.Listen(lctx, func(run string, seq int64) { notes <- fmt.Sprint(run, " ", seq) }) }()
	if n := <-notes; n != " 0" {
		t.Fatalf("the first call is %q, want the empty head", n)
	}
	b := journal.Batch{RunID: "r", Once: "q", Entries: []journal.Entry{entry("approval.decided", `{}`)}}
	if _, err := s.Append(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, b); !errors.Is(err, journal.ErrDuplicate) {
		t.Fatalf("the key again: %v", err)
	}
	if _, err := s.Append(ctx, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("step.log", `{}`)}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"r 1", "r 2"} {
		if n := <-notes; n != want {
			t.Fatalf("notified %q, want %q", n, want)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A lease outlives its holder's connections: nothing tells the store that
// a holder died (there is no flock, as on SQLite), so another holder
// takes the run over when the lease expires, not before.
func TestLeaseOutlivesItsHolder(t *testing.T) {
	url := pgtest.URL(t)
	holder, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	other := open(t, url)
	l := journal.Lease{RunID: "r", Holder: "dead", Host: "h1", PID: 1, Acquired: t0, Heartbeat: t0, Expires: t0.Add(15 * time.Second)}
	if err := holder.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	holder.Close() // as a replica killed with SIGKILL: its connections end
	next := journal.Lease{RunID: "r", Holder: "next", Host: "h2", PID: 2, Heartbeat: t0.Add(time.Second), Expires: t0.Add(16 * time.Second)}
	if got, live, err := other.Lease(ctx, "r", next.Heartbeat); err != nil || !live || got != l {
		t.Fatalf("the dead holder's lease: %+v, live %v, %v", got, live, err)
	}
	if err := other.AcquireLease(ctx, next); !errors.Is(err, journal.ErrRunBusy) {
		t.Fatalf("AcquireLease before the expiry: %v", err)
	}
	next.Heartbeat, next.Expires = l.Expires, l.Expires.Add(15*time.Second)
	if err := other.AcquireLease(ctx, next); err != nil {
		t.Fatalf("AcquireLease at the expiry: %v", err)
	}
}

// Runs and Records read in pages: every run and record comes once, in
// order, across pages and ties of started_at, with a limit across pages;
// and a callback may read through the snapshot's one connection.
func TestReadPages(t *testing.T) {
	s := open(t, pgtest.URL(t))
	const n = 2*pageSize + 37
	for i := range n {
		// Three runs start at each instant: ties ordered by id.
		run := journal.Run{ID: fmt.Sprintf("r%04d", i), Status: "running", StartedAt: t0.Add(time.Duration(i/3) * time.Second), UpdatedAt: t0}
		b := journal.Batch{RunID: run.ID, Run: &run}
		if i%2 == 0 {
			b.Entries = []journal.Entry{entry("run.started", `{}`)}
		}
		if _, err := s.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Snapshot(ctx, func(r journal.Reader) error {
		for _, limit := range []int{0, pageSize + 1, 7} {
			var ids []string
			err := r.Runs(ctx, journal.Filter{Limit: limit}, func(run journal.Run) error {
				if _, err := r.Run(ctx, run.ID); err != nil {
					return err
				}
				ids = append(ids, run.ID)
				return nil
			})
			if err != nil {
				return err
			}
			want := n
			if limit > 0 {
				want = limit
			}
			if len(ids) != want {
				return fmt.Errorf("limit %d: %d runs, want %d", limit, len(ids), want)
			}
			for i, id := range ids {
				if id != fmt.Sprintf("r%04d", n-1-i) {
					return fmt.Errorf("limit %d: run %d is %s", limit, i, id)
				}
			}
		}
		var seqs []int64
		err := r.Records(ctx, "", time.Time{}, func(rec journal.Record) error {
			if _, ok, err := r.Record(ctx, rec.Seq); err != nil || !ok {
				return fmt.Errorf("record %d inside Records: %v, %v", rec.Seq, ok, err)
			}
			seqs = append(seqs, rec.Seq)
			return nil
		})
		if err != nil {
			return err
		}
		if len(seqs) != (n+1)/2 || seqs[len(seqs)-1] != int64(len(seqs)) {
			return fmt.Errorf("%d records, the last %d; want %d", len(seqs), seqs[len(seqs)-1], (n+1)/2)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
