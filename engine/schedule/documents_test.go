package schedule_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/schedule"
	"github.com/stewardhq/steward/runbooks"
)

// pinnedDocs is a Config.Documents whose list a test changes, as a sync
// that moves a pin changes what sources.Resolver.Documents returns.
type pinnedDocs struct {
	mu   sync.Mutex
	docs []*runbooks.Document
}

func (p *pinnedDocs) set(docs ...*runbooks.Document) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.docs = docs
}

func (p *pinnedDocs) list(context.Context) ([]*runbooks.Document, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.docs, nil
}

func pinned(src, commit, path string) *runbooks.Document {
	return runbooks.NewPinned([]byte(src), runbooks.Pinned{Source: "ops", Repo: "/repo", Commit: commit, Path: path, Blob: "b-" + commit}, fstest.MapFS{})
}

// TestDocuments: the schedules of Config.Documents (the pinned runbooks)
// are scheduled beside the folders', hide a folder runbook of the same
// name, follow the list at each Reload (a new pin adds, changes and
// removes schedules), and their runs record the pinned origin.
func TestDocuments(t *testing.T) {
	f := newFixture(t, at("2027-01-04T08:59:30Z"))
	f.runbook("tick", scheduled("tick", "0 12 * * *", "UTC", ""))   // hidden by the pinned tick
	f.runbook("local", scheduled("local", "0 18 * * *", "UTC", "")) // a folder's schedule stays
	docs := &pinnedDocs{}
	docs.set(pinned(scheduled("tick", "* * * * *", "UTC", "    overlap: allow\n"), "c1", "runbooks/tick.yaml"))
	s := f.scheduler(func(c *schedule.Config) { c.Documents = docs.list })
	ctx := context.Background()
	if got := listed(t, s); len(got) != 2 || got["tick"].Cron != "* * * * *" || got["local"].Cron != "0 18 * * *" {
		t.Fatalf("at start: %+v", got)
	}
	f.advanceTo(at("2027-01-04T09:00:00Z"), 1)
	if o := f.origin("tick"); o.Source != "ops" || o.Commit != "c1" || o.Path != "runbooks/tick.yaml" || o.Blob != "b-c1" {
		t.Errorf("tick's run recorded origin %+v; want ops@c1:runbooks/tick.yaml", o)
	}

	// A new pin: tick removed, nightly added. The scheduler sees it at
	// its next Reload (steward serve calls it after a sync moved a pin).
	docs.set(pinned(scheduled("nightly", "0 2 * * *", "Europe/Lisbon", ""), "c2", "runbooks/nightly.yaml"))
	if got := listed(t, s); got["tick"].Cron != "* * * * *" || len(got) != 2 {
		t.Fatalf("before Reload: %+v", got)
	}
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	got := listed(t, s)
	if len(got) != 3 || got["nightly"].Timezone != "Europe/Lisbon" || got["tick"].Cron != "0 12 * * *" || got["local"].Cron != "0 18 * * *" {
		t.Fatalf("after the new pin: %+v; want nightly, the folder's tick and local", got)
	}
}

// origin returns the origin recorded by the last run of schedule name.
func (f *fixture) origin(name string) journal.Origin {
	f.t.Helper()
	var out journal.Origin
	for _, runs := range f.slots(name) {
		for _, r := range runs {
			err := f.store.Records(context.Background(), r.run.ID, time.Time{}, func(rec journal.Record) error {
				var d journal.Data
				if rec.Type != string(engine.RunStarted) {
					return nil
				}
				if err := json.Unmarshal(rec.Data, &d); err != nil {
					return err
				}
				if d.Origin != nil {
					out = *d.Origin
				}
				return nil
			})
			if err != nil {
				f.t.Fatal(err)
			}
		}
	}
	return out
}
