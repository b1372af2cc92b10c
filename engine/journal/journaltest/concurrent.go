package journaltest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

func (x *suite) testConcurrent(t *testing.T) {
	t.Run("Writers", x.concurrentWriters)
	t.Run("RefusedAmongOthers", x.concurrentRefused)
}

// Goroutines on one handle (the runs of one server) append at once, a
// third of them to an ended run and a third claiming a key already held:
// those are refused with their reasons and leave nothing, whatever
// batches they were written beside (a store may commit concurrent
// batches together); the others are written whole, with their summaries,
// sources and keys, and the chain verifies clean.
func (x *suite) concurrentRefused(t *testing.T) {
	t.Parallel()
	s := x.open(t)
	ended := journal.Run{ID: "ended", Status: "succeeded", StartedAt: t0, UpdatedAt: t0, FinishedAt: t0}
	first := mustAppend(t, s, journal.Batch{RunID: "ended", Run: &ended, Key: "held", Entries: []journal.Entry{
		entry("run.started", 0, `{}`), entry("run.finished", 0, `{"status":"succeeded"}`)}})
	const n = 24
	errs := make([]error, n)
	got := make([][]journal.Record, n)
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			id := fmt.Sprintf("r%02d", g)
			run := journal.Run{ID: id, Runbook: "rb", Status: "running", StartedAt: at(g), UpdatedAt: at(g)}
			b := journal.Batch{RunID: id, Run: &run, Sync: g%4 == 0, Key: "key/" + id,
				Source:  &journal.Source{SHA256: "sha-" + id, Name: "rb", File: "rb.yaml", Src: []byte(id)},
				Entries: []journal.Entry{entry("run.started", g, fmt.Sprintf(`{"runbook":"rb","g":%d}`, g)), entry("step.started", g, `{}`)}}
			switch g % 3 {
			case 1: // to the ended run
				b.RunID, b.Run, b.Key, b.Source = "ended", nil, "", nil
			case 2: // a key another run holds
				b.Key = "held"
			}
			got[g], errs[g] = s.Append(ctx, b)
		})
	}
	wg.Wait()
	var written []journal.Record
	for g := range n {
		id := fmt.Sprintf("r%02d", g)
		switch g % 3 {
		case 0:
			if errs[g] != nil || len(got[g]) != 2 {
				t.Fatalf("batch %d: %d records, %v", g, len(got[g]), errs[g])
			}
			written = append(written, got[g]...)
			checkRecords(t, "Records("+id+")", records(t, s, id, time.Time{}), got[g])
			if _, err := s.Source(ctx, "sha-"+id); err != nil {
				t.Fatalf("batch %d: its source: %v", g, err)
			}
		case 1:
			var e *journal.EndedError
			if !errors.As(errs[g], &e) || e.RunID != "ended" || e.Seq != first[1].Seq || got[g] != nil {
				t.Fatalf("batch %d to the ended run: %d records, %v", g, len(got[g]), errs[g])
			}
		case 2:
			checkKeyHeld(t, fmt.Sprintf("batch %d", g), errs[g], journal.DuplicateError{RunID: "ended", Key: "held", Seq: first[0].Seq})
			if got[g] != nil || len(records(t, s, id, time.Time{})) != 0 {
				t.Fatalf("batch %d, refused, left records", g)
			}
			if _, err := s.Source(ctx, "sha-"+id); !errors.Is(err, journal.ErrSourceNotFound) {
				t.Fatalf("batch %d, refused, stored its source: %v", g, err)
			}
		}
	}
	runs := listRuns(t, s, journal.Filter{})
	if len(runs) != 1+n/3 {
		t.Fatalf("%d runs listed, want %d: %+v", len(runs), 1+n/3, runs)
	}
	if got := records(t, s, "ended", time.Time{}); len(got) != 2 {
		t.Fatalf("the ended run has %d records", len(got))
	}
	total := 2 + len(written)
	stored := records(t, s, "", time.Time{})
	if len(stored) != total {
		t.Fatalf("%d records stored, want %d", len(stored), total)
	}
	for i, r := range stored {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d of Records has seq %d: a refused batch left a gap", i, r.Seq)
		}
	}
	verifyClean(t, s, "", total, len(runs), stored[total-1].Hash)
}

// Goroutines on two handles append batches at once, each to its own run
// and to one run they share: no seq is lost or given twice, each batch's
// records are contiguous and read back as Append returned them, each
// run's records are in the order its writer appended them, and the chain
// verifies clean.
func (x *suite) concurrentWriters(t *testing.T) {
	t.Parallel()
	const (
		perHandle = 4 // goroutines on each handle
		batches   = 10
		entries   = 3
	)
	s, other := x.pair(t)
	handles := []journal.Store{s, other}
	start(t, s, journal.Run{ID: "shared", Status: "running", StartedAt: t0, UpdatedAt: t0})

	type writer struct {
		run  string
		own  [][]journal.Record // its batches to its run, in order
		all  [][]journal.Record // every batch it appended
		errs []error
	}
	writers := make([]*writer, 2*perHandle)
	var wg sync.WaitGroup
	for g := range writers {
		w := &writer{run: fmt.Sprintf("w%d", g)}
		writers[g] = w
		h := handles[g%2]
		wg.Go(func() {
			run := journal.Run{ID: w.run, Status: "running", StartedAt: at(g), UpdatedAt: at(g)}
			for i := range batches {
				b := journal.Batch{RunID: w.run}
				if i%2 == 1 {
					b.RunID = "shared"
				}
				for j := range entries {
					typ := "step.started"
					if i == 0 && j == 0 {
						typ = "run.started"
					}
					b.Entries = append(b.Entries, entry(typ, g, fmt.Sprintf(`{"writer":%d,"batch":%d,"entry":%d}`, g, i, j)))
				}
				if i == 0 {
					b.Run = &run
				}
				recs, err := h.Append(ctx, b)
				if err != nil {
					w.errs = append(w.errs, err)
					return
				}
				w.all = append(w.all, recs)
				if b.RunID == w.run {
					w.own = append(w.own, recs)
				}
			}
		})
	}
	wg.Wait()

	total := 1 + len(writers)*batches*entries
	stored := records(t, other, "", time.Time{})
	bySeq := map[int64]journal.Record{}
	for _, r := range stored {
		if _, dup := bySeq[r.Seq]; dup {
			t.Fatalf("seq %d is stored twice", r.Seq)
		}
		bySeq[r.Seq] = r
	}
	if len(stored) != total || len(bySeq) != total {
		t.Fatalf("%d records stored, %d seqs; want %d", len(stored), len(bySeq), total)
	}
	for i, r := range stored {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d of Records has seq %d", i, r.Seq)
		}
	}
	for g, w := range writers {
		for _, err := range w.errs {
			t.Fatalf("writer %d: %v", g, err)
		}
		if len(w.all) != batches {
			t.Fatalf("writer %d appended %d batches, want %d", g, len(w.all), batches)
		}
		for i, recs := range w.all {
			for j, r := range recs {
				if r.Seq != recs[0].Seq+int64(j) {
					t.Fatalf("writer %d, batch %d: seqs %v are not contiguous", g, i, seqs(recs))
				}
				checkRecords(t, fmt.Sprintf("writer %d, batch %d as stored", g, i), []journal.Record{bySeq[r.Seq]}, []journal.Record{r})
			}
		}
		var own []journal.Record
		for _, recs := range w.own {
			own = append(own, recs...)
		}
		checkRecords(t, "Records("+w.run+")", records(t, s, w.run, time.Time{}), own)
	}
	if n := len(records(t, s, "shared", time.Time{})); n != 1+len(writers)*batches/2*entries {
		t.Fatalf("the shared run has %d records, want %d", n, 1+len(writers)*batches/2*entries)
	}
	checkHead(t, s, int64(total), stored[total-1].Hash)
	verifyClean(t, s, "", total, 1+len(writers), stored[total-1].Hash)
}
