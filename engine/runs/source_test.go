package runs_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
)

// The runbook source of a waiting run, edited in the store (its approvers
// removed), is refused by everything that would use it: Continue, Decide
// (the approvers come from it) and Cancel (the undo would run from it),
// with a *SourceError naming both hashes; nothing is recorded.
func TestAlteredSourceRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil, journal.Policy{Groups: map[string][]string{"leads": {"olga"}}})
	doc := f.runbook("refund", approvalRunbook)
	res, err := f.start(doc, "ana", nil)
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %+v, %v", res, err)
	}
	db, err := sql.Open("sqlite", filepath.Join(f.home, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	altered := []byte("version: 1\nname: refund\nsteps:\n  - id: refund\n    action: core.set\n    with: {refunded: 1000}\n")
	if _, err := db.Exec(`UPDATE sources SET src = ?`, altered); err != nil {
		t.Fatal(err)
	}
	st, err := journal.Load(ctx, f.store, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := runs.SourceError{RunID: res.ID, Want: doc.SHA256, Got: journal.HashBody(altered)}
	check := func(what string, err error) {
		t.Helper()
		var se *runs.SourceError
		if !errors.As(err, &se) || *se != want {
			t.Fatalf("%s: %v; want %v", what, err, &want)
		}
	}
	_, err = f.svc.Continue(ctx, runs.ContinueRequest{RunID: res.ID, By: "olga"})
	check("Continue", err)
	_, err = f.svc.Decide(ctx, runs.DecideRequest{RunID: res.ID, Step: "refund", Approved: true, By: "bruno"})
	check("Decide", err)
	_, err = f.svc.Cancel(ctx, runs.CancelRequest{ContinueRequest: runs.ContinueRequest{RunID: res.ID, By: "olga"}})
	check("Cancel", err)
	after, err := journal.Load(ctx, f.store, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Records) != len(st.Records) {
		t.Fatalf("%d records after the refusals, %d before", len(after.Records), len(st.Records))
	}
}
