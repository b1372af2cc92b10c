package main

import (
	"strings"
	"testing"
)

// audit verify --run names the half of a run that is missing; a run with
// neither records nor a summary is not in the journal.
func TestAuditVerifyRunHalfMissing(t *testing.T) {
	home, ids := journalOf3Runs(t)
	tamper(t, home, "DELETE FROM runs WHERE id = '"+ids[1]+"'")
	r := homeRun(t, t.TempDir(), home, nil, "audit", "verify", "--run", ids[1])
	wantCode(t, r, exitFailed, "verify --run of a run without its summary")
	if want := "run " + ids[1] + ": has records but is missing from the runs list"; !strings.Contains(r.stderr, want) {
		t.Fatalf("verify --run: stderr %q, want %q", r.stderr, want)
	}
	r = homeRun(t, t.TempDir(), home, nil, "audit", "verify", "--run", "20261121-101502-00000000")
	wantCode(t, r, exitInvalid, "verify --run of an unknown run")
	if want := "no run 20261121-101502-00000000 in the journal"; !strings.Contains(r.stderr, want) {
		t.Fatalf("verify --run: stderr %q, want %q", r.stderr, want)
	}
}
