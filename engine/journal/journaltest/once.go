package journaltest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testOnce(t *testing.T) {
	t.Run("Claimed", x.onceClaimed)
	t.Run("OneWinner", x.onceOneWinner)
}

func (x *suite) testEnded(t *testing.T) {
	t.Run("Refused", x.endedRefused)
	t.Run("Waiting", x.endedWaiting)
	t.Run("InTheBatch", x.endedInTheBatch)
	t.Run("Race", x.endedRace)
}

// checkDuplicate fails unless err is a *journal.DuplicateError naming the
// run, the key and the record that claimed it.
func checkDuplicate(t *testing.T, what string, err error, want journal.DuplicateError) {
	t.Helper()
	var dup *journal.DuplicateError
	if !errors.As(err, &dup) || !errors.Is(err, journal.ErrDuplicate) || *dup != want {
		t.Fatalf("%s: %v; want %v", what, err, &want)
	}
	if wantMsg := fmt.Sprintf("journal: run %s already holds %q (record %d): recorded once only", want.RunID, want.Once, want.Seq); err.Error() != wantMsg {
		t.Fatalf("%s: %q, want %q", what, err, wantMsg)
	}
}

// checkEnded fails unless err is a *journal.EndedError naming the run and
// the record that ended it.
func checkEnded(t *testing.T, what string, err error, want journal.EndedError) {
	t.Helper()
	var ended *journal.EndedError
	if !errors.As(err, &ended) || !errors.Is(err, journal.ErrRunEnded) || *ended != want {
		t.Fatalf("%s: %v; want %v", what, err, &want)
	}
	if wantMsg := fmt.Sprintf("journal: run %s has ended (record %d): nothing more is recorded of it", want.RunID, want.Seq); err.Error() != wantMsg {
		t.Fatalf("%s: %q, want %q", what, err, wantMsg)
	}
}

// A batch claims a Once key in its run: a second batch claiming it in the
// same run, through any handle, is refused naming the first batch's
// record, and writes nothing (no record, summary, source or cancel); the
// same key in another run, and another key in the run, are free.
func (x *suite) onceClaimed(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	start(t, s, journal.Run{ID: "r", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0})
	start(t, s, journal.Run{ID: "q", Runbook: "deploy", Status: "running", StartedAt: t0, UpdatedAt: t0})
	first := mustAppend(t, s, journal.Batch{RunID: "r", Once: "fix/2", Entries: []journal.Entry{
		entry(journal.ApprovalDecided, 1, `{"step":"fix","approved":true,"by":"bob"}`), entry("step.log", 1, `{}`),
	}})
	head := first[1]
	changed := journal.Run{ID: "r", Runbook: "deploy", Actor: "mallory", Status: "succeeded", StartedAt: t0, UpdatedAt: at(2)}
	src := journal.Source{SHA256: "77", Src: []byte("x")}
	for i, h := range []journal.Store{s, other} {
		recs, err := h.Append(ctx, journal.Batch{RunID: "r", Once: "fix/2", Run: &changed, Source: &src, Cancel: true, Sync: true,
			Entries: []journal.Entry{entry(journal.ApprovalDecided, 2, `{"step":"fix","by":"carl"}`)}})
		if recs != nil {
			t.Fatalf("handle %d: a refused batch returned records %v", i, seqs(recs))
		}
		checkDuplicate(t, fmt.Sprintf("the key again through handle %d", i), err, journal.DuplicateError{RunID: "r", Once: "fix/2", Seq: first[0].Seq})
	}
	checkHead(t, other, head.Seq, head.Hash)
	if run, err := other.Run(ctx, "r"); err != nil || run.Actor != "" || run.Status != "running" {
		t.Fatalf("a refused batch changed the summary: %+v, %v", run, err)
	}
	if _, err := other.Source(ctx, "77"); !errors.Is(err, journal.ErrSourceNotFound) {
		t.Fatalf("a refused batch stored its source: %v", err)
	}
	l := lease("r", "me", t0, 15*time.Second)
	if err := s.AcquireLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RenewLease(ctx, l); err != nil || r.Cancel != nil {
		t.Fatalf("a refused batch recorded a cancel request: %+v, %v", r.Cancel, err)
	}
	mustAppend(t, other, journal.Batch{RunID: "q", Once: "fix/2", Entries: []journal.Entry{entry(journal.ApprovalDecided, 3, `{"step":"fix"}`)}})
	mustAppend(t, other, journal.Batch{RunID: "r", Once: "fix/9", Entries: []journal.Entry{entry(journal.ApprovalDecided, 4, `{"step":"fix"}`)}})
	mustAppend(t, other, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("step.log", 5, `{}`)}}) // no key
	verifyClean(t, s, "", 7, 2, records(t, s, "", time.Time{})[6].Hash)
}

// Goroutines on two handles claim the same key at once: exactly one batch
// is recorded, and every other is told which record won.
func (x *suite) onceOneWinner(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	start(t, s, journal.Run{ID: "r", Status: "waiting", StartedAt: t0, UpdatedAt: t0})
	const n = 8
	var wg sync.WaitGroup
	won := make([][]journal.Record, n)
	errs := make([]error, n)
	for g := range n {
		h := []journal.Store{s, other}[g%2]
		wg.Go(func() {
			won[g], errs[g] = h.Append(ctx, journal.Batch{RunID: "r", Once: "fix/2", Sync: true,
				Entries: []journal.Entry{entry(journal.ApprovalDecided, g, fmt.Sprintf(`{"step":"fix","by":"p%d"}`, g))}})
		})
	}
	wg.Wait()
	var winner []journal.Record
	for g := range n {
		if errs[g] == nil {
			if winner != nil {
				t.Fatalf("two batches claimed the key: records %d and %d", winner[0].Seq, won[g][0].Seq)
			}
			winner = won[g]
		}
	}
	if winner == nil {
		t.Fatalf("no batch claimed the key: %v", errs)
	}
	for g := range n {
		if errs[g] != nil {
			checkDuplicate(t, fmt.Sprintf("writer %d", g), errs[g], journal.DuplicateError{RunID: "r", Once: "fix/2", Seq: winner[0].Seq})
		}
	}
	all := records(t, other, "r", time.Time{})
	if len(all) != 2 || !reflect.DeepEqual(all[1], winner[0]) {
		t.Fatalf("the run's records: %v; want run.started and record %d", seqs(all), winner[0].Seq)
	}
}

// Once a run.finished with a final status is recorded, nothing more is
// recorded of the run, through any handle: records, a summary alone, a
// decision, a cancel request. Other runs go on.
func (x *suite) endedRefused(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	for i, status := range []string{"succeeded", "failed", "cancelled"} {
		id := "r" + status
		start(t, s, journal.Run{ID: id, Status: "running", StartedAt: t0, UpdatedAt: t0})
		end := mustAppend(t, s, journal.Batch{RunID: id, Entries: []journal.Entry{
			entry("step.finished", i, `{"step":"s"}`), entry("run.finished", i, `{"status":"`+status+`","duration":"1s"}`),
		}})[1]
		head, _, _ := s.Head(ctx)
		summary := journal.Run{ID: id, Status: "running", StartedAt: t0, UpdatedAt: at(9)}
		for j, b := range []journal.Batch{
			{RunID: id, Entries: []journal.Entry{entry("step.log", 9, `{}`)}},
			{RunID: id, Run: &summary},
			{RunID: id, Once: "fix/2", Sync: true, Entries: []journal.Entry{entry(journal.ApprovalDecided, 9, `{"step":"fix"}`)}},
			{RunID: id, Cancel: true, Sync: true, Entries: []journal.Entry{entry(journal.CancelRequested, 9, `{"by":"bob"}`)}},
			{RunID: id, Entries: []journal.Entry{entry("run.resumed", 9, `{}`)}},
		} {
			recs, err := []journal.Store{s, other}[j%2].Append(ctx, b)
			if recs != nil {
				t.Fatalf("%s, batch %d: refused but returned records %v", status, j, seqs(recs))
			}
			checkEnded(t, fmt.Sprintf("%s, batch %d", status, j), err, journal.EndedError{RunID: id, Seq: end.Seq})
		}
		if now, _, _ := other.Head(ctx); now != head {
			t.Fatalf("%s: refused batches moved the head from %d to %d", status, head, now)
		}
		if run, err := other.Run(ctx, id); err != nil || !run.UpdatedAt.Equal(t0) {
			t.Fatalf("%s: a refused batch changed the summary: %+v, %v", status, run, err)
		}
	}
	mustAppend(t, other, journal.Batch{RunID: "next", Entries: []journal.Entry{entry("run.started", 9, `{}`)}})
}

// A run that waits records run.finished with status waiting (or none):
// it goes on, resumed, until a final run.finished.
func (x *suite) endedWaiting(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	start(t, s, journal.Run{ID: "r", Status: "running", StartedAt: t0, UpdatedAt: t0})
	for i, data := range []string{`{"status":"waiting"}`, `{}`, `{"status":"running"}`} {
		mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.finished", i, data)}})
		mustAppend(t, s, journal.Batch{RunID: "r", Once: fmt.Sprintf("q%d", i), Entries: []journal.Entry{entry(journal.ApprovalDecided, i, `{"step":"s"}`)}})
		mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.resumed", i, `{}`)}})
	}
	end := mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.finished", 5, `{"status":"succeeded"}`)}})[0]
	_, err := s.Append(ctx, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.resumed", 6, `{}`)}})
	checkEnded(t, "after the final run.finished", err, journal.EndedError{RunID: "r", Seq: end.Seq})
}

// An entry after the final run.finished in the same batch is refused with
// the whole batch.
func (x *suite) endedInTheBatch(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	first := start(t, s, journal.Run{ID: "r", Status: "running", StartedAt: t0, UpdatedAt: t0})
	recs, err := s.Append(ctx, journal.Batch{RunID: "r", Entries: []journal.Entry{
		entry("run.finished", 1, `{"status":"failed"}`), entry("step.log", 2, `{}`),
	}})
	if recs != nil {
		t.Fatalf("refused but returned records %v", seqs(recs))
	}
	checkEnded(t, "an entry after the end in its batch", err, journal.EndedError{RunID: "r", Seq: 2})
	checkHead(t, s, 1, first[0].Hash)
	// Nothing of the refused batch holds: the run goes on.
	mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("step.log", 2, `{}`)}})
}

// Decisions and cancel requests through another handle race the batch
// that ends the run: none of them is recorded after the end.
func (x *suite) endedRace(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	start(t, s, journal.Run{ID: "r", Status: "running", StartedAt: t0, UpdatedAt: t0})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 5 {
				_, err := other.Append(ctx, journal.Batch{RunID: "r", Cancel: g%2 == 0, Sync: true,
					Entries: []journal.Entry{entry(journal.CancelRequested, g, fmt.Sprintf(`{"by":"p%d-%d"}`, g, i))}})
				if errors.Is(err, journal.ErrRunEnded) {
					return
				}
				if err != nil {
					t.Errorf("writer %d: %v", g, err)
					return
				}
			}
		})
	}
	end := mustAppend(t, s, journal.Batch{RunID: "r", Entries: []journal.Entry{entry("run.finished", 9, `{"status":"cancelled"}`)}})[0]
	wg.Wait()
	all := records(t, other, "r", time.Time{})
	if last := all[len(all)-1]; last.Seq != end.Seq {
		t.Fatalf("record %d (%s) was appended after the run's end, record %d", last.Seq, last.Type, end.Seq)
	}
}
