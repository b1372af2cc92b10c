package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/engine/journal/postgres/pgtest"
)

// TestPostgresStore: with STEWARD_DATABASE_URL naming a real PostgreSQL
// database, a bundled core-only runbook runs, an approval waits and is
// decided by another process, and runs, show and audit verify read the
// journal there: nothing is written under --home.
func TestPostgresStore(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}

	r := homeRun(t, dir, home, env, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Ana", "--progress", "plain")
	wantCode(t, r, exitOK, "run decline-reply")
	first := runID(t, r)
	if !strings.Contains(r.stdout, "card has expired") {
		t.Fatalf("run decline-reply:\n%s", r.stdout)
	}

	r = homeRun(t, dir, home, env, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana")
	wantCode(t, r, exitWaiting, "run refund")
	id := runID(t, r)
	r = homeRun(t, dir, home, env, "approve", id, "refund", "--as", "carla", "--comment", "checked", "--progress", "plain")
	wantCode(t, r, exitOK, "approve")
	if !strings.Contains(r.stdout, "refunded: true") {
		t.Fatalf("the approved run did not go on:\n%s", r.stdout)
	}
	r = homeRun(t, dir, home, env, "approve", id, "refund", "--as", "bruno")
	wantCode(t, r, exitFailed, "a second decision")
	if !strings.Contains(r.stderr, "step refund of run "+id+" was already decided by carla: approved") {
		t.Fatalf("a second decision:\n%s", r.stderr)
	}

	r = homeRun(t, dir, home, env, "runs", "-o", "json")
	wantCode(t, r, exitOK, "runs")
	var list []struct{ ID, Runbook, Status string }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("runs -o json: %v\n%s", err, r.stdout)
	}
	if len(list) != 2 || list[0].ID != id || list[0].Status != "succeeded" || list[1].ID != first || list[1].Runbook != "decline-reply" {
		t.Fatalf("runs: %+v", list)
	}
	r = homeRun(t, dir, home, env, "show", id[len(id)-8:], "-o", "json")
	wantCode(t, r, exitOK, "show")
	var doc struct {
		Run       struct{ ID, Status, Actor string }
		Approvals []struct{ By, Comment string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.ID != id || doc.Run.Status != "succeeded" || doc.Run.Actor != "ana" || len(doc.Approvals) != 1 || doc.Approvals[0].By != "carla" {
		t.Fatalf("show: %+v", doc)
	}
	r = homeRun(t, dir, home, env, "audit", "verify")
	wantCode(t, r, exitOK, "audit verify")
	if !strings.HasPrefix(r.stdout, "verified ") || !strings.Contains(r.stdout, " in 2 runs\n") {
		t.Fatalf("audit verify:\n%s", r.stdout)
	}
	r = homeRun(t, dir, home, env, "audit", "export", "--run", first)
	wantCode(t, r, exitOK, "audit export")
	if !strings.Contains(r.stdout, `"type":"run.finished"`) {
		t.Fatalf("audit export:\n%s", r.stdout)
	}
	// Completion reads run ids there too.
	r = homeRun(t, dir, home, env, "__complete", "show", "")
	if !strings.Contains(r.stdout, id+"\t") || !strings.Contains(r.stdout, first+"\t") {
		t.Fatalf("__complete show:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(home, "journal.db")); err == nil {
		t.Fatal("a journal was made under --home while the store is PostgreSQL")
	}
}

// TestPostgresStoreFromConfig: steward.yaml's store names the database;
// STEWARD_DATABASE_URL, when set, wins over it.
func TestPostgresStoreFromConfig(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	url := pgtest.URL(t)
	writeFile(t, filepath.Join(dir, "steward.yaml"), "store: "+url+"\n")
	r := homeRun(t, dir, home, nil, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Ana")
	wantCode(t, r, exitOK, "run")
	id := runID(t, r)
	r = homeRun(t, dir, home, nil, "runs")
	if !strings.Contains(r.stdout, id) {
		t.Fatalf("runs does not list %s:\n%s", id, r.stdout)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
	if _, err := os.Stat(filepath.Join(home, "journal.db")); err == nil {
		t.Fatal("a journal was made under --home while steward.yaml names PostgreSQL")
	}

	// The variable wins: another database, empty.
	other := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	r = homeRun(t, dir, home, other, "runs")
	wantCode(t, r, exitOK, "runs on the variable's database")
	if strings.Contains(r.stdout, id) {
		t.Fatalf("runs read steward.yaml's database, not STEWARD_DATABASE_URL's:\n%s", r.stdout)
	}
}

// TestPostgresUnreachable: a database that does not answer is named,
// HOST:PORT, without the password, and nothing runs.
func TestPostgresUnreachable(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	env := []string{"STEWARD_DATABASE_URL=postgres://steward:hunter2@127.0.0.1:1/steward?connect_timeout=5"}
	for _, args := range [][]string{
		{"run", "decline-reply", "--input", "decline_code=expired_card", "--input", "customer=Ana"},
		{"runs"},
		{"audit", "verify"},
	} {
		r := homeRun(t, dir, home, env, args...)
		wantCode(t, r, exitFailed, strings.Join(args, " "))
		if !strings.HasPrefix(r.stderr, "steward: cannot reach PostgreSQL at 127.0.0.1:1: ") || strings.Contains(r.stderr+r.stdout, "hunter2") {
			t.Fatalf("%s:\n%s", strings.Join(args, " "), r.stderr)
		}
	}
	writeFile(t, filepath.Join(dir, "steward.yaml"), "store: mysql://root:hunter2@db/steward\n")
	r := homeRun(t, dir, home, nil, "runs")
	wantCode(t, r, exitInvalid, "a store that is not PostgreSQL")
	if !strings.Contains(r.stderr, "store: store must be a PostgreSQL URL") {
		t.Fatalf("runs with store: mysql://…:\n%s", r.stderr)
	}
}

// TestPostgresConcurrentProcesses: steward processes running at once on
// one PostgreSQL database make one chain: every run is recorded, and
// audit verify finds nothing wrong; a waiting run is cancelled by
// another process.
func TestPostgresConcurrentProcesses(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	env := []string{"STEWARD_DATABASE_URL=" + pgtest.URL(t)}
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = homeRun(t, dir, home, env, "run", "decline-reply", "--input", "decline_code=expired_card", "--input", fmt.Sprint("customer=c", i))
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, r := range results {
		wantCode(t, r, exitOK, fmt.Sprint("run ", i))
		ids[runID(t, r)] = true
	}
	r := homeRun(t, dir, home, env, "run", "refund.yaml", "--input", "payment_id=p-9", "--as", "ana")
	wantCode(t, r, exitWaiting, "run refund")
	waiting := runID(t, r)
	wantCode(t, homeRun(t, dir, home, env, "cancel", waiting, "--as", "ana"), exitOK, "cancel")
	r = homeRun(t, dir, home, env, "runs", "--status", "succeeded")
	for id := range ids {
		if !strings.Contains(r.stdout, id) {
			t.Fatalf("runs does not list %s:\n%s", id, r.stdout)
		}
	}
	r = homeRun(t, dir, home, env, "show", waiting, "-o", "json")
	if !strings.Contains(r.stdout, `"status": "cancelled"`) {
		t.Fatalf("the cancelled run:\n%s", r.stdout)
	}
	r = homeRun(t, dir, home, env, "audit", "verify")
	wantCode(t, r, exitOK, "audit verify")
	if !strings.Contains(r.stdout, fmt.Sprintf(" in %d runs\n", n+1)) {
		t.Fatalf("audit verify:\n%s", r.stdout)
	}
}
