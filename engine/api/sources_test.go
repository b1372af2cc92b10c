package api_test

import (
	"context"
	"testing"

	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/runbooks/sources"
	"github.com/stewardhq/steward/runbooks/sources/gittest"
)

// homeSources is api.Sources as steward serve wires it: sources.Statuses
// over a home.
type homeSources struct {
	home string
	list []config.Source
}

func (h homeSources) Statuses(ctx context.Context) ([]*sources.Status, error) {
	return sources.Statuses(ctx, h.home, h.list)
}

// TestSources: GET /sources shows each source's pin and last sync, as a
// real sync of a real Git repository left them: a pinned commit, then a
// refused one with its problems in the diagnostics' form, and a folder
// source. It takes the viewer role on every runbook.
func TestSources(t *testing.T) {
	ctx := context.Background()
	repo := gittest.New(t)
	good := repo.Commit("first", map[string]string{"runbooks/hello.yaml": hello})
	home := t.TempDir()
	git := config.Source{Name: "ops", Kind: config.SourceGit, Location: repo.Dir, Ref: "main", Path: "runbooks"}
	syncer := &sources.Syncer{Home: home}
	if _, err := syncer.Sync(ctx, git); err != nil {
		t.Fatal(err)
	}
	bad := repo.Commit("broken", map[string]string{"runbooks/hello.yaml": "version: 1\nname: hello\nsteps:\n  - id: a\n    action: core.log\n    needs: [nowhere]\n"})
	if _, err := syncer.Sync(ctx, git); !sources.IsRefused(err) {
		t.Fatalf("syncing a broken commit: %v", err)
	}
	list := []config.Source{git, {Name: "local", Kind: config.SourceFolder, Location: "/srv/runbooks"}}
	f := newFixture(t, nil, func(c *api.Config) { c.Sources = homeSources{home, list} })

	res := f.do("GET", "/api/v1/sources", "viewer", nil)
	var l struct {
		Sources []sources.Status `json:"sources"`
	}
	res.decode(t, &l)
	if res.status != 200 || len(l.Sources) != 2 {
		t.Fatalf("%d %s", res.status, res.body)
	}
	ops := l.Sources[0]
	if ops.Source != "ops" || ops.Kind != "git" || ops.Pin == nil || ops.Pin.Commit != good || ops.Pin.Runbooks != 1 {
		t.Fatalf("ops: %s", res.body)
	}
	if ops.Last == nil || ops.Last.Commit != bad || ops.Last.Pinned || len(ops.Last.Problems) != 1 || ops.Last.Problems[0].Path != "steps[0].needs" {
		t.Fatalf("ops's last sync: %s", res.body)
	}
	if local := l.Sources[1]; local.Source != "local" || local.Kind != "folder" || local.Pin != nil {
		t.Fatalf("local: %s", res.body)
	}

	// No identity is 401; the viewer role on one runbook is not enough.
	if p := f.do("GET", "/api/v1/sources", "", nil).problem(t); p.Status != 401 {
		t.Fatalf("%+v", p)
	}
	if p := f.do("GET", "/api/v1/sources", "hello-viewer", nil).problem(t); p.Status != 403 {
		t.Fatalf("%+v", p)
	}

	// Without sources, the list is empty.
	if res := newFixture(t, nil).do("GET", "/api/v1/sources", "viewer", nil); res.status != 200 || string(res.body) != "{\"sources\":[]}\n" {
		t.Fatalf("%d %s", res.status, res.body)
	}
}
