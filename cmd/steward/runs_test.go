package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// The listing streamed by runsJSON is what writeJSON makes of the slice.
func TestRunsJSONAsWriteJSON(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)
	all := []journal.Run{
		{ID: "20261121-101502-aaaaaaaa", Runbook: "refund <&>", Status: "succeeded", StartedAt: t0, UpdatedAt: t0, FinishedAt: t0.Add(time.Second)},
		{ID: "20261121-101502-bbbbbbbb", Runbook: "deploy", Actor: "ana", Status: "running", DryRun: true, StartedAt: t0, UpdatedAt: t0, Host: "h", PID: 7},
		{ID: "20261121-101502-bbbbbbbb.child", Runbook: "sub", Parent: "20261121-101502-bbbbbbbb", Status: "failed", StartedAt: t0},
	}
	for n := range len(all) + 1 {
		var want, got bytes.Buffer
		if err := writeJSON(&want, append([]journal.Run{}, all[:n]...)); err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(&got)
		list := &runsJSON{w: w}
		for _, r := range all[:n] {
			if err := list.add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := list.end(); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got.String() != want.String() {
			t.Errorf("%d runs:\n got %s\nwant %s", n, got.String(), want.String())
		}
	}
}

// Up to runsBlock runs, runsText writes the table text/tabwriter made of
// the whole listing.
func TestRunsTextAsTabwriter(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 15, 2, 0, time.UTC)
	runs := []journal.Run{
		{ID: "20261121-101502-aaaaaaaa", Runbook: "remboursement-é", Actor: "zoë", Status: "succeeded", StartedAt: t0, FinishedAt: t0.Add(1500 * time.Millisecond)},
		{ID: "20261121-101502-bbbbbbbb.step.0", Runbook: "deploy", Status: "interrupted", DryRun: true, StartedAt: t0},
		{ID: "20261121-101502-cccccccc", Runbook: "a", Actor: "ana@example.org", Status: "failed", StartedAt: t0, FinishedAt: t0.Add(time.Minute)},
	}
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRUNBOOK\tSTATUS\tACTOR\tSTARTED\tDURATION")
	for _, r := range runs {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		name := r.Runbook
		if r.DryRun {
			name += " (dry-run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, name, r.Status, r.Actor, r.StartedAt.Local().Format("2006-01-02 15:04:05"), dur)
	}
	tw.Flush()
	var got bytes.Buffer
	w := bufio.NewWriter(&got)
	list := &runsText{w: w}
	for _, r := range runs {
		if err := list.add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := list.end(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got.String() != want.String() {
		t.Fatalf("got\n%s\nwant\n%s", got.String(), want.String())
	}
}

// steward runs --limit 0 lists every run, newest first, as the store reads
// them, in JSON and in a table whose columns are aligned by blocks.
func TestRunsListsAll(t *testing.T) {
	home := t.TempDir()
	const n = runsBlock + 500
	fillJournal(t, home, n)
	id := func(i int) string { // the id of the i-th run fillJournal appends
		return fmt.Sprintf("%s-%08x", time.Date(2026, 11, 1, 9, 0, i, 0, time.UTC).Format("20060102-150405"), i)
	}

	// What fillJournal writes is what runs leave: it verifies.
	wantCode(t, homeRun(t, t.TempDir(), home, nil, "audit", "verify"), exitOK, "audit verify")
	r := homeRun(t, t.TempDir(), home, nil, "runs", "--limit", "0", "-o", "json")
	wantCode(t, r, exitOK, "runs -o json")
	var runs []journal.Run
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != n || runs[0].ID != id(n-1) || runs[n-1].ID != id(0) || runs[0].Status != "succeeded" {
		t.Fatalf("runs -o json: %d runs, first %+v", len(runs), runs[0])
	}

	r = homeRun(t, t.TempDir(), home, nil, "runs", "--limit", "0")
	wantCode(t, r, exitOK, "runs")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != n+1 || !strings.HasPrefix(lines[0], "RUN ") {
		t.Fatalf("runs: %d lines, starting\n%s", len(lines), strings.Join(lines[:3], "\n"))
	}
	for i, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 7 || f[0] != id(n-1-i) || f[1] != "bench" || f[2] != "succeeded" || f[6] != "3ms" {
			t.Fatalf("runs: line %d is %q, want run %s", i+2, line, id(n-1-i))
		}
		// The blocks after the first keep its widths.
		if len(line) != len(lines[1]) {
			t.Fatalf("runs: line %d is %q, not aligned with %q", i+2, line, lines[1])
		}
	}

	for _, c := range []struct {
		args  []string
		lines int
	}{
		{[]string{"runs"}, 21},
		{[]string{"runs", "--limit", "3", "--status", "succeeded"}, 4},
		{[]string{"runs", "--limit", "0", "--status", "running"}, 0},
	} {
		r := homeRun(t, t.TempDir(), home, nil, c.args...)
		wantCode(t, r, exitOK, strings.Join(c.args, " "))
		if got := strings.Count(r.stdout, "\n"); got != c.lines {
			t.Errorf("%v: %d lines, want %d:\n%s", c.args, got, c.lines, r.stdout)
		}
		if c.lines == 0 && r.stderr != "no runs\n" {
			t.Errorf("%v: stderr %q, want no runs", c.args, r.stderr)
		}
	}
}
