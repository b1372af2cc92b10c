package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

var runLinkRE = regexp.MustCompile(`<td><a href="/runs/([^"]+)">`)
var nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next"`)

// The runs list pages with a cursor: every run once, newest first,
// filters kept across pages, a run started meanwhile not shifting the
// pages; a cursor that is not one is refused.
func TestRunsPaging(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	const n = 2*PageSize + 7
	for i := range n {
		id := fmt.Sprintf("20261101-%06d-%08x", i, i)
		actor := []string{"ana", "bruno"}[i%2]
		run := journal.Run{ID: id, Runbook: "bench", Actor: actor, Status: "succeeded", StartedAt: t0.Add(time.Duration(i) * time.Minute),
			UpdatedAt: t0, FinishedAt: t0}
		started, _ := json.Marshal(map[string]any{"runbook": "bench", "actor": actor})
		if _, err := f.store.Append(ctx, journal.Batch{RunID: id, Run: &run, Entries: []journal.Entry{
			{Type: "run.started", Time: run.StartedAt, Data: started},
			{Type: "run.finished", Time: run.StartedAt, Data: json.RawMessage(`{"status":"succeeded"}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(f.console)
	defer srv.Close()
	lea := f.client(srv, "lea")
	walk := func(path string) []string {
		var ids []string
		for pages := 0; path != ""; pages++ {
			resp, body := lea.get(path)
			if resp.StatusCode != http.StatusOK || pages > 10 {
				t.Fatalf("%s: %s", path, resp.Status)
			}
			for _, m := range runLinkRE.FindAllStringSubmatch(body, -1) {
				ids = append(ids, m[1])
			}
			path = ""
			if m := nextRE.FindStringSubmatch(body); m != nil {
				path = strings.ReplaceAll(m[1], "&amp;", "&")
				if len(ids) == PageSize {
					// A run started between two pages does not shift them.
					startRun(t, lea, "")
				}
			}
		}
		return ids
	}
	ids := walk("/runs")
	if len(ids) != n {
		t.Fatalf("%d runs listed over the pages, want %d", len(ids), n)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if seen[id] {
			t.Fatalf("run %s listed twice", id)
		}
		seen[id] = true
		if want := fmt.Sprintf("20261101-%06d-%08x", n-1-i, n-1-i); id != want {
			t.Fatalf("run %d is %s, want %s (newest first)", i, id, want)
		}
	}
	if ids := walk("/runs?runbook=bench&actor=bruno"); len(ids) != n/2 {
		t.Fatalf("bruno's runs: %d, want %d", len(ids), n/2)
	}
	if resp, _ := lea.get("/runs?after=not-a-cursor"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad cursor: %s", resp.Status)
	}
	if resp, _ := lea.get("/runs?since=yesterday"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a bad date: %s", resp.Status)
	}
}
