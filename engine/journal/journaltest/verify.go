package journaltest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testVerify(t *testing.T) {
	t.Run("Empty", x.verifyEmpty)
	t.Run("Clean", x.verifyClean)
	t.Run("TwoHandles", x.verifyTwoHandles)
	t.Run("Summary", x.verifySummary)
}

// An empty store verifies clean; a run it does not hold is not found.
func (x *suite) verifyEmpty(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	verifyClean(t, s, "", 0, 0, "")
	if _, err := journal.Verify(ctx, s, "nope"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("Verify(nope): %v", err)
	}
}

// journal.Verify passes on what a store wrote, whole and run by run.
func (x *suite) verifyClean(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	a := start(t, s, journal.Run{ID: "a", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0})
	b := start(t, s, journal.Run{ID: "b", Runbook: "backup", Status: "running", StartedAt: at(1), UpdatedAt: at(1)})
	a = append(a, mustAppend(t, s, journal.Batch{RunID: "a", Entries: []journal.Entry{
		entry("step.started", 2, `{"step":"s1"}`), entry("step.finished", 3, `{"step":"s1","status":"succeeded"}`),
	}})...)
	bEnd := journal.Run{ID: "b", Runbook: "backup", Status: "succeeded", StartedAt: at(1), UpdatedAt: at(4), FinishedAt: at(4)}
	b = append(b, mustAppend(t, s, journal.Batch{RunID: "b", Run: &bEnd, Entries: []journal.Entry{entry("run.finished", 4, `{"status":"succeeded"}`)}})...)
	verifyClean(t, s, "", 5, 2, b[1].Hash)
	verifyClean(t, s, "a", 3, 1, a[2].Hash)
	verifyClean(t, s, "b", 2, 1, b[1].Hash)
}

// Records appended through two handles, interleaved, make one chain.
func (x *suite) verifyTwoHandles(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	handles := []journal.Store{s, other}
	start(t, s, journal.Run{ID: "x", Status: "running", StartedAt: t0, UpdatedAt: t0})
	start(t, other, journal.Run{ID: "y", Status: "running", StartedAt: t0, UpdatedAt: t0})
	var prev journal.Record
	prev, _, _ = s.Record(ctx, 2)
	last := map[string]string{}
	for _, r := range records(t, s, "", time.Time{}) {
		last[r.RunID] = r.Hash
	}
	for i := range 12 {
		h := handles[i%2]
		run := []string{"x", "y"}[i/2%2]
		recs := mustAppend(t, h, journal.Batch{RunID: run, Entries: []journal.Entry{
			entry("step.started", i, fmt.Sprintf(`{"step":"s%d"}`, i)), entry("step.finished", i, fmt.Sprintf(`{"step":"s%d"}`, i)),
		}})
		for _, r := range recs {
			if r.Seq != prev.Seq+1 || r.PrevHash != prev.Hash || r.RunPrev != last[run] {
				t.Fatalf("batch %d through handle %d: record %d (prev_hash %.12s, run_prev %.12s) after record %d (%.12s), run %s's last %.12s",
					i, i%2, r.Seq, r.PrevHash, r.RunPrev, prev.Seq, prev.Hash, run, last[run])
			}
			prev, last[run] = r, r.Hash
		}
	}
	for i, h := range handles {
		checkHead(t, h, prev.Seq, prev.Hash)
		verifyClean(t, h, "", 26, 2, prev.Hash)
		verifyClean(t, h, "x", 13, 1, last["x"])
		if i == 0 {
			checkRecords(t, "the two handles' records", records(t, s, "", time.Time{}), records(t, other, "", time.Time{}))
		}
	}
}

// journal.Verify checks each run's summary against its records: what the
// store gives back of summaries written with the records (times to the
// nanosecond, which a store may keep to the microsecond) passes; a
// summary replaced with another status or actor is named, whole and run
// by run.
func (x *suite) verifySummary(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	src := &journal.Source{Name: "deploy", File: "deploy.yaml", Src: []byte("version: 1\n")}
	src.SHA256 = journal.HashBody(src.Src)
	var last journal.Record
	for i, status := range []string{"failed", "waiting"} {
		started := at(i).Add(123) // nanoseconds
		run := journal.Run{ID: status, Runbook: "deploy", Version: src.SHA256, Actor: "ann", Status: "running", DryRun: i == 0, Parent: "p",
			StartedAt: started, UpdatedAt: started, Host: "h", PID: 7}
		start(t, s, run)
		end := entry("run.finished", 9, `{"status":"`+status+`"}`)
		end.Time = end.Time.Add(456)
		run.Status, run.UpdatedAt = status, end.Time
		if status == "failed" {
			run.FinishedAt = end.Time
		}
		last = mustAppend(t, s, journal.Batch{RunID: run.ID, Run: &run, Source: src, Entries: []journal.Entry{end}})[0]
	}
	verifyClean(t, other, "", 4, 2, last.Hash)
	verifyClean(t, other, "failed", 2, 1, records(t, s, "failed", time.Time{})[1].Hash)

	forged, err := other.Run(ctx, "waiting")
	if err != nil {
		t.Fatal(err)
	}
	forged.Status, forged.Actor = "succeeded", "mallory"
	mustAppend(t, other, journal.Batch{RunID: "waiting", Run: &forged})
	want := fmt.Sprintf(`run waiting: its status is "succeeded" in the runs list but "waiting" in its records (record %d): the runs list was changed`, last.Seq)
	for _, id := range []string{"", "waiting"} {
		rep, err := journal.Verify(ctx, s, id)
		if err != nil || rep.Problem == nil || rep.Problem.Error() != want {
			t.Fatalf("Verify(%q): %v, %v; want %s", id, rep.Problem, err, want)
		}
	}
}
