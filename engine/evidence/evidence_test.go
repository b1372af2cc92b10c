package evidence_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/evidence"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
)

// review is a runbook whose rows wait for a reviewer's approval; one row
// holds a value a spreadsheet would run as a formula.
const review = `version: 1
name: review
steps:
  - id: rows
    action: core.set
    with:
      rows:
        - {account: ben, group: admins, decision: keep, count: 2}
        - {account: '=HYPERLINK("x")', group: sre, decision: revoke, count: 1, tags: [a, b]}
  - id: decide
    approval:
      approvers: [group:reviewers]
    action: core.log
    with: {message: reviewed}
outputs:
  evidence: ${{ steps.rows.outputs.rows }}
  note: not rows
`

// run records a review run on a real SQLite store, waiting, then
// approved by sam and finished.
func run(t *testing.T) (journal.Store, string, string) {
	t.Helper()
	ctx := context.Background()
	home, dir := t.TempDir(), t.TempDir()
	store, err := sqlite.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := clockwork.NewRealClock()
	svc := runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.Resolve(name, []string{dir})
		},
		Clock:  clock,
		Policy: journal.Policy{Groups: map[string][]string{"reviewers": {"sam"}}},
		Host:   "test-host",
		PID:    os.Getpid(),
	})
	path := filepath.Join(dir, "review.yaml")
	if err := os.WriteFile(path, []byte(review), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(review))
	plan := svc.Prepare(&runbooks.Document{File: path, Src: []byte(review), SHA256: hex.EncodeToString(sum[:])}, nil)
	res, err := svc.Start(ctx, plan, runs.StartRequest{Actor: "scheduler"})
	if err != nil || res.Status != engine.StatusWaiting {
		t.Fatalf("start: %v %v", res, err)
	}
	if _, err := evidence.Of(ctx, store, res.ID, "evidence"); !errors.Is(err, evidence.ErrNotFinished) {
		t.Errorf("a waiting run gave evidence: %v", err)
	}
	c, err := svc.Continue(ctx, runs.ContinueRequest{RunID: res.ID, By: "sam", Deciding: "decide"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decide(ctx, runs.DecideRequest{Step: "decide", Approved: true, By: "sam", Comment: "reviewed with HR"}); err != nil {
		t.Fatal(err)
	}
	if res, err = c.Run(ctx, nil); err != nil || res.Status != engine.StatusSucceeded {
		t.Fatalf("run: %v %v", res, err)
	}
	return store, res.ID, home
}

// TestEvidence: the rows of a finished run's output, with who approved and
// when, and the run.finished record's seq and hash, which are the
// journal's; as JSON and as CSV (formulas defused, nested values as
// JSON). A missing output, an output that is not rows, and a run whose
// records were changed give no evidence.
func TestEvidence(t *testing.T) {
	ctx := context.Background()
	store, id, home := run(t)
	doc, err := evidence.Of(ctx, store, id, "evidence")
	if err != nil {
		t.Fatal(err)
	}
	var finished journal.Record
	if err := store.Records(ctx, id, doc.Run.StartedAt.Add(-1), func(r journal.Record) error {
		if r.Type == string(engine.RunFinished) {
			finished = r
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if doc.Journal.Seq != finished.Seq || doc.Journal.Hash != finished.Hash || doc.Journal.PrevHash != finished.PrevHash || !doc.Journal.Verified ||
		doc.Journal.Verify != "steward audit verify --head "+strconv.FormatInt(finished.Seq, 10)+":"+finished.Hash {
		t.Errorf("position %+v, want the run.finished record %d %s", doc.Journal, finished.Seq, finished.Hash)
	}
	if doc.Run.Runbook != "review" || doc.Run.Actor != "scheduler" || doc.Run.Status != "succeeded" || len(doc.Run.Version) != 64 {
		t.Errorf("run %+v", doc.Run)
	}
	if len(doc.Approvals) != 1 || doc.Approvals[0].By != "sam" || !doc.Approvals[0].Approved || doc.Approvals[0].Comment != "reviewed with HR" ||
		doc.Approvals[0].Seq == 0 || len(doc.Approvals[0].Hash) != 64 {
		t.Errorf("approvals %+v", doc.Approvals)
	}
	var b bytes.Buffer
	if err := doc.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	at := doc.Approvals[0].Time.UTC().Format("2006-01-02T15:04:05Z07:00")
	lead := id + ",review," + strconv.FormatInt(finished.Seq, 10) + "," + finished.Hash + ",sam," + at
	want := "run_id,runbook,journal_seq,journal_hash,approved_by,approved_at,account,count,decision,group,tags\n" +
		lead + ",ben,2,keep,admins,\n" +
		lead + `,"'=HYPERLINK(""x"")",1,revoke,sre,"[""a"",""b""]"` + "\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := doc.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"hash": "`+finished.Hash+`"`) || !strings.Contains(b.String(), `"decision": "revoke"`) {
		t.Errorf("json:\n%s", b.String())
	}

	for name, want := range map[string]string{
		"nope": `run ` + id + ` (review): evidence: no rows: the run has no output "nope" (outputs: evidence, note)`,
		"note": `run ` + id + ` (review): evidence: no rows: output "note" is not a list of objects`,
	} {
		if _, err := evidence.Of(ctx, store, id, name); !errors.Is(err, evidence.ErrNoRows) || err.Error() != want {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := evidence.Of(ctx, store, "20990101-000000-deadbeef", "evidence"); !errors.Is(err, journal.ErrRunNotFound) {
		t.Errorf("unknown run: %v", err)
	}

	// Change the approval's comment in the database: no evidence.
	db, err := sql.Open("sqlite", filepath.Join(home, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET body = CAST(replace(CAST(body AS TEXT), 'reviewed with HR', 'reviewed by nobody') AS BLOB) WHERE seq = ?`, doc.Approvals[0].Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Of(ctx, store, id, "evidence"); !errors.Is(err, evidence.ErrTampered) {
		t.Errorf("a changed run gave evidence: %v", err)
	}
}
