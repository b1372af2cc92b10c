package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// concurrently runs each command line in its own steward process, all
// started at once, and returns their results in order.
func concurrently(t *testing.T, dir, home string, cmds ...[]string) []result {
	t.Helper()
	out := make([]result, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Go(func() { out[i] = homeRun(t, dir, home, nil, args...) })
	}
	wg.Wait()
	return out
}

// decisionsOf reads the run's approval.decided records and its status
// through steward show -o json.
func decisionsOf(t *testing.T, dir, home, id string) (decided []map[string]any, status string) {
	t.Helper()
	show := homeRun(t, dir, home, nil, "show", id, "-o", "json")
	wantCode(t, show, exitOK, "show")
	var doc struct {
		Run      struct{ Status string }
		Timeline []struct {
			Type string
			Data map[string]any
		}
	}
	if err := json.Unmarshal([]byte(show.stdout), &doc); err != nil {
		t.Fatalf("show -o json: %v\n%s", err, show.stdout)
	}
	for _, e := range doc.Timeline {
		if e.Type == "approval.decided" {
			decided = append(decided, e.Data)
		}
	}
	return decided, doc.Run.Status
}

// decisionSetup is approvalSetup with six people who may approve.
func decisionSetup(t *testing.T) (dir, home string) {
	dir, home = approvalSetup(t, "4h")
	writeFile(t, filepath.Join(dir, "steward.yaml"), "approvals:\n  groups:\n    payments-leads: [bruno, carla, eva, filipe, gabi]\n")
	return dir, home
}

// TestConcurrentApprovals: six people approve the same waiting step at
// once, each in its own process. Exactly one decision is recorded; the
// run goes on once, in the winner's process, and succeeds; every other
// process exits 1 naming who decided; the journal verifies.
func TestConcurrentApprovals(t *testing.T) {
	dir, home := decisionSetup(t)
	r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", "payment_id=p-1", "--as", "ana")
	wantCode(t, r, exitWaiting, "run")
	id := runID(t, r)

	people := []string{"bruno", "carla", "dana", "eva", "filipe", "gabi"}
	var cmds [][]string
	for _, p := range people {
		cmds = append(cmds, []string{"approve", id, "refund", "--as", p, "--comment", "ok from " + p, "--progress", "plain"})
	}
	results := concurrently(t, dir, home, cmds...)

	decided, status := decisionsOf(t, dir, home, id)
	if len(decided) != 1 {
		t.Fatalf("%d approval.decided records, want exactly 1: %v", len(decided), decided)
	}
	winner := decided[0]["by"].(string)
	for i, r := range results {
		who := people[i]
		if who == winner {
			wantCode(t, r, exitOK, "the approval of "+who+", recorded")
			continue
		}
		want := fmt.Sprintf("already decided by %s", winner)
		if r.code != exitFailed || !strings.Contains(r.stderr, want) {
			t.Errorf("approve as %s: exit %d, want 1 and %q in:\n%s%s", who, r.code, want, r.stdout, r.stderr)
		}
	}
	if status != "succeeded" || decided[0]["approved"] != true || decided[0]["comment"] != "ok from "+winner {
		t.Fatalf("run %s, decision %v; want succeeded after the approval of %s", status, decided[0], winner)
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}

// TestConcurrentApproveAndDeny: an approval and a denial of the same step
// at once: one of them is recorded, the other refused naming who decided,
// and the run ends as the recorded one says.
func TestConcurrentApproveAndDeny(t *testing.T) {
	dir, home := decisionSetup(t)
	for round := range 3 {
		r := homeRun(t, dir, home, nil, "run", "refund.yaml", "--input", fmt.Sprintf("payment_id=p-%d", round), "--as", "ana")
		wantCode(t, r, exitWaiting, "run")
		id := runID(t, r)
		results := concurrently(t, dir, home,
			[]string{"approve", id, "refund", "--as", "bruno", "--progress", "plain"},
			[]string{"approve", id, "refund", "--deny", "--as", "carla", "--progress", "plain"})
		decided, status := decisionsOf(t, dir, home, id)
		if len(decided) != 1 {
			t.Fatalf("round %d: %d approval.decided records, want exactly 1: %v", round, len(decided), decided)
		}
		winner, loser, wantStatus, wantCode := 0, 1, "succeeded", exitOK
		if decided[0]["by"] == "carla" {
			winner, loser, wantStatus, wantCode = 1, 0, "failed", exitFailed
		}
		name := []string{"bruno", "carla"}[winner]
		if results[winner].code != wantCode || status != wantStatus {
			t.Fatalf("round %d: %s decided; the run %s (want %s), %s's process exit %d (want %d):\n%s%s",
				round, name, status, wantStatus, name, results[winner].code, wantCode, results[winner].stdout, results[winner].stderr)
		}
		if want := "already decided by " + name; results[loser].code != exitFailed || !strings.Contains(results[loser].stderr, want) {
			t.Fatalf("round %d: the other decision: exit %d, want 1 and %q in:\n%s%s", round, results[loser].code, want, results[loser].stdout, results[loser].stderr)
		}
	}
	wantCode(t, homeRun(t, dir, home, nil, "audit", "verify"), exitOK, "audit verify")
}
