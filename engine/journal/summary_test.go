package journal_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
)

// Load gives a run's summary as its records say it, and the fields the
// runs list says otherwise.
func TestLoadSummaryFromRecords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	exec(t, f.raw(t), `UPDATE runs SET status = 'failed', actor = 'mallory', finished_at = '2026-11-21T12:00:00.000000000Z' WHERE id = ?`, runB)
	st, err := journal.Load(ctx, f.s, runB)
	if err != nil {
		t.Fatal(err)
	}
	want := []journal.Mismatch{
		{Field: "status", Listed: "failed", Recorded: "succeeded", Seq: 10},
		{Field: "actor", Listed: "mallory", Recorded: "", Seq: 6},
		{Field: "finished_at", Listed: "2026-11-21T12:00:00Z", Recorded: "2026-11-21T10:15:12Z", Seq: 10},
	}
	if !reflect.DeepEqual(st.Mismatches, want) {
		t.Fatalf("mismatches %+v\nwant %+v", st.Mismatches, want)
	}
	if st.Run.Status != "succeeded" || st.Run.Actor != "" || !st.Run.FinishedAt.Equal(f.rec(10).Time) || !st.Run.StartedAt.Equal(f.rec(6).Time) {
		t.Fatalf("run %+v: want what the records say", st.Run)
	}
	if want := `its status is "failed" in the runs list but "succeeded" in its records (record 10)`; want != st.Mismatches[0].String() {
		t.Fatalf("%q, want %q", st.Mismatches[0].String(), want)
	}
	st, err = journal.Load(ctx, f.s, runA)
	if err != nil || st.Mismatches != nil {
		t.Fatalf("an untouched run: mismatches %+v, %v", st.Mismatches, err)
	}
}
