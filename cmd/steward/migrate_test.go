package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// TestMigrateSQLiteToPostgres: runs made by the CLI on the embedded store
// (a bundled runbook, an approval decided, a run cancelled while it
// waits) are copied into PostgreSQL: audit verify there names the same
// last record, runs and show read the same, the decision is still the
// only one, and a second copy into the same database is refused.
func TestMigrateSQLiteToPostgres(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	r := homeRun(t, dir, home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Ana")
	wantCode(t, r, exitOK, "run decline-reply")
	r = homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana")
	wantCode(t, r, exitWaiting, "run refund")
	decided := runID(t, r)
	wantCode(t, homeRun(t, dir, home, nil, "approve", decided, "refund", "--as", "carla", "--comment", "ok"), exitOK, "approve")
	r = homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-2", "--as", "ana")
	wantCode(t, r, exitWaiting, "run refund")
	cancelled := runID(t, r)
	wantCode(t, homeRun(t, dir, home, nil, "cancel", cancelled, "--as", "ana"), exitOK, "cancel")

	before := homeRun(t, dir, home, nil, "audit", "verify")
	wantCode(t, before, exitOK, "audit verify on SQLite")
	runsBefore := homeRun(t, dir, home, nil, "runs")
	showBefore := homeRun(t, dir, home, nil, "show", decided)

	url := pgtest.URL(t)
	r = homeRun(t, dir, home, nil, "migrate", "sqlite-to-postgres", "--to", url)
	wantCode(t, r, exitOK, "migrate")
	last := before.stdout[strings.Index(before.stdout, "last record: ")+len("last record: "):]
	if !strings.Contains(r.stdout, " of 3 runs from "+filepath.Join(home, "journal.db")+" to PostgreSQL at ") ||
		!strings.Contains(r.stdout, "verified: last record "+last) {
		t.Fatalf("migrate:\n%s\nwant the last record %s", r.stdout, last)
	}

	env := []string{"STEWARD_DATABASE_URL=" + url}
	after := homeRun(t, dir, home, env, "audit", "verify")
	wantCode(t, after, exitOK, "audit verify on PostgreSQL")
	if after.stdout != before.stdout {
		t.Fatalf("audit verify on PostgreSQL:\n%s\non SQLite:\n%s", after.stdout, before.stdout)
	}
	if r := homeRun(t, dir, home, env, "runs"); r.stdout != runsBefore.stdout {
		t.Fatalf("runs on PostgreSQL:\n%s\non SQLite:\n%s", r.stdout, runsBefore.stdout)
	}
	if r := homeRun(t, dir, home, env, "show", decided); r.stdout != showBefore.stdout {
		t.Fatalf("show on PostgreSQL:\n%s\non SQLite:\n%s", r.stdout, showBefore.stdout)
	}
	// The decision and the end came along: neither can be made again.
	r = homeRun(t, dir, home, env, "approve", decided, "refund", "--as", "bruno")
	wantCode(t, r, exitFailed, "a second decision on PostgreSQL")
	if !strings.Contains(r.stderr, "was already decided by carla") {
		t.Fatalf("a second decision on PostgreSQL:\n%s", r.stderr)
	}
	r = homeRun(t, dir, home, env, "approve", cancelled, "refund", "--as", "bruno")
	if r.code == exitOK {
		t.Fatalf("the cancelled run was approved on PostgreSQL:\n%s", r.stdout)
	}
	// New runs go on the same chain.
	wantCode(t, homeRun(t, dir, home, env, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Bo"), exitOK, "run on PostgreSQL")
	wantCode(t, homeRun(t, dir, home, env, "audit", "verify"), exitOK, "audit verify after a new run")

	r = homeRun(t, dir, home, nil, "migrate", "sqlite-to-postgres", "--to", url)
	wantCode(t, r, exitInvalid, "a second migrate")
	if !strings.HasPrefix(r.stderr, "steward: the PostgreSQL store is not empty: ") || !strings.HasSuffix(r.stderr, " runs; copy into an empty database (or schema)\n") {
		t.Fatalf("a second migrate:\n%s", r.stderr)
	}
}

// TestMigrateBadInput: nothing to copy, nowhere to copy it.
func TestMigrateBadInput(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	r := homeRun(t, dir, home, nil, "migrate", "sqlite-to-postgres", "--to", pgtest.URL(t))
	wantCode(t, r, exitInvalid, "no journal")
	if want := "steward: no journal to copy: " + filepath.Join(home, "journal.db") + " does not exist (--from names the home that holds it)\n"; r.stderr != want {
		t.Fatalf("no journal:\n%s\nwant %s", r.stderr, want)
	}
	r = homeRun(t, dir, home, nil, "migrate", "sqlite-to-postgres")
	wantCode(t, r, exitInvalid, "no --to")
	if want := "steward: --to: name the PostgreSQL database to copy into, postgres://USER@HOST:PORT/DATABASE\n"; r.stderr != want {
		t.Fatalf("no --to:\n%s", r.stderr)
	}
}

// TestMigrateProgress: a large journal's copy says how far it is, on
// stderr.
func TestMigrateProgress(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	s, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)
	run := journal.Run{ID: "20261121-101502-3fa9c2d1", Runbook: "bulk", Actor: "ana", Status: "running", StartedAt: at, UpdatedAt: at}
	for i := range 110 {
		b := journal.Batch{RunID: run.ID, Run: &run}
		if i == 0 {
			b.Entries = append(b.Entries, journal.Entry{Type: "run.started", Time: at, Data: json.RawMessage(`{"runbook":"bulk","actor":"ana"}`)})
		}
		for len(b.Entries) < 50 {
			b.Entries = append(b.Entries, journal.Entry{Type: "step.log", Time: at, Data: json.RawMessage(fmt.Sprintf(`{"message":"line %d"}`, i*50+len(b.Entries)))})
		}
		if _, err := s.Append(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := homeRun(t, dir, home, nil, "migrate", "sqlite-to-postgres", "--to", pgtest.URL(t))
	wantCode(t, r, exitOK, "migrate")
	if r.stderr != "copied 5000 of 5500 records\ncopied 5500 of 5500 records\n" || !strings.HasPrefix(r.stdout, "copied 5500 records of 1 run from ") {
		t.Fatalf("migrate:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}
