package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
)

// largeRuns is the size of the journal of the benchmarks: a year of a
// busy support team.
const largeRuns = 100_000

var (
	largeOnce sync.Once
	largeHome string // removed by TestMain
	// largeKept is STEWARD_BENCH_HOME: a large journal kept between
	// runs of the benchmarks.
	largeKept string
)

// fillLarge writes largeRuns runs of 3 records each into the SQLite
// journal under home, one Append per run (not synced: the machine does
// not crash meanwhile), over 8 runbooks, 40 actors and every status.
func fillLarge(tb testing.TB, home string) {
	ctx := context.Background()
	s, err := sqlite.Open(home)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	t := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	src := &journal.Source{Name: "bench", File: "bench.yaml",
		Src: []byte("version: 1\nname: bench\nsteps:\n  - id: hello\n    action: core.set\n    with: {n: 1}\n")}
	src.SHA256 = journal.HashBody(src.Src)
	statuses := []string{"succeeded", "succeeded", "succeeded", "failed", "cancelled"}
	for i := range largeRuns {
		id := fmt.Sprintf("%s-%08x", t.Format("20060102-150405"), i)
		end := t.Add(3 * time.Millisecond)
		rb, actor, status := fmt.Sprintf("bench-%d", i%8), fmt.Sprintf("agent-%d", i%40), statuses[i%len(statuses)]
		run := journal.Run{ID: id, Runbook: rb, Version: src.SHA256, Actor: actor, Status: status,
			StartedAt: t, UpdatedAt: end, FinishedAt: end, Host: "bench-host", PID: 4242}
		started, _ := json.Marshal(map[string]any{"runbook": rb, "version": src.SHA256, "actor": actor,
			"inputs": map[string]any{"who": fmt.Sprint("user-", i)}})
		b := journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{
			{Type: "run.started", Time: t, Data: started},
			{Type: "step.finished", Time: t.Add(2 * time.Millisecond),
				Data: json.RawMessage(`{"step":"hello","attempt":1,"status":"` + status + `","outputs":{"n":1}}`)},
			{Type: "run.finished", Time: end, Data: json.RawMessage(`{"status":"` + status + `"}`)},
		}}
		if i == 0 {
			b.Source = src
		}
		if _, err := s.Append(ctx, b); err != nil {
			tb.Fatal(err)
		}
		t = t.Add(5 * time.Minute)
	}
}

// largeFixture is a console over the large journal (made once per test
// binary), with a refund-card run waiting for an approval on top.
func largeFixture(b *testing.B) (*fixture, string) {
	b.Helper()
	largeOnce.Do(func() {
		if dir := os.Getenv("STEWARD_BENCH_HOME"); dir != "" {
			// A journal kept between runs: made once, here.
			if _, err := os.Stat(filepath.Join(dir, sqlite.DBFile)); err == nil {
				largeKept = dir
				return
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				b.Fatal(err)
			}
			fillLarge(b, dir)
			largeKept = dir
			return
		}
		dir, err := os.MkdirTemp("", "console-large-")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		fillLarge(b, dir)
		b.Logf("seeded %d runs (%d records) in %s", largeRuns, 3*largeRuns, time.Since(start).Round(time.Millisecond))
		largeHome = dir
	})
	home := largeHome
	if largeKept != "" {
		home = largeKept
	}
	if home == "" {
		b.Fatal("the large journal could not be made")
	}
	f := newFixtureAt(b, nil, home)
	srv := httptest.NewServer(f.console)
	b.Cleanup(srv.Close)
	id := startRun(b, f.client(srv, "ana"), "tok")
	f.waitStatus(b, id, "waiting")
	return f, id
}

// benchPage serves path to subject, in process (the server side only:
// routing, session, service calls, templates), and reports the p95 and
// p50 of its times beside the mean.
func benchPage(b *testing.B, f *fixture, subject, path string) {
	b.Helper()
	cookie := &http.Cookie{Name: sessionCookie, Value: f.console.cookies.sign(mustJSON(session{ID: "bench", Subject: subject, Expires: time.Now().Add(time.Hour)}))}
	var times []time.Duration
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		w := httptest.NewRecorder()
		start := time.Now()
		f.console.ServeHTTP(w, req)
		times = append(times, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d\n%s", path, w.Code, w.Body)
		}
	}
	slices.Sort(times)
	q := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.95), "p95-ms")
}

// BenchmarkRunsPageLarge: the runs list with 100,000 runs in the
// journal: the first page, a page deep in the list (its cursor), and
// filtered by runbook, by status, by actor and by date.
func BenchmarkRunsPageLarge(b *testing.B) {
	f, _ := largeFixture(b)
	var deep journal.Run
	n := 0
	err := f.svc.List(context.Background(), runs.Filter{Limit: 90_000}, func(s runs.Summary) error {
		if n++; n == 90_000 {
			deep = s.Run
		}
		return nil
	})
	if err != nil || deep.ID == "" {
		b.Fatalf("no 90,000th run: %v", err)
	}
	for _, c := range []struct{ name, path string }{
		{"first", "/runs"},
		{"deep", "/runs?after=" + encodeCursor(deep)},
		{"runbook", "/runs?runbook=bench-3"},
		{"status", "/runs?status=failed"},
		{"actor", "/runs?actor=agent-7"},
		{"since", "/runs?since=2026-06-01"},
	} {
		b.Run(c.name, func(b *testing.B) { benchPage(b, f, "lea", c.path) })
	}
}

// BenchmarkRunPageLarge: a run's page (a run waiting for an approval:
// the timeline, and whether the viewer may decide) with 100,000 runs in
// the journal, for its starter (refused: four eyes) and for a lead.
func BenchmarkRunPageLarge(b *testing.B) {
	f, id := largeFixture(b)
	b.Run("starter", func(b *testing.B) { benchPage(b, f, "ana", "/runs/"+id) })
	b.Run("lead", func(b *testing.B) { benchPage(b, f, "lea", "/runs/"+id) })
	b.Run("approvals", func(b *testing.B) { benchPage(b, f, "lea", "/approvals") })
}
