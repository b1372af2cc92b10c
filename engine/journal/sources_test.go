package journal_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
)

// sourcesFixture is a journal of three runs of two runbook versions, each
// stored once with the run that first used it: runs 1 and 2 started with
// v1, run 3 with v2.
func sourcesFixture(t *testing.T) (*fixture, [2]string, []journal.Record) {
	t.Helper()
	f := &fixture{home: t.TempDir()}
	s, err := sqlite.Open(f.home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.s = s
	contents := []string{"version: 1\nname: deploy\n", "version: 1\nname: deploy\n# v2\n"}
	var versions [2]string
	var starts []journal.Record
	for i, content := range contents {
		versions[i] = hexSum(content)
	}
	for i, v := range []int{0, 0, 1} {
		id := fmt.Sprintf("run%d", i+1)
		src := &journal.Source{SHA256: versions[v], Name: "deploy", File: "deploy.yaml", Src: []byte(contents[v])}
		data, _ := json.Marshal(&journal.Data{Runbook: "deploy", Version: versions[v], Origin: &journal.Origin{File: "deploy.yaml", SHA256: versions[v]}})
		start := journal.Entry{Type: "run.started", Time: t0, Data: data}
		run := journal.Run{ID: id, Runbook: "deploy", Version: versions[v], Status: "running", StartedAt: t0, UpdatedAt: t0}
		recs, err := f.s.Append(context.Background(), journal.Batch{RunID: id, Run: &run, Source: src, Entries: []journal.Entry{start}})
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, recs[0])
	}
	return f, versions, starts
}

// The sources of runbook versions are kept beside the chain, and runs go
// on with them: Verify checks that each version a run started with is
// stored, and hashes to its version, and names the first run using one
// that does not.
func TestVerifySources(t *testing.T) {
	f, versions, starts := sourcesFixture(t)
	if rep := verify(t, f.s, ""); rep.Problem != nil || rep.Records != 3 {
		t.Fatalf("intact: %+v", rep)
	}
	db := f.raw(t)
	exec(t, db, `UPDATE sources SET src = CAST('version: 1
name: deploy
steps: [{id: x, action: exec}]
' AS BLOB) WHERE sha256 = ?`, versions[1])
	changed := fmt.Sprintf("the stored source of its runbook (sha256 %s) hashes to %s: it was changed", versions[1],
		hexSum("version: 1\nname: deploy\nsteps: [{id: x, action: exec}]\n"))
	checkProblem(t, verify(t, f.s, "").Problem, problemOf(starts[2], changed))
	checkProblem(t, verify(t, f.s, "run3").Problem, problemOf(starts[2], changed))
	if rep := verify(t, f.s, "run1"); rep.Problem != nil {
		t.Fatalf("run1 does not use the changed source: %v", rep.Problem)
	}

	exec(t, db, `DELETE FROM sources WHERE sha256 = ?`, versions[0])
	removed := fmt.Sprintf("its runbook version (sha256 %s) is not in the journal's sources: it was removed", versions[0])
	checkProblem(t, verify(t, f.s, "").Problem, problemOf(starts[0], removed))
	checkProblem(t, verify(t, f.s, "run2").Problem, problemOf(starts[1], removed))
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
