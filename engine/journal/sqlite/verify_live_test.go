package sqlite

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// churn starts n helper processes appending runs to the store at home
// until stop is called, which returns how many runs they appended.
func churn(t *testing.T, home string, n int) (stop func() int) {
	t.Helper()
	var hs []*helper
	for i := range n {
		h := startHelper(t, "churn", home, fmt.Sprintf("w%d-%d", i, time.Now().UnixNano()))
		h.expect(t, "ready")
		hs = append(hs, h)
	}
	return func() int {
		total := 0
		for _, h := range hs {
			if _, err := io.WriteString(h.in, "stop\n"); err != nil {
				t.Fatal(err)
			}
			line, err := h.out.ReadString('\n')
			var runs int
			if _, serr := fmt.Sscanf(line, "stopped %d\n", &runs); err != nil || serr != nil {
				t.Fatalf("helper said %q (%v)", line, err)
			}
			if err := h.cmd.Wait(); err != nil {
				t.Fatal(err)
			}
			total += runs
		}
		return total
	}
}

// Verify reads one snapshot of the store: while other processes append
// runs (records, the head and the runs list, each batch in a transaction),
// it never reports tampering that is not there; and a real change made
// while they append is still found, every time.
func TestVerifyWhileOthersAppend(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	s := open(t, home)
	startShared(t, s)
	if err := appendRuns(s, "before", 3); err != nil {
		t.Fatal(err)
	}
	const rounds = 40

	stop := churn(t, home, 2)
	var alarms []string
	for range rounds {
		rep, err := journal.Verify(ctx, s, "")
		if err != nil {
			stop()
			t.Fatal(err)
		}
		if rep.Problem != nil {
			alarms = append(alarms, rep.Problem.Error())
		}
	}
	appended := stop()
	if len(alarms) > 0 {
		t.Fatalf("%d false alarms in %d verifies while %d runs were appended; the first: %s", len(alarms), rounds, appended, alarms[0])
	}
	if appended == 0 {
		t.Fatal("the writers appended nothing while verify ran")
	}
	t.Logf("%d verifies, no false alarm, while others appended %d runs", rounds, appended)

	// A real change, made while others append, is found by every verify.
	db := rawDB(t, home)
	if _, err := db.Exec(`UPDATE records SET body = replace(body, '"actor":"before"', '"actor":"mallory"') WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	stop = churn(t, home, 2)
	defer stop()
	want := "record 2 (run before-0, run.started): its content does not match its hash: it was changed"
	for i := range rounds / 4 {
		rep, err := journal.Verify(ctx, s, "")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Problem == nil || !strings.Contains(rep.Problem.Error(), want) {
			t.Fatalf("verify %d while others append: %v, want %q", i, rep.Problem, want)
		}
	}
}
