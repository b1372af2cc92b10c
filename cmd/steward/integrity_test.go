package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawJournal opens the store of home as someone with write access to the
// file would, beside steward.
func rawJournal(t *testing.T, home string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(home, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRecords(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM records`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAlteredSourceRefused: the runbook source a waiting run goes on with
// is kept in the journal; someone edits it there (sqlite3) to inject a
// step. approve, resume and cancel refuse to run it, naming the run and
// both hashes, and record nothing; audit verify fails, naming the run.
func TestAlteredSourceRefused(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)

	db := rawJournal(t, home)
	var version string
	var src []byte
	if err := db.QueryRow(`SELECT sha256, src FROM sources`).Scan(&version, &src); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "injected")
	altered := strings.Replace(string(src), "steps:\n",
		"steps:\n  - id: injected\n    needs: []\n    action: exec\n    with: {command: [touch, "+marker+"]}\n", 1)
	if altered == string(src) {
		t.Fatal("the runbook has no steps: line to inject after")
	}
	if _, err := db.Exec(`UPDATE sources SET src = ? WHERE sha256 = ?`, []byte(altered), version); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(altered))
	got := hex.EncodeToString(sum[:])
	before := countRecords(t, db)

	want := fmt.Sprintf("run %s: its runbook source in the journal was changed: its run.started record names sha256 %s, the stored source hashes to %s; nothing ran",
		id, version, got)
	for _, args := range [][]string{
		{"approve", id, "refund", "--as", "carla", "--progress", "plain"},
		{"resume", id, "--progress", "plain"},
		{"cancel", id, "--as", "bruno", "--progress", "plain"},
	} {
		r := homeRun(t, dir, home, nil, args...)
		if r.code != exitFailed || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, want 1 and\n%s\nin:\n%s%s", args[0], r.code, want, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the injected step ran")
	}
	if n := countRecords(t, db); n != before {
		t.Fatalf("%d records after the refusals, %d before: something was recorded", n, before)
	}

	wantVerify := fmt.Sprintf("(run %s, run.started): the stored source of its runbook (sha256 %s) hashes to %s: it was changed", id, version, got)
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--run", id}} {
		r := homeRun(t, dir, home, nil, args...)
		if r.code != exitFailed || !strings.Contains(r.stderr, wantVerify) {
			t.Errorf("%s: exit %d, want 1 and\n%s\nin:\n%s%s", strings.Join(args, " "), r.code, wantVerify, r.stdout, r.stderr)
		}
	}
}

// TestRemovedSourceFound: a run whose runbook source was removed from the
// journal cannot go on, and audit verify names it.
func TestRemovedSourceFound(t *testing.T) {
	dir, home := approvalSetup(t, "4h")
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)
	db := rawJournal(t, home)
	var version string
	if err := db.QueryRow(`SELECT sha256 FROM sources`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM sources`); err != nil {
		t.Fatal(err)
	}
	r = homeRun(t, dir, home, nil, "resume", id)
	if want := "runbook source not found"; r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Errorf("resume: exit %d, want 1 and %q in:\n%s", r.code, want, r.stderr)
	}
	want := fmt.Sprintf("(run %s, run.started): its runbook version (sha256 %s) is not in the journal's sources: it was removed", id, version)
	r = homeRun(t, dir, home, nil, "audit", "verify")
	if r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Errorf("audit verify: exit %d, want 1 and\n%s\nin:\n%s", r.code, want, r.stderr)
	}
}

// TestSummaryEditDetected: the runs list (status, actor, times: what
// steward runs prints) is kept beside the chain. Someone marks a failed
// run succeeded, started by someone else; later moves another run's end.
// show flags it (a warning, and summary_mismatch in -o json) and shows
// what the records say; audit verify fails naming the run and the field.
func TestSummaryEditDetected(t *testing.T) {
	dir, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(dir, "fails.yaml"), "version: 1\nname: fails\nsteps:\n  - id: boom\n    action: core.fail\n    with: {message: boom}\n")
	writeFile(t, filepath.Join(dir, "works.yaml"), "version: 1\nname: works\nsteps:\n  - id: ok\n    action: core.log\n    with: {message: ok}\n")
	r := homeRun(t, dir, home, nil, "run", "fails.yaml", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitFailed, "run fails")
	failed := runID(t, r)
	r = homeRun(t, dir, home, nil, "run", "works.yaml", "--as", "ana", "--progress", "plain")
	wantCode(t, r, exitOK, "run works")
	worked := runID(t, r)
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "verify before")

	db := rawJournal(t, home)
	var finishedSeq int
	if err := db.QueryRow(`SELECT max(seq) FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = ?)`, failed).Scan(&finishedSeq); err != nil {
		t.Fatal(err)
	}
	var startedSeq int
	if err := db.QueryRow(`SELECT min(seq) FROM records WHERE rid = (SELECT rid FROM run_ids WHERE id = ?)`, failed).Scan(&startedSeq); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE runs SET status = 'succeeded', actor = 'mallory' WHERE id = ?`, failed); err != nil {
		t.Fatal(err)
	}

	show := homeRun(t, dir, home, nil, "show", failed)
	wantCode(t, show, exitOK, "show")
	for _, want := range []string{
		"run " + failed + ": fails failed\n",
		"warning: the runs list does not match this run's records: it was changed; shown: what the records say\n",
		fmt.Sprintf(`its status is "succeeded" in the runs list but "failed" in its records (record %d)`, finishedSeq),
		fmt.Sprintf(`its actor is "mallory" in the runs list but "ana" in its records (record %d)`, startedSeq),
		"actor     ana",
	} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("show does not say %q:\n%s", want, show.stdout)
		}
	}
	var doc struct {
		Run             struct{ Status, Actor string }
		SummaryMismatch []struct {
			Field, Listed, Recorded string
			Seq                     int
		} `json:"summary_mismatch"`
	}
	js := homeRun(t, dir, home, nil, "show", failed, "-o", "json")
	wantCode(t, js, exitOK, "show -o json")
	if err := json.Unmarshal([]byte(js.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Run.Status != "failed" || doc.Run.Actor != "ana" || len(doc.SummaryMismatch) != 2 ||
		doc.SummaryMismatch[0].Field != "status" || doc.SummaryMismatch[0].Listed != "succeeded" || doc.SummaryMismatch[0].Recorded != "failed" || doc.SummaryMismatch[0].Seq != finishedSeq ||
		doc.SummaryMismatch[1].Field != "actor" || doc.SummaryMismatch[1].Listed != "mallory" || doc.SummaryMismatch[1].Recorded != "ana" {
		t.Fatalf("show -o json: %+v\n%s", doc, js.stdout)
	}
	if clean := homeRun(t, dir, home, nil, "show", worked); strings.Contains(clean.stdout, "warning") {
		t.Fatalf("show of an untouched run warns:\n%s", clean.stdout)
	}

	want := fmt.Sprintf(`run %s: its status is "succeeded" in the runs list but "failed" in its records (record %d): the runs list was changed`, failed, finishedSeq)
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--run", failed}} {
		r := homeRun(t, dir, home, nil, args...)
		if r.code != exitFailed || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, want 1 and\n%s\nin:\n%s%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
		}
	}

	// Put it back; move the other run's end instead.
	if _, err := db.Exec(`UPDATE runs SET status = 'failed', actor = 'ana' WHERE id = ?`, failed); err != nil {
		t.Fatal(err)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "verify once put back")
	var finished string
	if err := db.QueryRow(`SELECT finished_at FROM runs WHERE id = ?`, worked).Scan(&finished); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE runs SET finished_at = '2020-01-01T00:00:00.000000000Z' WHERE id = ?`, worked); err != nil {
		t.Fatal(err)
	}
	r = homeRun(t, dir, home, nil, "audit", "verify")
	at, err := time.Parse(time.RFC3339Nano, finished)
	if err != nil {
		t.Fatal(err)
	}
	want = fmt.Sprintf(`run %s: its finished_at is "2020-01-01T00:00:00Z" in the runs list but %q in its records`, worked, at.Format(time.RFC3339Nano))
	if r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Errorf("audit verify: exit %d, want 1 and\n%s\nin:\n%s%s", r.code, want, r.stdout, r.stderr)
	}
}
