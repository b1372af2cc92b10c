package journaltest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testKeys(t *testing.T) {
	t.Run("Claimed", x.keyClaimed)
	t.Run("OneWinner", x.keyOneWinner)
	t.Run("WithoutEntries", x.keyWithoutEntries)
}

// checkKeyHeld fails unless err is a *journal.DuplicateError naming the
// key, the run that holds it and the record that claimed it.
func checkKeyHeld(t *testing.T, what string, err error, want journal.DuplicateError) {
	t.Helper()
	var dup *journal.DuplicateError
	if !errors.As(err, &dup) || !errors.Is(err, journal.ErrDuplicate) || *dup != want {
		t.Fatalf("%s: %v; want %v", what, err, &want)
	}
	if wantMsg := fmt.Sprintf("journal: key %q is held by run %s (record %d): recorded once only", want.Key, want.RunID, want.Seq); err.Error() != wantMsg {
		t.Fatalf("%s: %q, want %q", what, err, wantMsg)
	}
}

// A batch claims a key unique in the whole store (a schedule's slot, a
// webhook's dedupe key): a batch of any run claiming it again, through any
// handle and after a reopen, is refused naming the run and record that
// hold it, and writes nothing (no record, summary or source); other keys
// are free.
func (x *suite) keyClaimed(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	const key = "schedule/review/0/2027-03-28T09:00:00Z"
	run := journal.Run{ID: "a", Runbook: "review", Status: "running", StartedAt: t0, UpdatedAt: t0}
	first := mustAppend(t, s, journal.Batch{RunID: "a", Key: key, Run: &run,
		Entries: []journal.Entry{entry("run.started", 0, `{"runbook":"review"}`)}})
	for i, h := range []journal.Store{s, other, x.h.Reopen(t, s)} {
		b := journal.Run{ID: "b", Runbook: "review", Status: "running", StartedAt: t0, UpdatedAt: t0}
		src := journal.Source{SHA256: "77", Src: []byte("x")}
		recs, err := h.Append(ctx, journal.Batch{RunID: "b", Key: key, Run: &b, Source: &src, Sync: true,
			Entries: []journal.Entry{entry("run.started", 1, `{"runbook":"review"}`)}})
		if recs != nil {
			t.Fatalf("handle %d: a refused batch returned records %v", i, seqs(recs))
		}
		checkKeyHeld(t, fmt.Sprintf("the key again through handle %d", i), err, journal.DuplicateError{RunID: "a", Key: key, Seq: first[0].Seq})
		// The run that holds it cannot claim it twice either.
		_, err = h.Append(ctx, journal.Batch{RunID: "a", Key: key, Entries: []journal.Entry{entry("step.log", 1, `{}`)}})
		checkKeyHeld(t, fmt.Sprintf("the key again in its run through handle %d", i), err, journal.DuplicateError{RunID: "a", Key: key, Seq: first[0].Seq})
	}
	checkHead(t, other, first[0].Seq, first[0].Hash)
	if _, err := other.Run(ctx, "b"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Fatalf("a refused batch wrote its summary: %v", err)
	}
	if _, err := other.Source(ctx, "77"); !errors.Is(err, journal.ErrSourceNotFound) {
		t.Fatalf("a refused batch stored its source: %v", err)
	}
	// A key is not a Once key: the same string as a Once key is free.
	mustAppend(t, other, journal.Batch{RunID: "a", Once: key, Entries: []journal.Entry{entry("step.log", 2, `{}`)}})
	b := journal.Run{ID: "b", Runbook: "review", Status: "running", StartedAt: t0, UpdatedAt: t0}
	mustAppend(t, other, journal.Batch{RunID: "b", Key: key + "+1", Run: &b, Entries: []journal.Entry{entry("run.started", 0, `{"runbook":"review"}`)}})
	verifyClean(t, s, "", 3, 2, records(t, s, "", time.Time{})[2].Hash)
}

// Goroutines on two handles start runs claiming the same key at once:
// exactly one is recorded, and every other is told which run won.
func (x *suite) keyOneWinner(t *testing.T) {
	t.Parallel()
	s, other := x.pair(t)
	const n = 8
	var wg sync.WaitGroup
	won := make([][]journal.Record, n)
	errs := make([]error, n)
	for g := range n {
		h := []journal.Store{s, other}[g%2]
		wg.Go(func() {
			id := fmt.Sprintf("run%d", g)
			run := journal.Run{ID: id, Runbook: "review", Status: "running", StartedAt: t0, UpdatedAt: t0}
			won[g], errs[g] = h.Append(ctx, journal.Batch{RunID: id, Key: "hook/zendesk/4711", Run: &run, Sync: true,
				Entries: []journal.Entry{entry("run.started", g, `{"runbook":"review"}`)}})
		})
	}
	wg.Wait()
	winner := -1
	for g := range n {
		if errs[g] == nil {
			if winner >= 0 {
				t.Fatalf("two runs claimed the key: %d and %d", winner, g)
			}
			winner = g
		}
	}
	if winner < 0 {
		t.Fatalf("no run claimed the key: %v", errs)
	}
	for g := range n {
		if g != winner {
			checkKeyHeld(t, fmt.Sprintf("writer %d", g), errs[g], journal.DuplicateError{RunID: fmt.Sprintf("run%d", winner), Key: "hook/zendesk/4711", Seq: won[winner][0].Seq})
		}
	}
	var ids []string
	if err := other.Runs(ctx, journal.Filter{}, func(r journal.Run) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != fmt.Sprintf("run%d", winner) {
		t.Fatalf("runs %v; want only run%d", ids, winner)
	}
}

// A key needs the entries that record what it started.
func (x *suite) keyWithoutEntries(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	run := journal.Run{ID: "a", Runbook: "review", Status: "running", StartedAt: t0, UpdatedAt: t0}
	if _, err := s.Append(ctx, journal.Batch{RunID: "a", Key: "k", Run: &run}); err == nil {
		t.Fatal("a batch claiming a key without entries was accepted")
	}
	mustAppend(t, s, journal.Batch{RunID: "a", Key: "k", Entries: []journal.Entry{entry("run.started", 0, `{"runbook":"review"}`)}})
}
